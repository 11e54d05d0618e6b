/**
 * BEP 11 in the peer machine and its connection (machines/peer-pex.ts, src/net/tcp-connection.ts):
 * our extension handshake names ut_pex when PEX is on (the bencode encoder's bytes); the peer's
 * ut_pex id is reported once; its ut_pex messages, decoded by the connection, are passed on only
 * with PEX on; `cmd.pex` is sent under the peer's id and never to a peer that gave none.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLIENT_VERSION, extensionHandshakePayload } from '../../../machines/peer-extension.js';
import { bencode } from '../../../src/metainfo/bencode.js';
import {
  extensionHandshakeEvent,
  pexEvent,
  redundantMessage,
  wireEvent,
} from '../../../src/net/tcp-connection.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import { decodeUtPex } from '../../../src/wire/decode-ut-pex.js';
import { encodeUtPex, MAX_UT_PEX_PAYLOAD, OUR_UT_PEX_ID } from '../../../src/wire/ut-pex.js';
import { INFO_HASH, startPeer, THEIR_ID } from './peer-harness.js';

const BEP10 = new Uint8Array([0, 0, 0, 0, 0, 0x10, 0, 0]);

function connected(over: Parameters<typeof startPeer>[0] = {}) {
  const h = startPeer({ ourBitfield: Bitfield.full(20), ...over });
  h.deliver({ type: 'socket.connected' });
  h.deliver({ type: 'wire.handshake', infoHash: INFO_HASH, peerId: THEIR_ID, reserved: BEP10 });
  return h;
}

test('the handshake names ut_pex (id 2) beside ut_metadata when PEX is on: the encoder’s bytes', () => {
  for (const metadataSize of [undefined, 1234])
    for (const p of [undefined, 6881]) {
      const m = {
        upload_only: 3,
        ...(metadataSize === undefined ? {} : { ut_metadata: 1 }),
        ut_pex: OUR_UT_PEX_ID,
      };
      assert.deepEqual(
        extensionHandshakePayload(250, p, metadataSize, true),
        new Uint8Array(
          bencode({
            m,
            ...(metadataSize === undefined ? {} : { metadata_size: metadataSize }),
            ...(p === undefined ? {} : { p }),
            reqq: 250,
            v: CLIENT_VERSION,
          }),
        ),
      );
    }
});

test("the peer's ut_pex id is reported once; its messages are passed on with PEX on, ignored with it off", () => {
  const on = connected({ pex: true });
  const off = connected({ pex: false });
  try {
    for (const h of [on, off]) {
      h.deliver({ type: 'wire.extendedHandshake', utPex: 3 });
      h.deliver({ type: 'wire.extendedHandshake', utPex: 4 });
      h.deliver({ type: 'wire.pex', added: [{ address: '10.0.0.9:1', flags: 2 }], dropped: [] });
      h.deliver({ type: 'wire.pex', added: [], dropped: ['10.0.0.9:1'] });
      h.deliver({ type: 'wire.pex', added: [], dropped: [] });
    }
    assert.deepEqual(
      on.reports.filter((r) => r.type === 'peer.pexSupported' || r.type === 'peer.pex'),
      [
        { type: 'peer.pexSupported', key: 'peer-a' },
        { type: 'peer.pex', key: 'peer-a', added: [{ address: '10.0.0.9:1', flags: 2 }], dropped: [] },
        // Dropped ones go too (they free room in what the peer may name: torrent-pex.ts); an empty one not.
        { type: 'peer.pex', key: 'peer-a', added: [], dropped: ['10.0.0.9:1'] },
      ],
    );
    assert.deepEqual(
      off.reports.filter((r) => r.type === 'peer.pexSupported' || r.type === 'peer.pex'),
      [],
    );
    // Sent under the id its latest handshake gave.
    on.command({
      type: 'cmd.pex',
      added: [{ address: '10.0.0.8:6881', flags: 0x10 }],
      dropped: ['10.0.0.7:1'],
    });
    const last = on.sent().at(-1);
    assert.ok(last?.type === 'extended' && last.extendedId === 4);
    assert.deepEqual(decodeUtPex(last.payload), {
      added: [{ address: '10.0.0.8:6881', flags: 0x10 }],
      dropped: ['10.0.0.7:1'],
    });
    off.command({ type: 'cmd.pex', added: [{ address: '10.0.0.8:6881', flags: 0 }], dropped: [] });
    assert.ok(!off.sent().some((m) => m.type === 'extended' && m.extendedId === 4));
  } finally {
    on.stop();
    off.stop();
  }
});

test('the connection reads m.ut_pex from the extension handshake (0 turns it off; past 255 is none)', () => {
  const ev = (utPex: number) => extensionHandshakeEvent(new Uint8Array(bencode({ m: { ut_pex: utPex } })));
  assert.equal(ev(1).utPex, 1);
  assert.equal(ev(255).utPex, 255);
  assert.equal(ev(0).utPex, 0);
  assert.equal(ev(256).utPex, undefined);
  assert.equal(ev(-1).utPex, undefined);
});

test('a handshake sent again without ut_pex changes nothing; with ut_pex 0 nothing more is sent (BEP 10)', () => {
  const h = connected({ pex: true });
  try {
    const sendOne = () => {
      h.command({ type: 'cmd.pex', added: [{ address: '10.0.0.8:6881', flags: 0 }], dropped: [] });
      return h.sent().filter((m) => m.type === 'extended' && m.extendedId === 5).length;
    };
    h.deliver({ type: 'wire.extendedHandshake', utPex: 5 });
    assert.equal(sendOne(), 1);
    h.deliver({ type: 'wire.extendedHandshake', reqq: 100 });
    assert.equal(sendOne(), 2);
    h.deliver({ type: 'wire.extendedHandshake', utPex: 0 });
    assert.equal(sendOne(), 2);
  } finally {
    h.stop();
  }
});

test('the connection decodes a ut_pex message sent under our id, and closes on one too big', () => {
  const payload = encodeUtPex({ added: [{ address: '127.0.0.1:6881', flags: 0 }], dropped: [] });
  const item = { type: 'extended' as const, extendedId: OUR_UT_PEX_ID, payload };
  assert.deepEqual(wireEvent(item), {
    type: 'wire.pex',
    added: [{ address: '127.0.0.1:6881', flags: 0 }],
    dropped: [],
  });
  // Not dropped as redundant after another message of the same read (the machine acts on it).
  assert.equal(redundantMessage({ type: 'keepAlive' }, item), false);
  const big = pexEvent(new Uint8Array(bencode({ added: new Uint8Array(MAX_UT_PEX_PAYLOAD) })));
  assert.equal(big.type, 'wire.error');
  assert.equal((big as { code?: string }).code, 'badPexMessage');
});
