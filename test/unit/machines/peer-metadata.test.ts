/**
 * BEP 9 serving in the peer machine: with the torrent's metadata in its input, our extension
 * handshake offers ut_metadata and metadata_size (bytes checked against the bencode encoder);
 * each request for a piece is answered with that piece (data) under the peer's ut_metadata id, a
 * piece past the end with a reject; without metadata every request gets a reject; a connection
 * past MAX_METADATA_REQUESTS requests is closed as a flood.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PEER_LIMITS } from '../../../machines/peer.types.js';
import { CLIENT_VERSION, extensionHandshakePayload } from '../../../machines/peer-extension.js';
import { MAX_METADATA_REQUESTS } from '../../../machines/peer-metadata.js';
import { bencode } from '../../../src/metainfo/bencode.js';
import { metadataEvent, redundantMessage } from '../../../src/net/tcp-connection.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import { decodeUtMetadata } from '../../../src/wire/decode-ut-metadata.js';
import type { WireItem } from '../../../src/wire/messages.js';
import { MAX_METADATA_SIZE } from '../../../src/wire/ut-metadata.js';
import { INFO_HASH, startPeer, THEIR_ID } from './peer-harness.js';

/** 20,000 bytes of metadata: two pieces, the second 3,616 bytes. */
const METADATA = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 13) & 0xff);
const BEP10 = new Uint8Array([0, 0, 0, 0, 0, 0x10, 0, 0]);
const THEIR_UT_METADATA = 5;

function connected(metadata: Uint8Array | undefined) {
  const h = startPeer({ ourBitfield: Bitfield.full(20), ...(metadata === undefined ? {} : { metadata }) });
  h.deliver({ type: 'socket.connected' });
  h.deliver({ type: 'wire.handshake', infoHash: INFO_HASH, peerId: THEIR_ID, reserved: BEP10 });
  h.deliver({ type: 'wire.extendedHandshake', utMetadata: THEIR_UT_METADATA });
  return h;
}
const extended = (h: ReturnType<typeof startPeer>) =>
  h.sent().filter((m): m is Extract<WireItem, { type: 'extended' }> => m.type === 'extended');

test('the handshake payload offers ut_metadata and metadata_size as the bencode encoder writes them', () => {
  for (const size of [1, 20_000, 4 << 20])
    for (const p of [undefined, 6881])
      assert.deepEqual(
        Buffer.from(extensionHandshakePayload(250, p, size)),
        Buffer.from(
          bencode({
            m: { upload_only: 3, ut_metadata: 1 },
            metadata_size: size,
            p,
            reqq: 250,
            v: CLIENT_VERSION,
          }),
        ),
      );
  const h = connected(METADATA);
  try {
    assert.deepEqual(
      Buffer.from(extended(h)[0]!.payload),
      Buffer.from(
        bencode({
          m: { upload_only: 3, ut_metadata: 1 },
          metadata_size: METADATA.length,
          reqq: DEFAULT_PEER_LIMITS.maxPeerRequests,
          v: CLIENT_VERSION,
        }),
      ),
    );
  } finally {
    h.stop();
  }
});

test('a request is answered with its piece; a piece past the end with a reject', () => {
  const h = connected(METADATA);
  try {
    for (const piece of [1, 0, 2, 255]) h.deliver({ type: 'wire.metadataRequest', piece });
    const answers = extended(h).slice(1);
    assert.ok(
      answers.every((m) => m.extendedId === THEIR_UT_METADATA),
      "sent under the peer's id",
    );
    const decoded = answers.map((m) => decodeUtMetadata(m.payload));
    assert.deepEqual(
      decoded.map((m) => [m.msgType, m.piece]),
      [
        ['data', 1],
        ['data', 0],
        ['reject', 2],
        ['reject', 255],
      ],
    );
    const [one, zero] = decoded;
    assert.ok(one?.msgType === 'data' && zero?.msgType === 'data');
    assert.equal(one.totalSize, METADATA.length);
    assert.deepEqual(Buffer.concat([zero.data, one.data]), Buffer.from(METADATA));
    assert.equal(h.isClosed(), false);
  } finally {
    h.stop();
  }
});

test('without metadata the handshake offers none and every request gets a reject', () => {
  const h = connected(undefined);
  try {
    assert.deepEqual(
      Buffer.from(extended(h)[0]!.payload),
      Buffer.from(
        bencode({ m: { upload_only: 3 }, reqq: DEFAULT_PEER_LIMITS.maxPeerRequests, v: CLIENT_VERSION }),
      ),
    );
    h.deliver({ type: 'wire.metadataRequest', piece: 0 });
    assert.deepEqual(
      extended(h)
        .slice(1)
        .map((m) => decodeUtMetadata(m.payload)),
      [{ msgType: 'reject', piece: 0 }],
    );
  } finally {
    h.stop();
  }
});

test(`a connection past ${MAX_METADATA_REQUESTS} metadata requests is closed as a flood`, () => {
  const h = connected(METADATA);
  try {
    for (let i = 0; i < MAX_METADATA_REQUESTS; i++) h.deliver({ type: 'wire.metadataRequest', piece: i & 1 });
    assert.equal(h.isClosed(), false, 'the allowance is served');
    assert.equal(extended(h).length, 1 + MAX_METADATA_REQUESTS);
    h.deliver({ type: 'wire.metadataRequest', piece: 0 });
    assert.equal(h.isClosed(), true);
    assert.deepEqual(h.output(), {
      reason: 'metadataFlood',
      requests: MAX_METADATA_REQUESTS + 1,
      limit: MAX_METADATA_REQUESTS,
    });
  } finally {
    h.stop();
  }
});

test('the connection turns a ut_metadata request into wire.metadataRequest and a bad one into wire.error', () => {
  const item = (payload: Uint8Array) => ({ type: 'extended' as const, extendedId: 1, payload });
  assert.deepEqual(metadataEvent(item(bencode({ msg_type: 0, piece: 3 }))), {
    type: 'wire.metadataRequest',
    piece: 3,
  });
  const bad = metadataEvent(item(bencode({ msg_type: 0 })));
  assert.equal(bad.type, 'wire.error');
  assert.equal((bad as { code?: string }).code, 'badMetadataMessage');
  // data and rejects we did not ask for stay the ignored wire.extended
  assert.equal(metadataEvent(item(bencode({ msg_type: 2, piece: 0 }))).type, 'wire.extended');
  // a request after other messages of the same read is not dropped as redundant (other extensions are)
  assert.equal(redundantMessage({ type: 'choke' }, item(bencode({ msg_type: 0, piece: 0 }))), false);
  assert.equal(
    redundantMessage({ type: 'choke' }, { type: 'extended', extendedId: 7, payload: new Uint8Array(0) }),
    true,
  );
});

test('a request for piece 256 or -1 decodes as a request and gets a reject, the connection kept', () => {
  const h = connected(METADATA);
  try {
    for (const piece of [256, -1]) {
      const item = {
        type: 'extended' as const,
        extendedId: 1,
        payload: bencode({ msg_type: 0, piece }),
      };
      h.deliver(metadataEvent(item) as { type: 'wire.metadataRequest'; piece: number });
    }
    // the reject echoes the piece asked for, as libtorrent's does
    assert.deepEqual(
      extended(h)
        .slice(1)
        .map((m) => Buffer.from(m.payload).toString('latin1')),
      [bencode({ msg_type: 2, piece: 256 }), bencode({ msg_type: 2, piece: -1 })].map((b) =>
        Buffer.from(b).toString('latin1'),
      ),
    );
    assert.equal(h.isClosed(), false);
  } finally {
    h.stop();
  }
});

test('metadata above MAX_METADATA_SIZE is neither offered nor served', () => {
  const h = connected(new Uint8Array(MAX_METADATA_SIZE + 1));
  try {
    assert.deepEqual(
      Buffer.from(extended(h)[0]!.payload),
      Buffer.from(
        bencode({ m: { upload_only: 3 }, reqq: DEFAULT_PEER_LIMITS.maxPeerRequests, v: CLIENT_VERSION }),
      ),
    );
    h.deliver({ type: 'wire.metadataRequest', piece: 0 });
    assert.deepEqual(
      extended(h)
        .slice(1)
        .map((m) => decodeUtMetadata(m.payload).msgType),
      ['reject'],
    );
  } finally {
    h.stop();
  }
});
