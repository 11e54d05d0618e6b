/**
 * The saved state's BEP 42 address and its loose ends (src/dht/dht-state.ts, dht.ts): the external
 * address saved with the id, the id kept only when valid for it, version 1 files still read; saves
 * while running, not only at close; many saves of one file at once each rename a whole file of
 * their own into place.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDht } from '../../../src/dht/dht.js';
import {
  decodeDhtState,
  encodeDhtState,
  readDhtState,
  savedNodeId,
  writeDhtState,
} from '../../../src/dht/dht-state.js';
import { idHex, randomNodeId } from '../../../src/dht/node-id.js';
import { isVerifiedNodeId, secureNodeId } from '../../../src/dht/secure-node-id.js';
import { bencode } from '../../../src/metainfo/bencode.js';
import { tempDir, within } from '../../helpers/session.js';

const EXTERNAL = '203.0.113.7';
const node = (i: number) => ({ id: randomNodeId(), host: `10.0.0.${i}`, port: 6881 + i });

test('the external address is saved beside the id; a version 1 file (none) is read; a bad one is badState', () => {
  const state = { id: randomNodeId(), nodes: [node(1)], ip: EXTERNAL };
  assert.equal(decodeDhtState(encodeDhtState(state)).ip, EXTERNAL);
  assert.equal(decodeDhtState(encodeDhtState({ id: state.id, nodes: [] })).ip, undefined);
  const v1 = decodeDhtState(bencode({ 'node-id': state.id, nodes: new Uint8Array(0), version: 1 }));
  assert.equal(idHex(v1.id), idHex(state.id));
  assert.throws(
    () =>
      decodeDhtState(
        bencode({ ip: new Uint8Array(6), 'node-id': state.id, nodes: new Uint8Array(0), version: 2 }),
      ),
    (e) => e instanceof Error && (e as { code?: string }).code === 'badState',
  );
});

test('savedNodeId: the saved id only when no address was known or it is valid for the address (BEP 42)', () => {
  const secure = secureNodeId(EXTERNAL, randomNodeId())!;
  const random = randomNodeId();
  assert.equal(isVerifiedNodeId(random, EXTERNAL), false);
  assert.equal(savedNodeId(undefined), undefined);
  assert.equal(savedNodeId({ id: random, nodes: [] }), random);
  assert.equal(savedNodeId({ id: secure, nodes: [], ip: EXTERNAL }), secure);
  assert.equal(savedNodeId({ id: random, nodes: [], ip: EXTERNAL }), undefined);
});

test('a start keeps a saved id valid for the saved address, and derives a new one from it when not', async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-bep42-state-');
  const router = await startDht({ port: 0, bootstrap: [] });
  t.after(() => router.close());
  const bootstrap = [{ host: '127.0.0.1', port: router.port }];
  const secure = secureNodeId(EXTERNAL, randomNodeId())!;
  const cases: [string, Uint8Array, boolean][] = [
    ['valid', secure, true],
    ['not valid', randomNodeId(), false],
  ];
  for (const [what, id, kept] of cases) {
    const statePath = join(dir, `${what}.dat`);
    await writeFile(statePath, encodeDhtState({ id, nodes: [], ip: EXTERNAL }));
    const dht = await startDht({ port: 0, bootstrap, statePath });
    t.after(() => dht.close());
    await within(60_000, dht.ready, 'bootstrap');
    assert.equal(idHex(dht.node.id) === idHex(id), kept, what);
    assert.ok(isVerifiedNodeId(dht.node.id, EXTERNAL), `${what}: valid for the saved address`);
    assert.equal(dht.node.externalAddress, EXTERNAL);
    await dht.close();
    const saved = await readDhtState(statePath);
    assert.deepEqual([idHex(saved!.id), saved!.ip], [idHex(dht.node.id), EXTERNAL], `${what}: saved again`);
  }
});

test('a running node saves its state periodically, not only at close (a crash keeps the table)', async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-bep42-periodic-');
  const statePath = join(dir, 'dht.dat');
  const router = await startDht({ port: 0, bootstrap: [] });
  const dht = await startDht({
    port: 0,
    bootstrap: [{ host: '127.0.0.1', port: router.port }],
    statePath,
    saveEveryMs: 100,
  });
  t.after(async () => {
    await dht.close();
    await router.close();
  });
  await within(60_000, dht.ready, 'bootstrap');
  // Polled for at most 5 s (a bounded wait): the save every 100 ms, long before any close.
  let saved = await readDhtState(statePath);
  for (let i = 0; i < 100 && saved === undefined; i++) {
    await new Promise((r) => setTimeout(r, 50));
    saved = await readDhtState(statePath);
  }
  assert.ok(saved !== undefined, 'a save while running');
  assert.equal(idHex(saved.id), idHex(dht.node.id));
  assert.equal(saved.nodes.length, 1, 'the router');
  // Closed here, before the folder's removal (the first `after` hook): a save every 100 ms.
  await dht.close();
  await router.close();
});

test('many saves of one file at once: each renames a whole file into place, and no temp file is left', async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-bep42-race-');
  const path = join(dir, 'dht.dat');
  const states = Array.from({ length: 24 }, (_, i) => ({
    id: randomNodeId(),
    nodes: Array.from({ length: 200 }, (_, j) => node((i + j) % 250)),
  }));
  const results = await Promise.allSettled(states.map((s) => writeDhtState(path, s)));
  assert.deepEqual(
    results.map((r) => r.status),
    states.map(() => 'fulfilled'),
    JSON.stringify(results.find((r) => r.status === 'rejected')),
  );
  const final = await readDhtState(path);
  assert.ok(
    states.some((s) => idHex(s.id) === idHex(final!.id)),
    'one of the saves, whole',
  );
  assert.deepEqual(await readdir(dir), ['dht.dat']);
});
