/**
 * The receiving side (B) of Message Stream Encryption (MSE/PE, the obfuscated handshake of Vuze and
 * libtorrent), for incoming connections. After the key exchange and the encrypted negotiation the
 * connection carries the BitTorrent protocol in plaintext or RC4, as the policy selects from the
 * peer's offer (encryption-policy.ts: `cryptoSelect`).
 *
 * Why answer at all (issue #8, seeding): aria2 opens every connection with MSE and, when the other
 * side does not answer it, retries with a plain handshake only on its next 1 s tick; and peers set
 * to require encryption (libtorrent pe_forced, Transmission `encryption: 2`) never send anything else.
 *
 *   A → B   Ya (96 bytes), PadA (0–512)
 *   B → A   Yb, PadB
 *   A → B   HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   B → A   ENCRYPT(VC, crypto_select, len(PadD) = 0)
 *   then    the BitTorrent protocol, RC4 (keyA from A, keyB from B, both streams carried on from the
 *           handshake) or plaintext; IA, when given, is its first bytes
 *
 * Everything buffered is bounded (the spec's 512-byte pads, IA ≤ MAX_IA_BYTES): a peer cannot make
 * us hold more than one read beyond them.
 */
import { randomInt } from 'node:crypto';
import type { EncryptionPolicy } from './encryption-policy.js';
import { cryptoSelect } from './encryption-policy.js';
import {
  CRYPTO_RC4,
  concat,
  MAX_IA_BYTES,
  MAX_PAD,
  type MseResult,
  mseCipher,
  NEGOTIATION_BYTES,
  req1,
  u16,
  u32,
} from './mse-crypto.js';
import { MseError } from './mse-error.js';
import { MSE_KEY_BYTES, MseKeyPair } from './mse-keys.js';
import { MseSkeys } from './mse-skeys.js';
import type { Rc4 } from './rc4.js';

export { MAX_IA_BYTES } from './mse-crypto.js';
export { MseError } from './mse-error.js';

/** HASH('req1', S) must start within Ya and PadA (≤ 512 bytes): 96 + 512 + 20 bytes or never. */
export const MAX_UNSYNCED_BYTES = MSE_KEY_BYTES + MAX_PAD + 20;

/**
 * One incoming connection's MSE handshake. `push` the peer's bytes as they come; it returns what to
 * send back, and once negotiated, `done`: the encryption selected, the stream ciphers (RC4) and the
 * BitTorrent bytes that followed (IA first), decrypted. Throws MseError when the peer does not follow
 * the protocol or offers nothing the policy allows (the connection should close).
 */
export class MseResponder {
  /** The SKEYs we answer: the torrent's info-hashes (a hybrid's two swarms: BEP 52), or a shared port's. */
  readonly #skeys: MseSkeys;
  /** The one the initiator named, once found: the stream's keys are derived from it. */
  #infoHash: Uint8Array | undefined;
  readonly #policy: EncryptionPolicy;
  readonly #keys = new MseKeyPair();
  #buf: Uint8Array = new Uint8Array(0);
  #state: 'key' | 'sync' | 'pad' | 'ia' | 'done' = 'key';
  #secret: Uint8Array | undefined;
  #decrypt: Rc4 | undefined;
  #select = 0;
  /** Offset in #buf of the encrypted bytes not yet decrypted, and how many the next step needs. */
  #at = 0;
  #padC = 0;
  #ia = 0;

  /**
   * `infoHash`: the torrent's, or a hybrid's two (either may be the initiator's SKEY), or the table
   * of a port shared by several torrents (mse-skeys.ts: kept once for every handshake).
   */
  constructor(
    infoHash: Uint8Array | readonly Uint8Array[] | MseSkeys,
    policy: EncryptionPolicy = 'plaintext',
  ) {
    this.#skeys =
      infoHash instanceof MseSkeys
        ? infoHash
        : new MseSkeys(infoHash instanceof Uint8Array ? [infoHash] : infoHash);
    this.#policy = policy;
  }

  /** The info-hash the initiator's SKEY named, once its synchronisation hash has come (else undefined). */
  get infoHash(): Uint8Array | undefined {
    return this.#infoHash;
  }

  push(chunk: Uint8Array): { send: Uint8Array[]; done?: MseResult } {
    if (this.#state === 'done') throw new Error('the MSE handshake is over'); // a bug
    const buf = this.#buf.length === 0 ? chunk : concat(this.#buf, chunk);
    this.#buf = buf;
    const send: Uint8Array[] = [];
    if (this.#state === 'key') {
      if (buf.length < MSE_KEY_BYTES) return this.#keep(chunk, send);
      this.#secret = this.#keys.secret(buf);
      const padB = new Uint8Array(randomInt(0, 33)); // the spec allows 0–512; a little is enough
      send.push(this.#keys.publicKey, padB);
      this.#state = 'sync';
    }
    const secret = this.#secret!;
    if (this.#state === 'sync') {
      const at = Buffer.from(buf.buffer, buf.byteOffset, buf.length).indexOf(req1(secret), MSE_KEY_BYTES);
      if (at < 0) {
        if (buf.length >= MAX_UNSYNCED_BYTES)
          throw new MseError(
            'mseNoSync',
            `no MSE synchronisation hash in the first ${MAX_UNSYNCED_BYTES} bytes`,
          );
        return this.#keep(chunk, send);
      }
      if (buf.length < at + 40 + NEGOTIATION_BYTES) return this.#keep(chunk, send);
      // HASH('req2', SKEY) xor HASH('req3', S): one SHA-1 here, the SKEYs' own hashes kept.
      const infoHash = this.#skeys.find(buf.subarray(at + 20, at + 40), secret);
      if (infoHash === undefined)
        throw new MseError('mseWrongTorrent', 'the MSE handshake names another torrent');
      this.#infoHash = infoHash;
      this.#decrypt = mseCipher('keyA', secret, infoHash);
      const head = this.#decrypt.apply(buf.subarray(at + 40, at + 40 + NEGOTIATION_BYTES));
      if (head.subarray(0, 8).some((b) => b !== 0))
        throw new MseError('mseBadVc', 'bad MSE verification constant');
      const provide = u32(head, 8);
      const select = cryptoSelect(this.#policy, provide);
      if (select === undefined)
        throw new MseError(
          'mseNoCommonMethod',
          `the peer offers crypto_provide 0x${provide.toString(16)}, which encryption ${this.#policy} refuses`,
        );
      this.#select = select;
      this.#padC = u16(head, 12);
      if (this.#padC > MAX_PAD) throw new MseError('mseTooLong', `PadC of ${this.#padC} bytes`);
      this.#at = at + 40 + NEGOTIATION_BYTES;
      this.#state = 'pad';
    }
    if (this.#state === 'pad') {
      if (buf.length < this.#at + this.#padC + 2) return this.#keep(chunk, send);
      const padAndLength = this.#decrypt!.apply(buf.subarray(this.#at, this.#at + this.#padC + 2));
      this.#ia = u16(padAndLength, this.#padC);
      if (this.#ia > MAX_IA_BYTES) throw new MseError('mseTooLong', `initial payload of ${this.#ia} bytes`);
      this.#at += this.#padC + 2;
      this.#state = 'ia';
    }
    if (buf.length < this.#at + this.#ia) return this.#keep(chunk, send);
    const decrypt = this.#decrypt!;
    const ia = decrypt.apply(buf.subarray(this.#at, this.#at + this.#ia));
    // What follows IA is the stream itself: RC4 carried on from IA's, or plaintext (copied: it may
    // be a view of a read buffer that is overwritten after this call).
    const after = buf.subarray(this.#at + this.#ia);
    const rest = new Uint8Array(ia.length + after.length);
    rest.set(ia);
    if (this.#select === CRYPTO_RC4) decrypt.applyTo(after, rest.subarray(ia.length));
    else rest.set(after, ia.length);
    // VC (8 zeros), crypto_select, len(PadD) = 0.
    const answer = new Uint8Array(NEGOTIATION_BYTES);
    answer[11] = this.#select;
    const encrypt = mseCipher('keyB', secret, this.#infoHash!);
    send.push(encrypt.apply(answer));
    this.#state = 'done';
    this.#buf = new Uint8Array(0);
    return {
      send,
      done:
        this.#select === CRYPTO_RC4
          ? { encryption: 'rc4', ciphers: { encrypt, decrypt }, rest }
          : { encryption: 'plaintext', rest },
    };
  }

  /** Not done yet: what arrived is kept (copied: `chunk` may be a view of a read buffer). */
  #keep(chunk: Uint8Array, send: Uint8Array[]): { send: Uint8Array[] } {
    if (this.#buf === chunk) this.#buf = new Uint8Array(chunk); // not chunk.slice(): a Buffer's is a view
    return { send };
  }
}
