/**
 * The DHT's saved state (src/dht/dht-state.ts) and its use by startDht: the node id and good nodes
 * saved at close and asked by the next start's bootstrap, with its router down; a truncated,
 * oversized, planted or foreign file is a DhtError `badState`, reported in `ready` and ignored
 * (the bootstrap goes on from the routers), never a crash or a hang; nothing is written into a
 * folder that is not there.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDht } from '../../../src/dht/dht.js';
import { DhtError } from '../../../src/dht/dht-error.js';
import {
  decodeDhtState,
  encodeDhtState,
  MAX_DHT_STATE_BYTES,
  MAX_DHT_STATE_NODES,
  readDhtState,
  writeDhtState,
} from '../../../src/dht/dht-state.js';
import { idHex, randomNodeId } from '../../../src/dht/node-id.js';
import { bencode } from '../../../src/metainfo/bencode.js';
import { tempDir, within } from '../../helpers/session.js';
import { getFreePort, getFreePorts } from '../../interop/harness/ports.js';

const node = (i: number) => ({ id: randomNodeId(), host: `10.0.${i >> 8}.${i & 255}`, port: 6881 + i });

/** A UDP port on 127.0.0.1 nobody listens on (a router that is not running). */
async function deadRouter() {
  return { host: '127.0.0.1', port: await getFreePort() };
}

test('encode → decode keeps the id and the nodes; at most MAX_DHT_STATE_NODES are written', () => {
  const state = { id: randomNodeId(), nodes: [node(1), node(2)] };
  const back = decodeDhtState(encodeDhtState(state));
  assert.equal(idHex(back.id), idHex(state.id));
  assert.deepEqual(
    back.nodes.map((n) => [idHex(n.id), n.host, n.port]),
    state.nodes.map((n) => [idHex(n.id), n.host, n.port]),
  );
  const many = encodeDhtState({ id: state.id, nodes: Array.from({ length: 500 }, (_, i) => node(i)) });
  assert.ok(many.length <= MAX_DHT_STATE_BYTES);
  assert.equal(decodeDhtState(many).nodes.length, MAX_DHT_STATE_NODES);
});

test('a spoilt state is a DhtError badState, whatever is wrong with it', () => {
  const good = encodeDhtState({ id: randomNodeId(), nodes: [node(1)] });
  const bad: [string, Uint8Array][] = [
    ['truncated', good.subarray(0, good.length - 5)],
    ['empty', new Uint8Array(0)],
    ['not bencode', Buffer.from('hello')],
    ['a list', bencode([1, 2])],
    ['another version', bencode({ 'node-id': randomNodeId(), nodes: new Uint8Array(0), version: 3 })],
    ['a short id', bencode({ 'node-id': new Uint8Array(19), nodes: new Uint8Array(0), version: 1 })],
    ['nodes cut mid-entry', bencode({ 'node-id': randomNodeId(), nodes: new Uint8Array(27), version: 1 })],
    [
      'too many nodes',
      bencode({
        'node-id': randomNodeId(),
        nodes: new Uint8Array(26 * (MAX_DHT_STATE_NODES + 1)),
        version: 1,
      }),
    ],
    ['oversized', new Uint8Array(MAX_DHT_STATE_BYTES + 1)],
    [
      'many values',
      bencode({ 'node-id': randomNodeId(), nodes: new Uint8Array(0), version: 1, x: [1, 2, 3, 4] }),
    ],
    ['deeply nested', Buffer.from(`${'l'.repeat(50_000)}${'e'.repeat(50_000)}`)],
  ];
  for (const [what, bytes] of bad)
    assert.throws(
      () => decodeDhtState(bytes),
      (e) => e instanceof DhtError && e.code === 'badState',
      what,
    );
});

test('reading: none is undefined; a FIFO, a symlink, a folder or a huge file at the path is badState, without waiting', async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-state-read-');
  assert.equal(await readDhtState(join(dir, 'none.dat')), undefined);
  const fifo = join(dir, 'fifo.dat');
  execFileSync('mkfifo', [fifo]);
  const target = join(dir, 'real.dat');
  await writeFile(target, encodeDhtState({ id: randomNodeId(), nodes: [] }));
  await symlink(target, join(dir, 'link.dat'));
  await mkdir(join(dir, 'folder.dat'));
  const huge = join(dir, 'huge.dat');
  await writeFile(huge, '');
  await truncate(huge, 1 << 30); // sparse: nothing of it is read
  for (const name of ['fifo.dat', 'link.dat', 'folder.dat', 'huge.dat'])
    await assert.rejects(
      within(60_000, readDhtState(join(dir, name)), name),
      (e) => e instanceof DhtError && e.code === 'badState',
      name,
    );
  assert.ok((await readDhtState(target)) !== undefined);
});

test('saving: atomic, and only into a folder that exists (nothing made)', async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-state-write-');
  const state = { id: randomNodeId(), nodes: [node(3)] };
  assert.equal(await writeDhtState(join(dir, 'missing', 'dht.dat'), state), false);
  assert.equal(existsSync(join(dir, 'missing')), false);
  await mkdir(join(dir, 'real'));
  await symlink(join(dir, 'real'), join(dir, 'link'));
  assert.equal(await writeDhtState(join(dir, 'link', 'dht.dat'), state), false, 'not through a symlink');
  assert.equal(await writeDhtState(join(dir, 'real', 'dht.dat'), state), true);
  assert.deepEqual(await readdir(join(dir, 'real')), ['dht.dat'], 'no temp file left');
  assert.equal(idHex((await readDhtState(join(dir, 'real', 'dht.dat')))!.id), idHex(state.id));
});

test('a node saves its id and good nodes at close; the next start, its router down, bootstraps from them', async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-state-run-');
  const statePath = join(dir, 'dht.dat');
  const router = await startDht({ port: 0, bootstrap: [] });
  const others = await Promise.all(
    [1, 2, 3].map(() => startDht({ port: 0, bootstrap: [{ host: '127.0.0.1', port: router.port }] })),
  );
  t.after(async () => {
    for (const d of [router, ...others]) await d.close();
  });
  await Promise.all(others.map((d) => d.ready));
  const first = await startDht({ port: 0, bootstrap: [{ host: '127.0.0.1', port: router.port }], statePath });
  const ready = await within(60_000, first.ready, 'first bootstrap');
  assert.deepEqual([ready.savedNodes, ready.fromSaved, ready.stateError], [0, 0, undefined]);
  assert.equal(ready.nodes, 4, 'the router and the three others');
  await first.close();
  const saved = await readDhtState(statePath);
  assert.equal(idHex(saved!.id), idHex(first.node.id));
  assert.equal(saved!.nodes.length, 4);

  // 2 s: the saved nodes' answers must beat it (300 ms is outlasted on a loaded machine).
  const second = await startDht({
    port: 0,
    bootstrap: [await deadRouter()],
    queryTimeoutMs: 2_000,
    statePath,
  });
  t.after(() => second.close());
  const again = await within(60_000, second.ready, 'second bootstrap');
  assert.equal(idHex(second.node.id), idHex(first.node.id), 'the same node id');
  assert.equal(again.savedNodes, 4);
  assert.equal(again.fromSaved, 4, 'every saved node answered');
  assert.equal(again.nodes, 4);
});

test('a spoilt state file is reported in ready and ignored: the bootstrap goes on from the routers', async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-state-spoilt-');
  const statePath = join(dir, 'dht.dat');
  const good = encodeDhtState({ id: randomNodeId(), nodes: [node(1)] });
  await writeFile(statePath, good.subarray(0, good.length - 3));
  const router = await startDht({ port: 0, bootstrap: [] });
  const dht = await startDht({ port: 0, bootstrap: [{ host: '127.0.0.1', port: router.port }], statePath });
  t.after(async () => {
    await dht.close();
    await router.close();
  });
  const ready = await within(60_000, dht.ready, 'bootstrap');
  assert.ok(ready.stateError instanceof DhtError && ready.stateError.code === 'badState');
  assert.equal(ready.savedNodes, 0);
  assert.equal(ready.nodes, 1, 'the router');
  await dht.close();
  // Replaced by a good one at close.
  assert.equal((await readDhtState(statePath))?.nodes.length, 1);
  assert.ok((await readFile(statePath)).length > good.length - 3);
});

test('a second close, or the abort signal then close, resolves only once the state is saved', async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-state-close-');
  const router = await startDht({ port: 0, bootstrap: [] });
  t.after(() => router.close());
  for (const how of ['close twice', 'abort, then close']) {
    const statePath = join(dir, `${how.replace(/\W+/g, '-')}.dat`);
    const abort = new AbortController();
    const dht = await startDht({
      port: 0,
      bootstrap: [{ host: '127.0.0.1', port: router.port }],
      statePath,
      signal: abort.signal,
    });
    t.after(() => dht.close());
    assert.equal((await within(60_000, dht.ready, 'bootstrap')).nodes, 1, 'the router');
    if (how === 'close twice') void dht.close();
    else abort.abort();
    // The caller of this close (a session ending) goes on as if the node were saved and closed.
    await within(60_000, dht.close(), how);
    assert.equal((await readDhtState(statePath))?.nodes.length, 1, `${how}: saved before close resolved`);
  }
});

/** `n` UDP ports on 127.0.0.1 nobody listens on (saved nodes gone since). */
function deadPorts(n: number): Promise<number[]> {
  return getFreePorts(n);
}

test('saved nodes gone since (the closest to our id) do not hold the bootstrap back from the live ones', async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-state-stale-');
  const statePath = join(dir, 'dht.dat');
  const router = await startDht({ port: 0, bootstrap: [] });
  const others = await Promise.all(
    [1, 2, 3].map(() => startDht({ port: 0, bootstrap: [{ host: '127.0.0.1', port: router.port }] })),
  );
  t.after(async () => {
    for (const d of [router, ...others]) await d.close();
  });
  await Promise.all(others.map((d) => d.ready));
  // A file from last week: MAX_DHT_STATE_NODES nodes, each closer to our id than any live node, none
  // there any more. Asked as lookup candidates, they were waited out α at a time and spent the
  // lookup's 200 queries: the table ended with the router alone (and 60 s at the default timeout).
  const own = randomNodeId();
  const ports = await deadPorts(MAX_DHT_STATE_NODES);
  const gone = ports.map((port, i) => {
    const id = new Uint8Array(own);
    id[19]! ^= (i + 1) & 0xff;
    id[18]! ^= (i + 1) >> 8;
    return { id, host: '127.0.0.1', port };
  });
  await writeFile(statePath, encodeDhtState({ id: own, nodes: gone }));
  const dht = await startDht({
    port: 0,
    bootstrap: [{ host: '127.0.0.1', port: router.port }],
    queryTimeoutMs: 2_000, // the live ones' answers must beat it, loaded or not
    statePath,
  });
  t.after(() => dht.close());
  const ready = await within(60_000, dht.ready, 'bootstrap');
  assert.deepEqual([ready.savedNodes, ready.fromSaved], [MAX_DHT_STATE_NODES, 0]);
  assert.equal(ready.nodes, 4, 'the router and the three others, found past the dead saved nodes');
});
