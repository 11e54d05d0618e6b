/**
 * BEP 11 peer exchange between bitstate processes on 127.0.0.1: a seed S, a middle peer M that
 * dialled S (its download held slow by --max-down, so it stays connected to S, a seed, instead of
 * completing and dropping it), and a downloader D given only M. M's first ut_pex message to D
 * (at M's first clock tick after D's extension handshake) names S; D dials S and finishes from it:
 * its `peer.exchanged` event counts S as learned, it connects to S's listening address, and its
 * copy equals the source. With --no-pex on D, or a private torrent (BEP 27: no PEX on any of the
 * three), nothing is learned and S is never dialled.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type BitstateRun, bitstateBin, startBitstateDownload } from './harness/bitstate.js';
import { makeTorrent } from './harness/mktorrent.js';
import { compareTrees, writeSingleFilePayload } from './harness/payload.js';
import { type ManagedProcess, startProcess } from './harness/processes.js';

async function swarm(dir: string, isPrivate = false) {
  const payload = await writeSingleFilePayload({
    dir: join(dir, 'seed'),
    name: 'pex.bin',
    size: 2 << 20,
    seed: 11,
  });
  const torrent = await makeTorrent({
    source: payload.root,
    out: join(dir, 'pex.torrent'),
    pieceLength: 64 * 1024,
    private: isPrivate,
  });
  const seed = startProcess(
    process.execPath,
    [bitstateBin(), 'seed', torrent, '--data', join(dir, 'seed'), '--port', '0', '--no-tracker', '--json'],
    { name: 'bitstate seed S', timeoutMs: 60_000 },
  );
  const seedPort = (JSON.parse(await seed.waitForLine(/"type":"listening"/, 20_000)) as { port: number })
    .port;
  const middle = startBitstateDownload({
    torrent,
    out: join(dir, 'middle'),
    noTracker: true,
    peers: [`127.0.0.1:${seedPort}`],
    extraArgs: ['--max-down', '16K'],
    timeoutMs: 60_000,
  });
  await middle.waitForEvent(
    (e) => e.type === 'peer.connected' && e.address === `127.0.0.1:${seedPort}`,
    20_000,
  );
  const listening = await middle.waitForEvent((e) => e.type === 'listening', 20_000);
  return { payload, torrent, seed, seedPort, middle, middlePort: listening.port as number };
}

test("a downloader given only M learns the seed S from M's ut_pex message and downloads from it", {
  timeout: 90_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-pex-'));
  let seed: ManagedProcess | undefined;
  let middle: BitstateRun | undefined;
  let down: BitstateRun | undefined;
  try {
    const s = await swarm(dir);
    seed = s.seed;
    middle = s.middle;
    const started = performance.now();
    down = startBitstateDownload({
      torrent: s.torrent,
      out: join(dir, 'down'),
      noTracker: true,
      peers: [`127.0.0.1:${s.middlePort}`],
      timeoutMs: 45_000,
    });
    const exit = await down.exited;
    const tookMs = performance.now() - started;
    assert.equal(exit.code, 0, down.describe());
    const exchanged = down.events.filter((e) => e.type === 'peer.exchanged');
    assert.ok(
      exchanged.some((e) => e.address === `127.0.0.1:${s.middlePort}` && (e.learned as number) >= 1),
      `D learned nothing from M: ${down.describe()}`,
    );
    assert.ok(
      down.events.some((e) => e.type === 'peer.connected' && e.address === `127.0.0.1:${s.seedPort}`),
      `D never connected to S: ${down.describe()}`,
    );
    const last = [...down.events].reverse().find((e) => e.type === 'progress');
    assert.ok((last?.peersFromPex as number) >= 1, down.describe());
    const cmp = await compareTrees(s.payload.root, join(dir, 'down', 'pex.bin'));
    assert.ok(cmp.equal, cmp.mismatches.join('; '));
    process.stdout.write(`# D finished in ${Math.round(tookMs)} ms through PEX\n`);
  } finally {
    await down?.stop();
    await middle?.stop();
    await seed?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

for (const [name, isPrivate, extraArgs] of [
  ['with --no-pex', false, ['--no-pex']],
  ['for a private torrent (BEP 27)', true, []],
] as const)
  test(`${name} the downloader learns nothing from M and never dials S`, { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bitstate-nopex-'));
    let seed: ManagedProcess | undefined;
    let middle: BitstateRun | undefined;
    let down: BitstateRun | undefined;
    try {
      const s = await swarm(dir, isPrivate);
      seed = s.seed;
      middle = s.middle;
      down = startBitstateDownload({
        torrent: s.torrent,
        out: join(dir, 'down'),
        noTracker: true,
        peers: [`127.0.0.1:${s.middlePort}`],
        extraArgs,
        timeoutMs: 30_000,
      });
      await down.waitForEvent((e) => e.type === 'peer.connected', 20_000);
      // Two of M's clock ticks (5 s each) after the connection: M would have told D of S by now.
      await new Promise((resolve) => setTimeout(resolve, 11_000));
      assert.deepEqual(
        down.events.filter(
          (e) =>
            e.type === 'peer.exchanged' ||
            (e.type === 'peer.connected' && e.address === `127.0.0.1:${s.seedPort}`),
        ),
        [],
      );
    } finally {
      await down?.stop();
      await middle?.stop();
      await seed?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
