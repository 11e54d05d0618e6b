/**
 * The initiating side (A) of Message Stream Encryption, for outgoing connections (the responder,
 * mse-responder.ts, draws the exchange). A sends Ya and PadA at once; once Yb has come and our own
 * BitTorrent handshake is known (IA: it rides in the third message, so the peer has it half a round
 * trip sooner), A sends
 *
 *   HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *   ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *
 * and then finds ENCRYPT(VC) after Yb and PadB (≤ 512 bytes: the responder's synchronisation), reads
 * crypto_select and PadD, and is done: `done.rest` holds the BitTorrent bytes that followed,
 * decrypted, and with RC4 selected `done.ciphers` carry both streams on. Every buffer is bounded by
 * the spec's pads; a peer that breaks the protocol gets a typed MseError.
 */
import { randomInt } from 'node:crypto';
import { acceptsSelect, cryptoProvide, type EncryptionPolicy } from './encryption-policy.js';
import {
  CRYPTO_RC4,
  concat,
  MAX_IA_BYTES,
  MAX_PAD,
  type MseResult,
  mseCipher,
  NEGOTIATION_BYTES,
  req1,
  torrentMarker,
  u16,
  u32,
  VC_BYTES,
} from './mse-crypto.js';
import { MseError } from './mse-error.js';
import { MSE_KEY_BYTES, MseKeyPair } from './mse-keys.js';
import type { Rc4 } from './rc4.js';

/** ENCRYPT(VC) must start within Yb and PadB: 96 + 512 + 8 bytes or never. */
export const MAX_UNSYNCED_ANSWER_BYTES = MSE_KEY_BYTES + MAX_PAD + VC_BYTES;
/** The pads we send are short: the spec allows 512, and only obfuscation asks for any. */
const OUR_MAX_PAD = 32;

type Step = { send: Uint8Array[]; done?: MseResult };

export class MseInitiator {
  readonly #infoHash: Uint8Array;
  readonly #policy: EncryptionPolicy;
  readonly #keys = new MseKeyPair();
  #buf: Uint8Array = new Uint8Array(0);
  #state: 'key' | 'sync' | 'pad' | 'done' = 'key';
  #secret: Uint8Array | undefined;
  #ia: Uint8Array | undefined;
  #sent = false;
  #encrypt: Rc4 | undefined;
  #decrypt: Rc4 | undefined;
  /** ENCRYPT(VC) as the responder sends it: the keyB stream's first 8 bytes. */
  #vcMark: Uint8Array | undefined;
  #select = 0;
  #padD = 0;

  constructor(infoHash: Uint8Array, policy: EncryptionPolicy) {
    this.#infoHash = infoHash;
    this.#policy = policy;
  }

  /** Ya and PadA: the first bytes of the connection. */
  opening(): Uint8Array {
    return concat(this.#keys.publicKey, new Uint8Array(randomInt(0, OUR_MAX_PAD + 1)));
  }

  /** Our BitTorrent handshake, sent as IA; returns the third message if Yb is already here. */
  setInitialPayload(ia: Uint8Array): Uint8Array[] {
    if (ia.length > MAX_IA_BYTES) throw new Error(`an initial payload of ${ia.length} bytes`); // a bug
    this.#ia = ia;
    return this.#third();
  }

  push(chunk: Uint8Array): Step {
    if (this.#state === 'done') throw new Error('the MSE handshake is over'); // a bug
    const buf = this.#buf.length === 0 ? chunk : concat(this.#buf, chunk);
    this.#buf = buf;
    const send: Uint8Array[] = [];
    if (this.#state === 'key') {
      if (buf.length < MSE_KEY_BYTES) return this.#keep(chunk, send);
      const secret = this.#keys.secret(buf);
      this.#secret = secret;
      this.#encrypt = mseCipher('keyA', secret, this.#infoHash);
      this.#decrypt = mseCipher('keyB', secret, this.#infoHash);
      this.#vcMark = mseCipher('keyB', secret, this.#infoHash).apply(new Uint8Array(VC_BYTES));
      this.#state = 'sync';
      send.push(...this.#third());
    }
    if (this.#state === 'sync') {
      const at = Buffer.from(buf.buffer, buf.byteOffset, buf.length).indexOf(this.#vcMark!, MSE_KEY_BYTES);
      if (at < 0) {
        if (buf.length >= MAX_UNSYNCED_ANSWER_BYTES)
          throw new MseError(
            'mseNoSync',
            `no encrypted MSE VC in the first ${MAX_UNSYNCED_ANSWER_BYTES} bytes`,
          );
        return this.#keep(chunk, send);
      }
      if (buf.length < at + NEGOTIATION_BYTES) return this.#keep(chunk, send);
      const head = this.#decrypt!.apply(buf.subarray(at, at + NEGOTIATION_BYTES));
      const select = u32(head, VC_BYTES);
      if (!acceptsSelect(this.#policy, select))
        throw new MseError(
          'mseNoCommonMethod',
          `the peer selected crypto 0x${select.toString(16)}, not one encryption ${this.#policy} offered`,
        );
      this.#select = select;
      this.#padD = u16(head, VC_BYTES + 4);
      if (this.#padD > MAX_PAD) throw new MseError('mseTooLong', `PadD of ${this.#padD} bytes`);
      this.#buf = buf.subarray(at + NEGOTIATION_BYTES);
      this.#state = 'pad';
    }
    const rest = this.#buf;
    if (rest.length < this.#padD) return this.#keep(chunk, send);
    const decrypt = this.#decrypt!;
    decrypt.skip(this.#padD);
    const after = rest.subarray(this.#padD);
    // Copied (it may be a view of a read buffer); with RC4 decrypted as it is copied.
    const out = new Uint8Array(after.length);
    if (this.#select === CRYPTO_RC4) decrypt.applyTo(after, out);
    else out.set(after);
    this.#state = 'done';
    this.#buf = new Uint8Array(0);
    return {
      send,
      done:
        this.#select === CRYPTO_RC4
          ? { encryption: 'rc4', ciphers: { encrypt: this.#encrypt!, decrypt }, rest: out }
          : { encryption: 'plaintext', rest: out },
    };
  }

  /** The third message, once: when both Yb (the secret) and IA are known. */
  #third(): Uint8Array[] {
    const secret = this.#secret;
    const ia = this.#ia;
    if (this.#sent || secret === undefined || ia === undefined) return [];
    this.#sent = true;
    const padC = randomInt(0, OUR_MAX_PAD + 1);
    const clear = new Uint8Array(NEGOTIATION_BYTES + padC + 2 + ia.length);
    const provide = cryptoProvide(this.#policy);
    clear[VC_BYTES + 3] = provide; // crypto_provide, u32 big-endian (< 256)
    clear[VC_BYTES + 4] = padC >> 8;
    clear[VC_BYTES + 5] = padC & 255;
    const at = NEGOTIATION_BYTES + padC;
    clear[at] = ia.length >> 8;
    clear[at + 1] = ia.length & 255;
    clear.set(ia, at + 2);
    this.#encrypt!.applyTo(clear, clear);
    return [req1(secret), torrentMarker(secret, this.#infoHash), clear];
  }

  /** Not done yet: what arrived is kept (copied when it is the caller's chunk: maybe a read buffer's view). */
  #keep(chunk: Uint8Array, send: Uint8Array[]): Step {
    if (this.#buf === chunk || this.#buf.buffer === chunk.buffer) this.#buf = new Uint8Array(this.#buf);
    return { send };
  }
}
