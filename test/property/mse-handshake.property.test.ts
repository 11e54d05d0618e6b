/**
 * Message Stream Encryption, initiator (mse-initiator.ts) against responder (incoming-preface.ts),
 * byte level: whatever the policies on each side and wherever each direction's bytes are split, both
 * sides settle on the method the policy table gives (encryption-policy.ts), the responder's stream
 * starts with the initiator's handshake (IA), and what follows goes through — RC4 both ways when
 * selected. Random bytes fed to either side end in a typed MseError or a wait, never with more
 * buffered than the spec's bounds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  cryptoProvide,
  cryptoSelect,
  ENCRYPTION_POLICIES,
  type EncryptionPolicy,
} from '../../src/net/encryption-policy.js';
import { IncomingPreface } from '../../src/net/incoming-preface.js';
import { CRYPTO_RC4, type MseResult } from '../../src/net/mse-crypto.js';
import { MseError } from '../../src/net/mse-error.js';
import { MAX_UNSYNCED_ANSWER_BYTES, MseInitiator } from '../../src/net/mse-initiator.js';
import { MAX_UNSYNCED_BYTES, MseResponder } from '../../src/net/mse-responder.js';

const INFO_HASH = Uint8Array.from({ length: 20 }, (_, i) => 200 - i);
const HANDSHAKE = Uint8Array.from({ length: 68 }, (_, i) => (i * 31 + 7) & 255);
const INITIATING = ENCRYPTION_POLICIES.filter((p) => p !== 'plaintext'); // plaintext never initiates

const concat = (parts: readonly Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

/** `bytes` in pieces cut at `cuts` (fractions of its length). */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const a of [...at, bytes.length]) {
    if (a > from) out.push(bytes.subarray(from, a));
    from = Math.max(from, a);
  }
  return out;
}

type Outcome = { a?: MseResult; b?: MseResult | { encryption: 'none'; rest: Uint8Array }; error?: MseError };

function handshake(pa: EncryptionPolicy, pb: EncryptionPolicy, cutsA: number[], cutsB: number[]): Outcome {
  const a = new MseInitiator(INFO_HASH, pa);
  const b = new IncomingPreface(INFO_HASH, pb);
  let toB = concat([a.opening(), ...a.setInitialPayload(HANDSHAKE)]);
  let toA = new Uint8Array(0);
  const out: Outcome = {};
  try {
    for (let round = 0; round < 4 && (out.a === undefined || out.b === undefined); round++) {
      const sentB: Uint8Array[] = [];
      for (const piece of split(toB, cutsA)) {
        if (out.b !== undefined) break;
        // Copied: the callee may keep only what it copied; the caller's buffer is reused (a read buffer).
        const chunk = Uint8Array.from(piece);
        const r = b.push(chunk);
        chunk.fill(0xee);
        sentB.push(...r.send);
        if (r.done) out.b = { ...r.done, rest: Uint8Array.from(r.done.rest) };
      }
      toB = new Uint8Array(0);
      toA = concat(sentB);
      const sentA: Uint8Array[] = [];
      for (const piece of split(toA, cutsB)) {
        if (out.a !== undefined) break;
        const chunk = Uint8Array.from(piece);
        const r = a.push(chunk);
        chunk.fill(0xee);
        sentA.push(...r.send);
        if (r.done) out.a = r.done;
      }
      toB = concat(sentA);
    }
  } catch (err) {
    if (!(err instanceof MseError)) throw err;
    out.error = err;
  }
  return out;
}

test('any policies, any split: both sides settle on the method of the policy table, IA and the stream go through', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...INITIATING),
      fc.constantFrom(...ENCRYPTION_POLICIES),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
      fc.uint8Array({ minLength: 0, maxLength: 300 }),
      (pa, pb, cutsA, cutsB, payload) => {
        const expected = cryptoSelect(pb, cryptoProvide(pa));
        const o = handshake(pa, pb, cutsA, cutsB);
        if (expected === undefined) {
          assert.equal(o.error?.code, 'mseNoCommonMethod', `${pa} → ${pb}`);
          return;
        }
        assert.equal(o.error, undefined, `${pa} → ${pb}: ${o.error?.message}`);
        const method = expected === CRYPTO_RC4 ? 'rc4' : 'plaintext';
        assert.equal(o.a?.encryption, method);
        assert.equal(o.b?.encryption, method);
        assert.deepEqual(o.b!.rest, HANDSHAKE, 'IA is the first BitTorrent bytes the responder reads');
        // After the handshake: A → B and B → A, encrypted by one side's stream, decrypted by the other's.
        const ab = Uint8Array.from(payload);
        o.a!.ciphers?.encrypt.applyTo(ab, ab);
        if (method === 'rc4') assert.ok(payload.length < 8 || !Buffer.from(ab).equals(Buffer.from(payload)));
        o.b!.ciphers?.decrypt.applyTo(ab, ab);
        assert.deepEqual(ab, payload);
        const ba = Uint8Array.from(payload);
        o.b!.ciphers?.encrypt.applyTo(ba, ba);
        o.a!.ciphers?.decrypt.applyTo(ba, ba);
        assert.deepEqual(ba, payload);
      },
    ),
    { numRuns: 150 },
  );
});

test('random bytes to a responder or an initiator: a typed error or a wait, never past the bounds', () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.uint8Array({ minLength: 0, maxLength: 2000 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
      (responder, garbage, cuts) => {
        const side = responder
          ? new MseResponder(INFO_HASH, 'allowed')
          : new MseInitiator(INFO_HASH, 'allowed');
        if (side instanceof MseInitiator) side.setInitialPayload(HANDSHAKE);
        const bound = responder ? MAX_UNSYNCED_BYTES : MAX_UNSYNCED_ANSWER_BYTES;
        let fed = 0;
        try {
          for (const piece of split(garbage, cuts)) {
            fed += piece.length;
            const r = side.push(Uint8Array.from(piece));
            assert.equal(r.done, undefined, 'random bytes never complete a handshake');
          }
          assert.ok(fed < bound, `${fed} bytes without a synchronisation point were accepted`);
        } catch (err) {
          if (!(err instanceof MseError)) throw err;
          assert.ok(['mseNoSync', 'mseBadKey'].includes(err.code), err.code);
        }
      },
    ),
    { numRuns: 300 },
  );
});
