/**
 * The receiving side of MSE: an initiator written here from the spec (as aria2 and libtorrent do it:
 * Ya + PadA, then the hashes and the encrypted VC, crypto_provide, PadC and IA) gets our key, and
 * plaintext selected; what follows the handshake comes out as the BitTorrent bytes. Peers that break
 * the protocol get a typed error, after a bounded number of bytes. Byte-level, no sockets (the
 * interop tests run real aria2 and libtorrent through it).
 */
import assert from 'node:assert/strict';
import { createDiffieHellman, createHash } from 'node:crypto';
import { test } from 'node:test';
import { IncomingPreface } from '../../../src/net/incoming-preface.js';
import { MseResponder } from '../../../src/net/mse-responder.js';
import { Rc4 } from '../../../src/net/rc4.js';

const PRIME = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD' +
    'EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
  'hex',
);
const INFO_HASH = Uint8Array.from({ length: 20 }, (_, i) => i * 7 + 1);
const sha1 = (...parts: (string | Uint8Array)[]) => {
  const h = createHash('sha1');
  for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
  return h.digest();
};
const pad96 = (b: Uint8Array) => Buffer.concat([Buffer.alloc(96 - b.length), b]);
function rc4(name: string, secret: Uint8Array, skey: Uint8Array): Rc4 {
  const r = new Rc4(sha1(name, secret, skey));
  r.apply(new Uint8Array(1024));
  return r;
}

/** An initiator: its first message, and once it has our key, its second (for `skey`, offering `provide`). */
function initiator(opts: {
  padA?: number;
  padC?: number;
  ia?: Uint8Array;
  provide?: number;
  skey?: Uint8Array;
}) {
  const dh = createDiffieHellman(PRIME, 2);
  dh.generateKeys();
  const first = Buffer.concat([pad96(dh.getPublicKey()), Buffer.alloc(opts.padA ?? 0, 0xaa)]);
  let secret: Uint8Array = new Uint8Array(0);
  const skey = opts.skey ?? INFO_HASH;
  return {
    first,
    second(yb: Uint8Array): Buffer {
      secret = pad96(dh.computeSecret(yb));
      const ia = opts.ia ?? new Uint8Array(0);
      const padC = opts.padC ?? 0;
      const clear = Buffer.alloc(8 + 4 + 2 + padC + 2);
      clear.writeUInt32BE(opts.provide ?? 0x03, 8);
      clear.writeUInt16BE(padC, 12);
      clear.writeUInt16BE(ia.length, 14 + padC);
      const enc = rc4('keyA', secret, skey);
      const req2 = sha1('req2', skey);
      const req3 = sha1('req3', secret);
      return Buffer.concat([
        sha1('req1', secret),
        req2.map((b, i) => b ^ req3[i]!),
        enc.apply(clear),
        enc.apply(ia),
      ]);
    },
    /** Our answer after Yb and PadB, decrypted: VC, crypto_select, len(PadD). */
    answer(bytes: Uint8Array): Uint8Array {
      const vc = rc4('keyB', secret, skey).apply(new Uint8Array(8));
      const at = Buffer.from(bytes).indexOf(Buffer.from(vc));
      assert.ok(at >= 96, 'the encrypted VC follows our key');
      const dec = rc4('keyB', secret, skey);
      return dec.apply(bytes.subarray(at, at + 14));
    },
  };
}

test('RC4 matches the published test vector', () => {
  const out = new Rc4(Buffer.from('Key')).apply(Buffer.from('Plaintext'));
  assert.equal(Buffer.from(out).toString('hex'), 'bbf316e8d940af0ad3');
});

test('an MSE handshake negotiates plaintext; IA and the bytes after it come out as the protocol stream', () => {
  const ia = Buffer.from('\x13BitTorrent protocol-handshake-bytes', 'latin1');
  const a = initiator({ padA: 300, padC: 17, ia });
  const b = new MseResponder(INFO_HASH);
  const r1 = b.push(a.first);
  assert.equal(r1.done, undefined);
  const reply = Buffer.concat(r1.send);
  assert.ok(reply.length >= 96 && reply.length <= 96 + 512);
  const after = Buffer.from('then plaintext messages');
  const r2 = b.push(Buffer.concat([a.second(reply.subarray(0, 96)), after]));
  const answer = a.answer(Buffer.concat([reply, ...r2.send]));
  assert.deepEqual([...answer.subarray(0, 8)], [0, 0, 0, 0, 0, 0, 0, 0], 'VC');
  assert.equal(Buffer.from(answer).readUInt32BE(8), 0x01, 'plaintext selected');
  assert.equal(Buffer.from(answer).readUInt16BE(12), 0, 'no PadD');
  assert.deepEqual(Buffer.from(r2.done!.rest), Buffer.concat([ia, after]));
});

test('bytes arriving one at a time give the same result (aria2: no IA, PadA up to 512)', () => {
  const a = initiator({ padA: 512, padC: 512 });
  const b = new IncomingPreface(INFO_HASH);
  const sent: Uint8Array[] = [];
  for (const byte of a.first) {
    const r = b.push(Uint8Array.of(byte));
    sent.push(...r.send);
    assert.equal(r.done?.rest, undefined);
  }
  const key = Buffer.concat(sent).subarray(0, 96);
  const stream = Buffer.concat([a.second(key), Buffer.from('xy')]);
  let i = 0;
  let rest: Uint8Array | undefined;
  while (rest === undefined && i < stream.length) {
    const r = b.push(stream.subarray(i, ++i));
    sent.push(...r.send);
    rest = r.done?.rest;
  }
  assert.equal(Buffer.from(a.answer(Buffer.concat(sent))).readUInt32BE(8), 0x01);
  // Done at the handshake's last byte: what follows is the BitTorrent stream, given to the decoder.
  assert.deepEqual(Buffer.concat([rest!, stream.subarray(i)]), Buffer.from('xy'));
  assert.equal(rest!.length, 0);
});

test('a plain BitTorrent handshake passes through unchanged, whatever its split', () => {
  const hs = Buffer.concat([Buffer.from('\x13BitTorrent protocol', 'latin1'), Buffer.alloc(48, 9)]);
  const p = new IncomingPreface(INFO_HASH);
  assert.deepEqual(p.push(hs.subarray(0, 5)), { send: [] });
  const r = p.push(hs.subarray(5));
  assert.deepEqual(r.send, []);
  assert.deepEqual(Buffer.from(r.done!.rest), hs);
});

test('peers that break the protocol get typed errors, never more than 628 bytes buffered unsynchronised', () => {
  const rc4Only = initiator({ provide: 0x02 });
  const b1 = new MseResponder(INFO_HASH);
  const key1 = Buffer.concat(b1.push(rc4Only.first).send).subarray(0, 96);
  assert.throws(() => b1.push(rc4Only.second(key1)), { code: 'mseNoCommonMethod' });

  const other = initiator({ skey: new Uint8Array(20) });
  const b2 = new MseResponder(INFO_HASH);
  const key2 = Buffer.concat(b2.push(other.first).send).subarray(0, 96);
  assert.throws(() => b2.push(other.second(key2)), { code: 'mseWrongTorrent' });

  const b3 = new MseResponder(INFO_HASH);
  b3.push(initiator({}).first);
  assert.doesNotThrow(() => b3.push(Buffer.alloc(511, 1)), 'PadA may be 512 bytes');
  assert.throws(() => b3.push(Buffer.alloc(21, 1)), { code: 'mseNoSync' });

  const b4 = new MseResponder(INFO_HASH);
  assert.throws(() => b4.push(Buffer.alloc(96, 0)), { code: 'mseBadKey' });
});

test('handshakes in progress at once each keep their own key (one DH group is shared)', () => {
  const pairs = [0, 1, 2].map(() => ({
    a: initiator({}),
    b: new MseResponder(INFO_HASH),
    reply: Buffer.alloc(0),
  }));
  for (const p of pairs) p.reply = Buffer.concat(p.b.push(p.a.first).send);
  for (const p of pairs.reverse()) {
    const r = p.b.push(p.a.second(p.reply.subarray(0, 96)));
    assert.equal(Buffer.from(p.a.answer(Buffer.concat([p.reply, ...r.send]))).readUInt32BE(8), 0x01);
    assert.deepEqual(r.done?.rest, new Uint8Array(0));
  }
});

test("a hybrid's responder (BEP 52: two swarms) finds the torrent by either hash as SKEY, and keys RC4 with it", () => {
  const v2 = Uint8Array.from({ length: 20 }, (_, i) => 200 - i);
  for (const skey of [INFO_HASH, v2]) {
    const a = initiator({ skey, provide: 0x02, ia: Buffer.from('\x13BitTorrent protocol', 'latin1') });
    const b = new IncomingPreface([INFO_HASH, v2], 'allowed');
    const key = Buffer.concat(b.push(a.first).send);
    const r = b.push(a.second(key.subarray(0, 96)));
    const answer = a.answer(Buffer.concat([key, ...r.send]));
    assert.equal(Buffer.from(answer).readUInt32BE(8), 0x02, 'RC4 selected, under the keys of that SKEY');
    assert.equal(r.done?.encryption, 'rc4');
    assert.deepEqual(Buffer.from(r.done!.rest).toString('latin1'), '\x13BitTorrent protocol');
  }
  const other = initiator({ skey: new Uint8Array(20) });
  const b = new MseResponder([INFO_HASH, v2]);
  const key = Buffer.concat(b.push(other.first).send).subarray(0, 96);
  assert.throws(() => b.push(other.second(key)), { code: 'mseWrongTorrent' });
});
