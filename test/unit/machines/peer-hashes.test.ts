/**
 * BEP 52 hash requests in the peer machine (machines/peer-hashes.ts): with a v2 torrent's piece
 * layer trees in its input, a valid request at the piece layer is answered with `hashes` (the
 * request's fields, then the run and its proof), whatever our choke; a block-layer request over
 * pieces we have is handed to the `blockHashes` read (two at a time, a bounded number per
 * connection; its answer, read from a real seeder's disk, is tested in
 * test/unit/session/block-layer-hashes.test.ts); an unknown root or an invalid request gets a
 * `hash reject` with the request's 48 bytes, as does any request for a v1 torrent; a connection past
 * hashRequestLimit requests is closed as a flood; the peer's `hashes` and `hash reject` (answers to
 * requests we never send) are ignored. Our handshake sets BEP 52's reserved bit only with piece
 * layer trees (a v2 torrent, or a hybrid whose .torrent has its piece layers).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { ConnectionEvent } from '../../../machines/peer.types.js';
import {
  answerHashRequest,
  blockLayerMessage,
  hashRequestLimit,
  MAX_BLOCK_HASH_READS_PER_CONNECTION,
  MAX_HASH_REQUESTS,
} from '../../../machines/peer-hashes.js';
import { merkleHashes, rootKey } from '../../../src/metainfo/merkle-proof.js';
import { layerRoot } from '../../../src/metainfo/merkle-tree.js';
import { pieceLayerTrees } from '../../../src/metainfo/piece-layer-trees.js';
import { redundantMessage, wireEvent } from '../../../src/net/tcp-connection.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import { encodeMessage } from '../../../src/wire/encode-message.js';
import type { HashRange, WireItem } from '../../../src/wire/messages.js';
import { decodeChunks } from '../wire/wire-test-helpers.js';
import { INFO_HASH, startPeer, THEIR_ID } from './peer-harness.js';

const PIECE_LENGTH = 64 * 1024; // the piece layer is 2 layers above the 16 KiB leaves
const PIECE_LAYER = 2;
const hashes = (n: number) =>
  Buffer.concat(Array.from({ length: n }, (_, i) => createHash('sha256').update(`piece ${i}`).digest()));

/** A v2 torrent of one file of 1,000 pieces: its piece layer, root and trees. */
const PIECES = hashes(1000);
const ROOT = layerRoot(PIECES, PIECE_LAYER);
const ROOT_HEX = Buffer.from(ROOT).toString('hex');
const TREES = pieceLayerTrees({
  version: 'v2',
  files: [{ path: ['f'], length: 1000 * PIECE_LENGTH - 7, offset: 0, padding: false }],
  pieces: PIECES,
  pieceLength: PIECE_LENGTH,
})!;

function connected(v2: boolean, reserved = new Uint8Array(8)) {
  const h = startPeer({
    pieceCount: 1000,
    pieceLength: PIECE_LENGTH,
    totalLength: 1000 * PIECE_LENGTH - 7,
    ourBitfield: Bitfield.full(1000),
    ...(v2 ? { pieceLayerTrees: TREES } : {}),
  });
  h.deliver({ type: 'socket.connected' });
  h.deliver({ type: 'wire.handshake', infoHash: INFO_HASH, peerId: THEIR_ID, reserved });
  return h;
}

const request = (r: Partial<HashRange> = {}): ConnectionEvent => ({
  type: 'wire.hashRequest',
  piecesRoot: ROOT,
  baseLayer: PIECE_LAYER,
  index: 0,
  length: 512,
  proofLayers: 9,
  ...r,
});
const answers = (h: ReturnType<typeof startPeer>) =>
  h.sent().filter((m) => m.type === 'hashes' || m.type === 'hashReject');
const fieldsOf = (m: WireItem) => {
  const r = m as unknown as HashRange;
  return [Buffer.from(r.piecesRoot).toString('hex'), r.baseLayer, r.index, r.length, r.proofLayers];
};

test("libtorrent's requests for the piece layer are answered with hashes, while we choke it", () => {
  const h = connected(true);
  try {
    // 1,000 pieces: 1,024 wide, 10 layers above the piece layer. libtorrent's two runs of 512
    // (hash_picker::pick_hashes), each with proof layers 9: the uncle at height 9 is the other run's root.
    h.deliver(request({ index: 0, proofLayers: 9 }));
    h.deliver(request({ index: 512, proofLayers: 9 }));
    const [first, second] = answers(h);
    assert.ok(first?.type === 'hashes' && second?.type === 'hashes');
    assert.deepEqual(fieldsOf(first), [ROOT_HEX, PIECE_LAYER, 0, 512, 9]);
    assert.deepEqual(fieldsOf(second), [ROOT_HEX, PIECE_LAYER, 512, 512, 9]);
    const tree = TREES.files.get(rootKey(ROOT))!;
    assert.equal(first.hashes.length, 32 * 513);
    assert.deepEqual(Buffer.from(first.hashes), Buffer.from(merkleHashes(tree, first)));
    assert.deepEqual(Buffer.from(first.hashes.subarray(0, 32 * 512)), PIECES.subarray(0, 32 * 512));
    assert.deepEqual(Buffer.from(second.hashes.subarray(0, 32 * 488)), PIECES.subarray(32 * 512));
    // Each run's uncle is the other's root: folded, they give the file's root.
    const runRoot = (m: typeof first) => m.hashes.subarray(0, 32 * 512);
    assert.deepEqual(
      Buffer.from(first.hashes.subarray(32 * 512)),
      Buffer.from(layerRoot(runRoot(second), PIECE_LAYER)),
    );
    assert.deepEqual(
      Buffer.from(second.hashes.subarray(32 * 512)),
      Buffer.from(layerRoot(runRoot(first), PIECE_LAYER)),
    );
    assert.equal(h.context()?.amChoking, true);
    assert.equal(h.isClosed(), false);
  } finally {
    h.stop();
  }
});

test('an unknown root and an invalid request get a hash reject with the request’s 48 bytes', () => {
  const h = connected(true);
  try {
    const rejected = [
      request({ baseLayer: 1, index: 64, length: 4, proofLayers: 6 }), // between blocks and pieces
      request({ piecesRoot: new Uint8Array(32).fill(5) }),
      request({ index: 256 }), // not a multiple of the length
      request({ length: 3 }),
      request({ proofLayers: 10 }), // up to the root, which has no uncle
      request({ baseLayer: 0xffffffff, index: 0xffffffff, length: 0xffffffff, proofLayers: 0xffffffff }),
    ];
    for (const r of rejected) h.deliver(r);
    const sent = answers(h);
    assert.deepEqual(
      sent.map((m) => m.type),
      rejected.map(() => 'hashReject'),
    );
    assert.deepEqual(sent.map(fieldsOf), rejected.map(fieldsOf as (e: unknown) => unknown[]));
    // On the wire: <len=0x31><id=23> and the request's 48 bytes.
    const wire = encodeMessage(sent[1]!);
    assert.equal(Buffer.from(wire.subarray(0, 5)).toString('hex'), '0000003117');
    assert.equal(h.isClosed(), false);
  } finally {
    h.stop();
  }
});

test('a torrent without piece layer trees (v1, a hybrid without layers) rejects every hash request, and does not set the v2 bit', () => {
  const h = connected(false);
  try {
    h.deliver(request());
    assert.deepEqual(
      answers(h).map((m) => m.type),
      ['hashReject'],
    );
    const ours = h.sent().find((m) => m.type === 'handshake');
    assert.ok(ours?.type === 'handshake');
    assert.equal(ours.reserved[7]! & 0x10, 0);
  } finally {
    h.stop();
  }
  const v2 = connected(true);
  try {
    const ours = v2.sent().find((m) => m.type === 'handshake');
    assert.ok(ours?.type === 'handshake');
    assert.equal(ours.reserved[7], 0x04 | 0x10, 'BEP 6 and BEP 52');
  } finally {
    v2.stop();
  }
});

test('the answer keeps its own copy of the root: the request’s is a view of the receive buffer', () => {
  const h = connected(true);
  try {
    const root = new Uint8Array(ROOT);
    h.deliver(request({ piecesRoot: root }));
    root.fill(0); // the next socket read overwrites the buffer
    const [answer] = answers(h);
    assert.equal(fieldsOf(answer!)[0], ROOT_HEX);
  } finally {
    h.stop();
  }
});

test(`a connection past ${MAX_HASH_REQUESTS} requests and two per 512-hash run is closed as a flood`, () => {
  const limit = hashRequestLimit({ pieceLayerTrees: TREES });
  assert.equal(limit, MAX_HASH_REQUESTS + 2 * 2);
  const h = connected(true);
  try {
    for (let i = 0; i < limit; i++) h.deliver(request({ index: 256 }));
    assert.equal(h.isClosed(), false, 'the allowance is answered');
    assert.equal(answers(h).length, limit);
    h.deliver(request());
    assert.equal(h.isClosed(), true);
    assert.deepEqual(h.output(), { reason: 'hashRequestFlood', requests: limit + 1, limit });
  } finally {
    h.stop();
  }
  assert.equal(hashRequestLimit({ pieceLayerTrees: undefined }), MAX_HASH_REQUESTS);
});

test('the peer’s hashes and hash rejects are ignored; the connection drops them after other messages of a read', () => {
  const h = connected(true);
  try {
    const fields = { piecesRoot: ROOT, baseLayer: PIECE_LAYER, index: 0, length: 2, proofLayers: 0 };
    h.deliver({ type: 'wire.hashes', ...fields, hashes: PIECES.subarray(0, 64) });
    h.deliver({ type: 'wire.hashReject', ...fields });
    assert.deepEqual(answers(h), []);
    assert.equal(h.isClosed(), false);
    assert.equal(
      redundantMessage({ type: 'choke' }, { type: 'hashes', ...fields, hashes: new Uint8Array(64) }),
      true,
    );
    assert.equal(redundantMessage({ type: 'choke' }, { type: 'hashReject', ...fields }), true);
    assert.equal(redundantMessage({ type: 'choke' }, { type: 'hashRequest', ...fields }), false);
  } finally {
    h.stop();
  }
});

test('bytes on the wire: a decoded hash request becomes wire.hashRequest, and the answer decodes as hashes', () => {
  const h = connected(true);
  try {
    const bytes = encodeMessage({
      type: 'hashRequest',
      piecesRoot: ROOT,
      baseLayer: PIECE_LAYER,
      index: 512,
      length: 512,
      proofLayers: 9,
    });
    const [item] = decodeChunks([bytes], { expectHandshake: false }).items;
    h.deliver(wireEvent(item!) as ConnectionEvent);
    const [answer] = answers(h);
    const decoded = decodeChunks([encodeMessage(answer as never)], { expectHandshake: false }).items[0];
    assert.ok(decoded?.type === 'hashes');
    assert.deepEqual(fieldsOf(decoded), [ROOT_HEX, PIECE_LAYER, 512, 512, 9]);
    // The run, then its root's sibling: pieces 0–511's subtree root.
    assert.equal(decoded.hashes.length, 32 * 513);
    assert.deepEqual(
      Buffer.from(decoded.hashes.subarray(32 * 512)),
      Buffer.from(layerRoot(PIECES.subarray(0, 32 * 512), PIECE_LAYER)),
    );
  } finally {
    h.stop();
  }
});

test('a block-layer request is read back first: over pieces we have, two at a time; else rejected', () => {
  const have = Bitfield.full(1000);
  const c = {
    pieceLayerTrees: TREES,
    ourBitfield: have,
    pieceLength: PIECE_LENGTH,
    blockHashReads: 0,
    blockHashReadCount: 0,
  };
  // libtorrent's request after piece 64 failed: its 4 blocks (the piece layer is 2 above them).
  const blocks = request({ baseLayer: 0, index: 64 * 4, length: 4, proofLayers: 2 + 9 }) as HashRange & {
    type: 'wire.hashRequest';
  };
  const first = answerHashRequest(c, blocks);
  assert.equal(first.kind, 'read');
  assert.ok(first.kind === 'read');
  assert.equal(first.slot, 0);
  assert.deepEqual(
    fieldsOf({ type: 'hashes', ...first.read.range } as WireItem),
    fieldsOf(blocks as unknown as WireItem),
  );
  assert.equal(first.read.tree, TREES.files.get(rootKey(ROOT)));
  assert.equal(first.read.pieceLength, PIECE_LENGTH);
  const second = answerHashRequest({ ...c, blockHashReads: 0b01 }, blocks);
  assert.ok(second.kind === 'read' && second.slot === 1);
  // Both slots reading: a third is rejected, as is a piece we do not have.
  const busy = answerHashRequest({ ...c, blockHashReads: 0b11 }, blocks);
  assert.ok(busy.kind === 'send' && busy.message.type === 'hashReject');
  const lacking = new Bitfield(1000);
  for (let i = 0; i < 1000; i++) if (i !== 64) lacking.set(i);
  const missing = answerHashRequest({ ...c, ourBitfield: lacking }, blocks);
  assert.ok(missing.kind === 'send' && missing.message.type === 'hashReject');
  // A connection that has had its reads: the next is rejected.
  const spent = answerHashRequest({ ...c, blockHashReadCount: MAX_BLOCK_HASH_READS_PER_CONNECTION }, blocks);
  assert.ok(spent.kind === 'send' && spent.message.type === 'hashReject');
  // The answer once read: hashes, or a reject when the read did not give them.
  const range = (first as { read: { range: HashRange } }).read.range;
  assert.equal(blockLayerMessage(range, new Uint8Array(32 * 5)).type, 'hashes');
  assert.equal(blockLayerMessage(range, undefined).type, 'hashReject');
});

test('a block-layer request spawns the blockHashes read, and its answer is sent when it lands', async () => {
  const h = connected(true);
  try {
    h.deliver(request({ baseLayer: 0, index: 8, length: 4, proofLayers: 2 }));
    assert.deepEqual(answers(h), [], 'nothing sent before the read');
    assert.equal(h.context()?.blockHashReads, 1);
    // The machine's own placeholder has no disk: a reject, once the read settles.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      answers(h).map((m) => m.type),
      ['hashReject'],
    );
    assert.equal(h.context()?.blockHashReads, 0, 'the slot is free again');
  } finally {
    h.stop();
  }
});
