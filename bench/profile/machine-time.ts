/**
 * Where a download's main-thread time goes, by actor and event (issue #8): `download()` from dist/
 * runs in this process, and every event an actor processes (xstate's `Actor#_process`: the
 * machine's transition with its actions, or a callback actor's `receive`) is timed. Time spent in
 * an event that another actor processes inside it (a callback actor's `sendBack`) counts for the
 * inner one only. What is not inside any event — socket reads and the wire decoder, the writes of
 * the turn's end, the garbage collector between events — is the rest of the wall time.
 *
 *   npm run build && node --import tsx bench/profile/machine-time.ts [--rounds 3] -- TORRENT --peer HOST:PORT ...
 *
 * Each round downloads into a fresh directory (removed after). The table is the last round's: with
 * more than one round the JIT is warm by then, which a CLI process never is, so the first round is
 * the one to compare with `bitstate download`. Patching `_process` costs ~0.1–0.3 µs per event.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createActor, createMachine } from 'xstate';
import { repoRoot } from '../../test/interop/harness/paths.js';
import { parseSwarm, splitAtDash } from './swarm-args.js';

const { own, swarm } = splitAtDash();
const { values } = parseArgs({
  args: own,
  options: { rounds: { type: 'string', default: '3' }, top: { type: 'string', default: '20' } },
});
const { torrent: torrentPath, peers: peerArgs } = parseSwarm(
  swarm,
  'machine-time.ts [--rounds N] -- TORRENT --peer HOST:PORT ...',
);

type Library = typeof import('../../src/index.js');
const lib = (await import(pathToFileURL(join(repoRoot(), 'dist', 'src', 'index.js')).href)) as Library;

interface Cell {
  ms: number;
  events: number;
}
let cells = new Map<string, Cell>();
/** Time of the events processed inside the current one, per nesting level. */
const inner: number[] = [];

type Process = (this: { id: string; logic?: { config?: { id?: string } } }, event: { type: string }) => void;
// The class of every actor (dist/ and this file resolve the same xstate).
const actorProto = Object.getPrototypeOf(createActor(createMachine({}))) as { _process: Process };
const original = actorProto._process;
actorProto._process = function (event) {
  const started = performance.now();
  inner.push(0);
  try {
    original.call(this, event);
  } finally {
    const nested = inner.pop() ?? 0;
    const took = performance.now() - started;
    if (inner.length > 0) inner[inner.length - 1]! += took;
    const key = `${this.logic?.config?.id ?? this.id}  ${event.type}`;
    const cell = cells.get(key) ?? { ms: 0, events: 0 };
    cell.ms += took - nested;
    cell.events++;
    cells.set(key, cell);
  }
};

const torrent = await lib.readTorrentFile(torrentPath);
const peers = peerArgs.map((p) => lib.parsePeerAddress(p));
const gib = torrent.totalLength / 2 ** 30;
for (let r = 1; r <= Number(values.rounds); r++) {
  cells = new Map();
  const out = await mkdtemp(join(tmpdir(), 'bitstate-machine-time-'));
  const started = performance.now();
  try {
    const result = await lib.download(torrent, { out, peers, port: 0, trackers: false }).done;
    if (result.result !== 'complete') throw new Error(`round ${r}: ${result.result}: ${result.message}`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
  const wall = performance.now() - started;
  const inEvents = [...cells.values()].reduce((s, c) => s + c.ms, 0);
  console.log(
    `round ${r}: ${(wall / 1000).toFixed(2)} s, ${(inEvents / 1000).toFixed(2)} s inside events, ` +
      `${[...cells.values()].reduce((s, c) => s + c.events, 0)} events`,
  );
}
console.log(`\nlast round (${gib.toFixed(2)} GiB downloaded):`);
console.log('    ms  events   µs/event  actor  event');
for (const [key, c] of [...cells].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top)))
  console.log(
    `${c.ms.toFixed(1).padStart(6)}  ${String(c.events).padStart(6)}  ${((1000 * c.ms) / c.events).toFixed(1).padStart(9)}  ${key}`,
  );
