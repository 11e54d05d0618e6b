/**
 * The bookkeeping of fetching a v2 magnet's piece layers (machines/piece-layer-fetch.ts), driven
 * as the metadata machine drives it, with answers from a real file tree (piece-layer-trees.ts and
 * merkle-proof.ts, the seeder's side) checked as the driver checks them (verify-hashes.ts): who is
 * asked which run, what a reject, a timeout, a forged answer and a late answer do.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { type PieceLayerCommand, PieceLayerFetch } from '../../../machines/piece-layer-fetch.js';
import { merkleHashes } from '../../../src/metainfo/merkle-proof.js';
import { fileTree } from '../../../src/metainfo/piece-layer-trees.js';
import { verifyHashes } from '../../../src/metainfo/verify-hashes.js';
import type { HashRange } from '../../../src/wire/messages.js';

/** A file of 600 pieces of 16 KiB (piece layer 0): two runs, 512 and 88 (asked as 128). */
const PIECES = 600;
const layer = Buffer.concat(
  Array.from({ length: PIECES }, (_, i) => createHash('sha256').update(`piece ${i}`).digest()),
);
const tree = fileTree(layer, 0);
const plan = { pieceLayer: 0, files: [{ piecesRoot: tree.root, pieces: PIECES }] };
/** What the driver passes on: the run when the answer proves itself, else undefined. */
const check = (range: HashRange, hashes: Uint8Array) => verifyHashes(tree.root, 10, range, hashes);
const answer = (range: HashRange) => check(range, merkleHashes(tree, range));
const limits = { maxPerPeer: 2, requestTimeoutTicks: 3, backoffTicks: 10 };
const requests = (cs: PieceLayerCommand[]) =>
  cs.flatMap((c) => (c.type === 'hashRequest' ? [[c.peer, c.range.index, c.range.length] as const] : []));
function rangeOf(cs: PieceLayerCommand[], peer: string, index: number): HashRange {
  for (const c of cs)
    if (c.type === 'hashRequest' && c.peer === peer && c.range.index === index) return c.range;
  return assert.fail(`no request of ${peer} for ${index}`);
}

describe('piece layer fetch', () => {
  it('asks each peer both runs, keeps the first answer that proves itself, and ends with the layer', () => {
    const f = new PieceLayerFetch(plan, limits);
    const a = f.addPeer('a');
    assert.deepEqual(requests(a), [
      ['a', 0, 512],
      ['a', 512, 128],
    ]);
    const r0 = rangeOf(a, 'a', 0);
    const r1 = rangeOf(a, 'a', 512);
    assert.equal(r0.proofLayers, 9); // a tree of 1024 piece hashes: proved to just below its root
    f.hashes('a', r0, answer(r0));
    assert.equal(f.received, 512);
    assert.equal(f.complete, false);
    f.hashes('a', r1, answer(r1));
    assert.equal(f.complete, true);
    assert.equal(f.received, PIECES);
    assert.deepEqual(Buffer.from(f.layers[0]!), layer);
  });

  it('drops a peer whose hashes do not fold to the pieces root, and never asks it again', () => {
    const f = new PieceLayerFetch(plan, limits);
    const a = f.addPeer('a');
    const r0 = rangeOf(a, 'a', 0);
    const forged = Uint8Array.from(merkleHashes(tree, r0));
    forged[100]! ^= 0x80;
    assert.deepEqual(f.hashes('a', r0, check(r0, forged)).slice(0, 1), [
      { type: 'drop', peer: 'a', reason: 'badHashes' },
    ]);
    assert.equal(f.badAnswers, 1);
    assert.deepEqual(f.addPeer('a'), [], 'excluded for good');
    assert.equal(f.received, 0);
  });

  it('a reject sends the run to another peer and is not asked of the rejecter again', () => {
    const f = new PieceLayerFetch(plan, { ...limits, maxPerPeer: 1 });
    const a = f.addPeer('a');
    assert.deepEqual(requests(a), [['a', 0, 512]]);
    const b = f.addPeer('b');
    assert.deepEqual(requests(b), [['b', 512, 128]]);
    const afterReject = f.reject('a', rangeOf(a, 'a', 0));
    assert.deepEqual(afterReject[0], { type: 'snubbed', peer: 'a', reason: 'rejected' });
    // b is busy; a rests. After b's answer, b is asked the rejected run.
    assert.deepEqual(requests(afterReject), []);
    const next = f.hashes('b', rangeOf(b, 'b', 512), answer(rangeOf(b, 'b', 512)));
    assert.deepEqual(requests(next), [['b', 0, 512]]);
    // Long after a's rest, nothing is asked of a again for that run.
    for (let i = 0; i < 20; i++)
      assert.deepEqual(
        requests(f.tick()).filter(([p]) => p === 'a'),
        [],
      );
  });

  it('a request unanswered past its time goes to another peer; a late answer is still taken', () => {
    const f = new PieceLayerFetch(plan, { ...limits, maxPerPeer: 1 });
    const a = f.addPeer('a');
    const r0 = rangeOf(a, 'a', 0);
    assert.deepEqual(requests(f.addPeer('b')), [['b', 512, 128]]);
    let cs: PieceLayerCommand[] = [];
    for (let i = 0; i < limits.requestTimeoutTicks; i++) cs = f.tick();
    assert.deepEqual(
      cs.filter((c) => c.type === 'snubbed'),
      [
        { type: 'snubbed', peer: 'a', reason: 'timedOut' },
        { type: 'snubbed', peer: 'b', reason: 'timedOut' },
      ],
    );
    // Both rest: a newcomer is asked the first run.
    assert.deepEqual(requests(f.addPeer('c')), [['c', 0, 512]]);
    // a's late answer comes first: taken.
    f.hashes('a', r0, answer(r0));
    assert.equal(f.received, 512);
  });
});

describe('piece layer fetch at the size a 4 MiB info dictionary allows', () => {
  it("60,000 layered files: a peer's hash rejects and answers naming no request are ignored, and every run is asked once and kept", () => {
    // A 4 MiB v2 info dictionary holds some 60,000 files (about 70 bytes each); files of two
    // pieces are a run each. Each `hash reject` (49 bytes) is matched in one look-up, not a scan of
    // the runs, and each answer's next request comes without a scan of the runs in: on main, one
    // hostile peer's 2,000 rejects a second (the message budget) took seconds of main thread each
    // second here, and the honest fetch itself minutes.
    const FILES = 60_000;
    const files = Array.from({ length: FILES }, (_, i) => {
      const root = new Uint8Array(32);
      new DataView(root.buffer).setUint32(0, i);
      return { piecesRoot: root, pieces: 2 };
    });
    const f = new PieceLayerFetch(
      { pieceLayer: 0, files },
      { maxPerPeer: 4, requestTimeoutTicks: 3, backoffTicks: 10 },
    );
    const asked = new Set<string>();
    const queue: PieceLayerCommand[] = f.addPeer('a');
    f.addPeer('x');
    // x rejects and answers runs of ours it was never asked (another peer's), or ranges of no run.
    const someoneElses = {
      piecesRoot: files[FILES - 1]!.piecesRoot,
      baseLayer: 0,
      index: 0,
      length: 2,
      proofLayers: 0,
    };
    const noRun = { ...someoneElses, index: 2 };
    for (let i = 0; i < 2000; i++) {
      assert.deepEqual(f.reject('x', noRun), []);
      assert.deepEqual(f.hashes('x', noRun, new Uint8Array(64)), []);
    }
    let answered = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c.type !== 'hashRequest' || c.peer !== 'a') continue;
      const key = `${new DataView(c.range.piecesRoot.buffer).getUint32(0)}/${c.range.index}`;
      assert.ok(!asked.has(key), `${key} asked of a twice`);
      asked.add(key);
      answered++;
      queue.push(...f.hashes('a', c.range, new Uint8Array(c.range.length * 32)));
    }
    assert.equal(f.complete, true);
    assert.equal(f.received, 2 * FILES);
    assert.equal(answered, FILES, 'each run asked of a once (those outstanding at x last)');
  });
});
