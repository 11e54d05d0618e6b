/**
 * BEP 21, partial seeds, in the peer machine (machines/peer-extension.ts): our extension handshake
 * says `upload_only: 1` when we will not download; when we become upload only later, a peer that
 * named libtorrent's upload_only message hears it once (now, or as soon as its handshake names the
 * message); a peer's upload_only (handshake or message) is reported to the torrent machine; and
 * when both ends are upload only the connection is closed as `notNeeded`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PEER_LIMITS, DEFAULT_PEER_TIMEOUTS, type PeerInput } from '../../../machines/peer.types.js';
import { CLIENT_VERSION } from '../../../machines/peer-extension.js';
import { bencode } from '../../../src/metainfo/bencode.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import type { WireItem } from '../../../src/wire/messages.js';
import { INFO_HASH, startPeer, THEIR_ID } from './peer-harness.js';

const BEP10 = new Uint8Array([0, 0, 0, 0, 0, 0x10, 0, 0]);
/** The id a libtorrent peer takes upload_only messages under (its `m.upload_only`). */
const THEIRS = 3;

function connected(over: Partial<PeerInput> = {}) {
  const h = startPeer({ ourBitfield: Bitfield.full(20), ...over });
  h.deliver({ type: 'socket.connected' });
  h.deliver({ type: 'wire.handshake', infoHash: INFO_HASH, peerId: THEIR_ID, reserved: BEP10 });
  return h;
}
const extended = (h: ReturnType<typeof startPeer>) =>
  h.sent().filter((m): m is Extract<WireItem, { type: 'extended' }> => m.type === 'extended');
/** The upload_only messages sent, as their byte. */
const uploadOnlySent = (h: ReturnType<typeof startPeer>) =>
  extended(h)
    .filter((m) => m.extendedId === THEIRS)
    .map((m) => [...m.payload]);
const uploadOnlyReports = (h: ReturnType<typeof startPeer>) =>
  h.reports.flatMap((r) => (r.type === 'peer.uploadOnly' ? [r.uploadOnly] : []));

test('upload only from the start: our extension handshake says upload_only 1 (and names the message)', () => {
  const h = connected({ uploadOnly: true });
  try {
    const [ext] = extended(h);
    assert.equal(ext?.extendedId, 0);
    assert.deepEqual(
      Buffer.from(ext!.payload),
      Buffer.from(
        bencode({
          m: { upload_only: 3 },
          reqq: DEFAULT_PEER_LIMITS.maxPeerRequests,
          upload_only: 1,
          v: CLIENT_VERSION,
        }),
      ),
    );
    // Told by the handshake: no upload_only message follows, even to a peer that takes it.
    h.deliver({ type: 'wire.extendedHandshake', uploadOnlyId: THEIRS });
    h.command({ type: 'cmd.uploadOnly' });
    assert.deepEqual(uploadOnlySent(h), []);
  } finally {
    h.stop();
  }
});

test('becoming upload only: a peer that named upload_only gets the message once, others nothing', () => {
  const named = connected();
  const unnamed = connected();
  try {
    named.deliver({ type: 'wire.extendedHandshake', uploadOnlyId: THEIRS });
    unnamed.deliver({ type: 'wire.extendedHandshake' });
    for (const h of [named, unnamed]) {
      h.command({ type: 'cmd.uploadOnly' });
      h.command({ type: 'cmd.uploadOnly' });
      assert.equal(h.context()?.uploadOnly, true);
      assert.equal(h.isClosed(), false);
    }
    assert.deepEqual(uploadOnlySent(named), [[1]]);
    assert.deepEqual(
      extended(unnamed).map((m) => m.extendedId),
      [0],
      'only our extension handshake',
    );
  } finally {
    named.stop();
    unnamed.stop();
  }
});

test("upload only before the peer's extension handshake: the message goes once that names it", () => {
  const h = connected();
  try {
    h.command({ type: 'cmd.uploadOnly' });
    assert.deepEqual(uploadOnlySent(h), []);
    h.deliver({ type: 'wire.extendedHandshake', uploadOnlyId: THEIRS });
    h.deliver({ type: 'wire.extendedHandshake', uploadOnlyId: THEIRS }); // sent again: nothing new
    assert.deepEqual(uploadOnlySent(h), [[1]]);
  } finally {
    h.stop();
  }
});

test('upload only before the handshakes: our extension handshake says it', () => {
  const h = startPeer({ ourBitfield: Bitfield.full(20) });
  try {
    h.command({ type: 'cmd.uploadOnly' });
    h.deliver({ type: 'socket.connected' });
    h.deliver({ type: 'wire.handshake', infoHash: INFO_HASH, peerId: THEIR_ID, reserved: BEP10 });
    const [ext] = extended(h);
    assert.match(Buffer.from(ext!.payload).toString('latin1'), /11:upload_onlyi1e1:v/);
  } finally {
    h.stop();
  }
});

test("the peer's upload_only is reported when it changes; a handshake without it changes nothing", () => {
  const h = connected();
  try {
    h.deliver({ type: 'wire.extendedHandshake', uploadOnly: true });
    h.deliver({ type: 'wire.extendedHandshake' });
    assert.equal(h.context()?.peerUploadOnly, true);
    h.deliver({ type: 'wire.uploadOnly', uploadOnly: false });
    h.deliver({ type: 'wire.uploadOnly', uploadOnly: false });
    h.deliver({ type: 'wire.uploadOnly', uploadOnly: true });
    assert.deepEqual(uploadOnlyReports(h), [true, false, true]);
    // We download: an upload-only peer is one we may still download from.
    assert.equal(h.isClosed(), false);
  } finally {
    h.stop();
  }
});

test('both upload only: closed as notNeeded, whichever side says it last, the report first', () => {
  // We are upload only, the peer's extension handshake says it is.
  const a = connected({ uploadOnly: true });
  // We are upload only, the peer's upload_only message says it became so.
  const b = connected({ uploadOnly: true });
  // The peer said it is upload only; then we become so.
  const c = connected();
  try {
    a.deliver({ type: 'wire.extendedHandshake', uploadOnly: true });
    b.deliver({ type: 'wire.extendedHandshake' });
    assert.equal(b.isClosed(), false);
    b.deliver({ type: 'wire.uploadOnly', uploadOnly: true });
    c.deliver({ type: 'wire.extendedHandshake', uploadOnly: true, uploadOnlyId: THEIRS });
    assert.equal(c.isClosed(), false);
    c.command({ type: 'cmd.uploadOnly' });
    for (const h of [a, b, c]) {
      assert.deepEqual(h.output(), { reason: 'notNeeded' });
      const types = h.reports.map((r) => r.type);
      if (h !== c) assert.ok(types.indexOf('peer.uploadOnly') < types.indexOf('peer.closed'), types.join());
    }
  } finally {
    a.stop();
    b.stop();
    c.stop();
  }
});

test('a peer flapping upload_only past limits.interestBurst is closed (interestFlood); one change a tick is not', () => {
  // Each time it says it downloads again the choker may unchoke it at once, as when it becomes
  // interested: the same bucket, shared with its interest.
  const { interestBurst } = DEFAULT_PEER_LIMITS;
  const flapping = connected();
  const steady = connected();
  try {
    flapping.deliver({ type: 'wire.extendedHandshake', uploadOnly: true });
    for (let i = 0; i < interestBurst; i++) {
      flapping.deliver({ type: 'wire.uploadOnly', uploadOnly: false });
      flapping.deliver({ type: 'wire.uploadOnly', uploadOnly: true });
    }
    assert.equal(flapping.isClosed(), false);
    flapping.deliver({ type: 'wire.uploadOnly', uploadOnly: true }); // a repeat is not a change
    flapping.deliver({ type: 'wire.uploadOnly', uploadOnly: false });
    assert.deepEqual(flapping.output(), {
      reason: 'interestFlood',
      times: interestBurst + 1,
      limit: interestBurst,
    });
    assert.equal(uploadOnlyReports(flapping).length, 2 * interestBurst + 1, 'the last one is not reported');

    for (let i = 0; i < 60; i++) {
      steady.advance(DEFAULT_PEER_TIMEOUTS.tick);
      steady.deliver({ type: 'wire.uploadOnly', uploadOnly: true });
      steady.deliver({ type: 'wire.uploadOnly', uploadOnly: false });
    }
    assert.equal(steady.isClosed(), false);
  } finally {
    flapping.stop();
    steady.stop();
  }
});
