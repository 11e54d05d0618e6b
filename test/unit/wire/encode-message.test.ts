import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodedLength,
  encodeHandshake,
  encodeInto,
  encodeMessage,
  encodePieceHeader,
  encodePieceHeaderInto,
  encodeRequests,
  encodeRequestsInto,
} from '../../../src/wire/encode-message.js';
import type { WireItem, WireMessage } from '../../../src/wire/messages.js';
import { hex, toHex } from './wire-test-helpers.js';

// Each row: a message and its bytes written by hand from BEP 3 / 5 / 6 / 10.
const cases: [WireMessage, string][] = [
  [{ type: 'keepAlive' }, '00000000'],
  [{ type: 'choke' }, '00000001 00'],
  [{ type: 'unchoke' }, '00000001 01'],
  [{ type: 'interested' }, '00000001 02'],
  [{ type: 'notInterested' }, '00000001 03'],
  [{ type: 'have', index: 0x01020304 }, '00000005 04 01020304'],
  [{ type: 'bitfield', bitfield: hex('ff80') }, '00000003 05 ff80'],
  [{ type: 'request', index: 1, begin: 0x4000, length: 0x4000 }, '0000000d 06 00000001 00004000 00004000'],
  [{ type: 'piece', index: 2, begin: 0x8000, block: hex('cafe') }, '0000000b 07 00000002 00008000 cafe'],
  [{ type: 'cancel', index: 3, begin: 0, length: 0x4000 }, '0000000d 08 00000003 00000000 00004000'],
  [{ type: 'port', port: 6881 }, '00000003 09 1ae1'],
  [{ type: 'suggest', index: 0xffffffff }, '00000005 0d ffffffff'],
  [{ type: 'haveAll' }, '00000001 0e'],
  [{ type: 'haveNone' }, '00000001 0f'],
  [{ type: 'reject', index: 4, begin: 0x4000, length: 0x2000 }, '0000000d 10 00000004 00004000 00002000'],
  [{ type: 'allowedFast', index: 5 }, '00000005 11 00000005'],
  [{ type: 'extended', extendedId: 0, payload: hex('6465') }, '00000004 14 00 6465'],
  [{ type: 'extended', extendedId: 3, payload: new Uint8Array(0) }, '00000002 14 03'],
  [{ type: 'unknown', id: 0x63, payload: hex('01') }, '00000002 63 01'],
];

describe('encodeMessage', () => {
  for (const [msg, bytes] of cases) {
    it(`encodes ${msg.type} as ${bytes}`, () => {
      assert.equal(toHex(encodeMessage(msg)), toHex(hex(bytes)));
    });
  }

  it('returns a fresh buffer each call (the caller may keep it)', () => {
    const a = encodeMessage({ type: 'choke' });
    a[4] = 9;
    assert.equal(toHex(encodeMessage({ type: 'choke' })), '0000000100');
  });

  it('rejects values that do not fit the wire (a bug in our own code)', () => {
    assert.throws(() => encodeMessage({ type: 'have', index: -1 }), RangeError);
    assert.throws(() => encodeMessage({ type: 'have', index: 2 ** 32 }), RangeError);
    assert.throws(() => encodeMessage({ type: 'request', index: 0, begin: 1.5, length: 1 }), RangeError);
    assert.throws(() => encodeMessage({ type: 'port', port: 65536 }), RangeError);
    assert.throws(() => encodeMessage({ type: 'extended', extendedId: 256, payload: hex('') }), RangeError);
    assert.throws(() => encodeMessage({ type: 'unknown', id: 7, payload: hex('') }), RangeError);
  });
});

describe('encodePieceHeader', () => {
  it('is the 13 bytes before the block of a piece message', () => {
    assert.equal(toHex(encodePieceHeader(2, 0x8000, 0x4000)), toHex(hex('00004009 07 00000002 00008000')));
    const block = hex('00112233');
    const whole = encodeMessage({ type: 'piece', index: 7, begin: 16, block });
    assert.equal(toHex(encodePieceHeader(7, 16, block.length)) + toHex(block), toHex(whole));
  });

  it('refuses a value past 32 bits before writing, the length prefix of a block past 2^32 - 10 bytes included', () => {
    const out = new Uint8Array(20).fill(0xee);
    assert.throws(() => encodePieceHeaderInto(out, 3, 2 ** 32, 0, 16384), RangeError);
    assert.throws(() => encodePieceHeaderInto(out, 3, 0, -1, 16384), RangeError);
    // 9 + 0xfffffff7 is 2^32: written as 32 bits it would be a length prefix of 0, a keep-alive.
    assert.throws(() => encodePieceHeaderInto(out, 3, 0, 0, 0xfffffff7), RangeError);
    assert.throws(() => encodePieceHeader(0, 0, 0xfffffff7), RangeError);
    assert.ok(out.every((b) => b === 0xee));
    assert.equal(encodePieceHeaderInto(out, 3, 0, 0, 0xfffffff6), 16);
    assert.equal(toHex(out.subarray(3, 16)), 'ffffffff07' + '00'.repeat(8));
  });
});

describe('encodeHandshake', () => {
  it('lays out pstrlen, pstr, reserved, info-hash and peer id (BEP 3)', () => {
    const reserved = hex('0000000000100005'); // BEP 10 (byte 5 0x10), BEP 6 (byte 7 0x04), DHT (byte 7 0x01)
    const infoHash = new Uint8Array(20).fill(0xaa);
    const peerId = new TextEncoder().encode('-BS0001-abcdefghijkl');
    const bytes = encodeHandshake({ reserved, infoHash, peerId });
    assert.equal(
      toHex(bytes),
      '13' +
        toHex(new TextEncoder().encode('BitTorrent protocol')) +
        '0000000000100005' +
        'aa'.repeat(20) +
        toHex(peerId),
    );
    assert.equal(bytes.length, 68);
  });

  it('rejects fields of the wrong size', () => {
    const ok = new Uint8Array(20);
    assert.throws(
      () => encodeHandshake({ reserved: new Uint8Array(7), infoHash: ok, peerId: ok }),
      RangeError,
    );
    assert.throws(
      () => encodeHandshake({ reserved: new Uint8Array(8), infoHash: new Uint8Array(32), peerId: ok }),
      RangeError,
    );
  });
});

describe('encodeRequests', () => {
  it('is the request messages of the blocks, back to back', () => {
    const blocks = [
      { index: 0, begin: 0, length: 16384 },
      { index: 7, begin: 16384, length: 100 },
      { index: 0xffffffff, begin: 0x7fffffff, length: 1 },
    ];
    const one = blocks.map((b) => encodeMessage({ type: 'request', ...b }));
    assert.deepEqual(encodeRequests(blocks), Uint8Array.from(one.flatMap((m) => [...m])));
    assert.equal(encodeRequests([]).length, 0);
  });

  it('refuses a field past 32 bits, as encodeMessage does', () => {
    assert.throws(() => encodeRequests([{ index: 2 ** 32, begin: 0, length: 1 }]), RangeError);
    assert.throws(() => encodeMessage({ type: 'request', index: 2 ** 32, begin: 0, length: 1 }), RangeError);
  });
});

describe('encodeInto', () => {
  it('packs messages back to back into one buffer, each as encodeMessage writes it', () => {
    const handshake: WireItem = {
      type: 'handshake',
      reserved: new Uint8Array(8),
      infoHash: new Uint8Array(20).fill(1),
      peerId: new Uint8Array(20).fill(2),
    };
    const items: WireItem[] = [handshake, ...cases.map(([msg]) => msg)];
    const total = items.reduce((n, m) => n + encodedLength(m), 0);
    const out = new Uint8Array(total + 3).fill(0xee);
    let at = 3;
    for (const m of items) {
      const end = encodeInto(m, out, at);
      assert.equal(end - at, encodedLength(m), `${m.type}: its length`);
      at = end;
    }
    const expected = [encodeHandshake(handshake), ...cases.map(([msg]) => encodeMessage(msg))].flatMap(
      (b) => [...b],
    );
    assert.equal(toHex(out.subarray(3)), toHex(Uint8Array.from(expected)));
    assert.equal(toHex(out.subarray(0, 3)), 'eeeeee', 'nothing written before `at`');
  });

  it('checks every value before writing a byte (a refused message leaves the buffer as it was)', () => {
    const out = new Uint8Array(32).fill(0xee);
    for (const bad of [
      { type: 'have', index: -1 },
      { type: 'reject', index: 0, begin: 0, length: 2 ** 32 },
      { type: 'port', port: 70000 },
      { type: 'extended', extendedId: 300, payload: new Uint8Array(1) },
      { type: 'unknown', id: 4, payload: new Uint8Array(1) },
    ] as WireItem[])
      assert.throws(() => encodeInto(bad, out, 0), RangeError, bad.type);
    assert.equal(toHex(out), 'ee'.repeat(32));
  });

  it('writes a range of request messages (encodeRequestsInto)', () => {
    const blocks = [
      { index: 1, begin: 0, length: 16384 },
      { index: 2, begin: 16384, length: 16384 },
      { index: 3, begin: 32768, length: 5 },
    ];
    const out = new Uint8Array(2 + 34);
    assert.equal(encodeRequestsInto(blocks, 1, 3, out, 2), 36);
    assert.equal(toHex(out.subarray(2)), toHex(encodeRequests(blocks.slice(1))));
  });
});
