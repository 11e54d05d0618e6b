/**
 * BEP 10, the Extension Protocol, in the peer machine: we send our extension handshake (with our
 * reqq, and our listening port as `p`) only when both handshakes set the bit; the peer's reqq caps
 * our outstanding requests, and an incoming peer's `p` is reported to the torrent machine. Also the
 * payload bytes (against the bencode encoder) and the connection's decoding of id 0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PEER_LIMITS, type PeerReport } from '../../../machines/peer.types.js';
import { CLIENT_VERSION, extensionHandshakePayload } from '../../../machines/peer-extension.js';
import { bencode } from '../../../src/metainfo/bencode.js';
import { EXTENSION_HANDSHAKE_MAX_TOKENS, extensionHandshakeEvent } from '../../../src/net/tcp-connection.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import type { WireItem } from '../../../src/wire/messages.js';
import { hasExtensionBit } from '../../../src/wire/reserved-bits.js';
import { INFO_HASH, startPeer, THEIR_ID } from './peer-harness.js';

const B = 16384;
const enc = (s: string) => new TextEncoder().encode(s);

function handshakeWith(reserved: Uint8Array, over: Parameters<typeof startPeer>[0] = {}) {
  const h = startPeer({ ourBitfield: Bitfield.full(20), ...over });
  h.deliver({ type: 'socket.connected' });
  h.deliver({ type: 'wire.handshake', infoHash: INFO_HASH, peerId: THEIR_ID, reserved });
  return h;
}
const extended = (h: ReturnType<typeof startPeer>) =>
  h.sent().filter((m): m is Extract<WireItem, { type: 'extended' }> => m.type === 'extended');

test('our handshake sets the BEP 10 bit: reserved[5] & 0x10', () => {
  const h = handshakeWith(new Uint8Array(8));
  try {
    const hs = h.sent().find((m) => m.type === 'handshake');
    assert.ok(hs?.type === 'handshake' && hasExtensionBit(hs.reserved));
    assert.equal(hs.reserved[5], 0x10);
  } finally {
    h.stop();
  }
});

test('no extension handshake to a peer without the BEP 10 bit', () => {
  const h = handshakeWith(new Uint8Array(8));
  try {
    assert.equal(h.isClosed(), false);
    assert.deepEqual(extended(h), []);
  } finally {
    h.stop();
  }
});

test('with the bit on both ends, the extension handshake follows our bitfield, carrying our reqq', () => {
  const reserved = new Uint8Array(8);
  reserved[5] = 0x10;
  const h = handshakeWith(reserved);
  try {
    const types = h.sent().map((m) => m.type);
    assert.deepEqual(types, ['handshake', 'bitfield', 'extended']);
    const [ext] = extended(h);
    assert.equal(ext?.extendedId, 0);
    assert.deepEqual(
      ext?.payload,
      new Uint8Array(
        bencode({ m: { upload_only: 3 }, reqq: DEFAULT_PEER_LIMITS.maxPeerRequests, v: CLIENT_VERSION }),
      ),
    );
  } finally {
    h.stop();
  }
});

test("the payload is the bencode encoder's bytes for any reqq, with p when we listen", () => {
  for (const reqq of [1, 9, 250, 500, 123456]) {
    assert.deepEqual(
      extensionHandshakePayload(reqq),
      new Uint8Array(bencode({ m: { upload_only: 3 }, reqq, v: CLIENT_VERSION })),
    );
    for (const p of [1, 6881, 65535])
      assert.deepEqual(
        extensionHandshakePayload(reqq, p),
        new Uint8Array(bencode({ m: { upload_only: 3 }, p, reqq, v: CLIENT_VERSION })),
      );
    for (const p of [0, 65536, -1, 1.5])
      assert.deepEqual(
        extensionHandshakePayload(reqq, p),
        new Uint8Array(bencode({ m: { upload_only: 3 }, reqq, v: CLIENT_VERSION })),
        `no p for ${p}`,
      );
  }
});

const BEP10 = new Uint8Array([0, 0, 0, 0, 0, 0x10, 0, 0]);
const listening = (h: ReturnType<typeof startPeer>) => h.reports.filter((r) => r.type === 'peer.listening');

test('our extension handshake carries p, the port we listen on', () => {
  const h = handshakeWith(BEP10, { listenPort: 51413 });
  try {
    const [ext] = extended(h);
    assert.deepEqual(
      ext?.payload,
      new Uint8Array(
        bencode({
          m: { upload_only: 3 },
          p: 51413,
          reqq: DEFAULT_PEER_LIMITS.maxPeerRequests,
          v: CLIENT_VERSION,
        }),
      ),
    );
  } finally {
    h.stop();
  }
});

test("an incoming peer's p is reported to the torrent machine; a dialled peer's, or a bad one, is not", () => {
  const incoming = handshakeWith(BEP10, { direction: 'incoming', key: 'x:50123', address: 'x:50123' });
  const outgoing = handshakeWith(BEP10);
  try {
    incoming.deliver({ type: 'wire.extendedHandshake', listenPort: 6881 });
    assert.deepEqual(listening(incoming), [{ type: 'peer.listening', key: 'x:50123', port: 6881 }]);
    for (const bad of [0, 65536, -5, 80.5])
      incoming.deliver({ type: 'wire.extendedHandshake', listenPort: bad });
    assert.equal(listening(incoming).length, 1);
    outgoing.deliver({ type: 'wire.extendedHandshake', listenPort: 6881 });
    assert.deepEqual(listening(outgoing), []);
  } finally {
    incoming.stop();
    outgoing.stop();
  }
});

/** A peer with every piece that unchoked us, its extension handshake saying `reqq`; we want `n` blocks. */
function downloading(reqq: number | undefined, n: number) {
  const reserved = new Uint8Array(8);
  reserved[5] = 0x10;
  const h = handshakeWith(reserved);
  h.deliver(
    reqq === undefined ? { type: 'wire.extendedHandshake' } : { type: 'wire.extendedHandshake', reqq },
  );
  h.deliver({ type: 'wire.bitfield', bitfield: Bitfield.full(20).bytes });
  h.command({ type: 'cmd.interested' });
  h.deliver({ type: 'wire.unchoke' });
  const blocks = Array.from({ length: n }, (_, i) => ({ index: i >> 1, begin: (i & 1) * B, length: B }));
  h.command({ type: 'cmd.request', blocks });
  return h;
}
const wants = (h: ReturnType<typeof startPeer>) =>
  h.reports.filter(
    (r): r is Extract<PeerReport, { type: 'peer.wantBlocks' }> => r.type === 'peer.wantBlocks',
  );

test("the peer's reqq caps our outstanding requests; the rest are returned", () => {
  const h = downloading(5, 12);
  try {
    assert.equal(h.context()?.peerReqq, 5);
    assert.equal(wants(h)[0]?.count, 5); // the first ask: min(initialPipeline 32, reqq 5)
    assert.equal(h.sent().filter((m) => m.type === 'request').length, 5);
    const returned = h.reports.filter((r) => r.type === 'peer.returned');
    assert.equal(
      returned.reduce((s, r) => s + (r.type === 'peer.returned' ? r.returned.length : 0), 0),
      7,
    );
  } finally {
    h.stop();
  }
});

test('without reqq (or with a bad one) the pipeline keeps its own cap', () => {
  for (const reqq of [undefined, 0, -3, 2.5]) {
    const h = downloading(reqq, 12);
    try {
      assert.equal(h.context()?.peerReqq, undefined);
      assert.equal(h.sent().filter((m) => m.type === 'request').length, 12);
    } finally {
      h.stop();
    }
  }
});

test('the connection decodes reqq, p, ut_metadata, ut_pex and metadata_size from id 0 and ignores a malformed payload', () => {
  assert.deepEqual(extensionHandshakeEvent(enc('d1:md6:ut_pexi1ee4:reqqi500e1:v4:teste')), {
    type: 'wire.extendedHandshake',
    reqq: 500,
    utPex: 1,
  });
  // The fields of a libtorrent 2.0 extension handshake (dictionary keys in order).
  assert.deepEqual(
    extensionHandshakeEvent(
      enc(
        'd12:complete_agoi-1e1:md11:upload_onlyi3e11:ut_metadatai2e6:ut_pexi1ee1:pi6881e4:reqqi500e1:v18:libtorrent/2.0.8.0e',
      ),
    ),
    { type: 'wire.extendedHandshake', reqq: 500, listenPort: 6881, utMetadata: 2, utPex: 1, uploadOnlyId: 3 },
  );
  // BEP 9: a peer with the metadata says its size; an id of 0 (disabled) or past a byte is none.
  assert.deepEqual(extensionHandshakeEvent(enc('d1:md11:ut_metadatai3ee13:metadata_sizei31337ee')), {
    type: 'wire.extendedHandshake',
    utMetadata: 3,
    metadataSize: 31337,
  });
  for (const id of [0, 256, -1])
    assert.deepEqual(extensionHandshakeEvent(enc(`d1:md11:ut_metadatai${id}eee`)), {
      type: 'wire.extendedHandshake',
    });
  assert.deepEqual(extensionHandshakeEvent(enc('d1:p3:abc4:reqqi9ee')), {
    type: 'wire.extendedHandshake',
    reqq: 9,
  });
  assert.deepEqual(extensionHandshakeEvent(enc('d1:pi99999999999999999999ee')), {
    type: 'wire.extendedHandshake',
  });
  for (const bad of ['d1:mdee', 'd4:reqq3:abce', 'li250ee', 'd4:reqqi0ee', 'd4:reqqi250e', 'garbage', ''])
    assert.deepEqual(extensionHandshakeEvent(enc(bad)), { type: 'wire.extendedHandshake' }, bad);
});

test('an extension handshake is decoded through at most EXTENSION_HANDSHAKE_MAX_TOKENS values', () => {
  // `p` and `reqq` after a list of n integers: the dictionary, its 3 keys, the list and the values
  // of p and reqq are 7 values besides the n.
  const handshake = (n: number) => enc(`d1:xl${'i1e'.repeat(n)}e1:pi6881e4:reqqi250ee`);
  const within = EXTENSION_HANDSHAKE_MAX_TOKENS - 7;
  assert.deepEqual(extensionHandshakeEvent(handshake(within)), {
    type: 'wire.extendedHandshake',
    reqq: 250,
    listenPort: 6881,
  });
  assert.deepEqual(extensionHandshakeEvent(handshake(within + 1)), { type: 'wire.extendedHandshake' });
  // The review's 1 MiB of nested lists of integers: left undecoded past the bound.
  const unit = `${'l'.repeat(99)}${'i1e'.repeat(10)}${'e'.repeat(99)}`;
  const bomb = `d1:xl${unit.repeat(Math.floor((1 << 20) / unit.length) - 1)}e1:pi6881ee`;
  assert.deepEqual(extensionHandshakeEvent(enc(bomb)), { type: 'wire.extendedHandshake' });
});
