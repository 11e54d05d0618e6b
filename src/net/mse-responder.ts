/**
 * The receiving side of Message Stream Encryption (MSE/PE, the obfuscated handshake of Vuze and
 * libtorrent), for incoming connections, negotiating plaintext: after the key exchange and the
 * encrypted negotiation the connection carries the ordinary BitTorrent protocol, unencrypted.
 *
 * Why (issue #8, seeding): aria2 opens every connection with MSE and, when the other side does not
 * answer it, retries with a plain handshake only on its next 1 s tick — a second lost on every
 * download from us (measured: aria2's first connection closed as a wire error, the second came
 * 1.0 s later), while libtorrent answers at once. aria2 and libtorrent offer plaintext (crypto_provide
 * 0x01) unless told to require encryption; a peer that offers only RC4 is refused (closed).
 *
 *   A → B   Ya (96 bytes), PadA (0–512)
 *   B → A   Yb, PadB
 *   A → B   HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   B → A   ENCRYPT(VC, crypto_select = plaintext, len(PadD) = 0)
 *   then    the BitTorrent protocol in plaintext (IA, when given, is its first bytes)
 *
 * S is the Diffie-Hellman secret (768-bit prime, generator 2), SKEY the info hash; ENCRYPT is RC4
 * keyed SHA1('keyA'|'keyB', S, SKEY) with its first 1024 bytes discarded. Everything buffered is
 * bounded (the spec's 512-byte pads, IA ≤ MAX_IA_BYTES): a peer cannot make us hold more.
 */
import { createDiffieHellman, createHash, type DiffieHellman, randomBytes, randomInt } from 'node:crypto';

const PRIME = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD' +
    'EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
  'hex',
);
const KEY_BYTES = 96;

/**
 * One DiffieHellman object for every connection: making one checks the prime, ~19 ms of the main
 * thread (measured), while a key pair from a private key of our own is ~0.05 ms. Each use sets its
 * connection's private key first (the calls are synchronous, so connections never interleave).
 */
let group: DiffieHellman | undefined;
function dhWith(privateKey: Uint8Array): DiffieHellman {
  group ??= createDiffieHellman(PRIME, 2);
  group.setPrivateKey(privateKey);
  return group;
}
const MAX_PAD = 512;
/** The initial payload we accept (a BitTorrent handshake is 68 bytes; aria2 sends none). */
export const MAX_IA_BYTES = 1024;
const CRYPTO_PLAINTEXT = 0x01;
const PROTOCOL = Buffer.from('\x13BitTorrent protocol', 'latin1');

export class MseError extends Error {
  override readonly name = 'MseError';
  constructor(
    readonly code:
      | 'mseBadKey'
      | 'mseNoSync'
      | 'mseWrongTorrent'
      | 'mseBadVc'
      | 'mseNoPlaintext'
      | 'mseTooLong',
    message: string,
  ) {
    super(message);
  }
}

/** The first bytes of an incoming connection: a plain BitTorrent handshake, MSE, or not yet known. */
export function handshakeKind(head: Uint8Array): 'plain' | 'mse' | 'unknown' {
  const n = Math.min(head.length, PROTOCOL.length);
  for (let i = 0; i < n; i++) if (head[i] !== PROTOCOL[i]) return 'mse';
  return n === PROTOCOL.length ? 'plain' : 'unknown';
}

/** RC4 (not in OpenSSL 3's default provider); only the handshake's few hundred bytes pass here. */
export class Rc4 {
  readonly #s = new Uint8Array(256);
  #i = 0;
  #j = 0;
  constructor(key: Uint8Array) {
    const s = this.#s;
    for (let i = 0; i < 256; i++) s[i] = i;
    for (let i = 0, j = 0; i < 256; i++) {
      j = (j + s[i]! + key[i % key.length]!) & 255;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
    }
  }
  /** `bytes` xor the next keystream bytes, as a new array. */
  apply(bytes: Uint8Array): Uint8Array {
    const s = this.#s;
    const out = new Uint8Array(bytes.length);
    let i = this.#i;
    let j = this.#j;
    for (let k = 0; k < bytes.length; k++) {
      i = (i + 1) & 255;
      j = (j + s[i]!) & 255;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
      out[k] = bytes[k]! ^ s[(s[i]! + s[j]!) & 255]!;
    }
    this.#i = i;
    this.#j = j;
    return out;
  }
}

function sha1(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

const ascii = (s: string) => Buffer.from(s, 'latin1');

/** An RC4 stream keyed SHA1(name, S, SKEY), its first 1024 bytes discarded (as the spec says). */
function cipher(name: 'keyA' | 'keyB', secret: Uint8Array, skey: Uint8Array): Rc4 {
  const rc4 = new Rc4(sha1(ascii(name), secret, skey));
  rc4.apply(new Uint8Array(1024));
  return rc4;
}

/** A big-endian number as exactly `n` bytes (DH values may have leading zeros dropped). */
function fixed(bytes: Uint8Array, n: number): Uint8Array {
  if (bytes.length === n) return bytes;
  const out = new Uint8Array(n);
  out.set(bytes.subarray(Math.max(0, bytes.length - n)), Math.max(0, n - bytes.length));
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.length).indexOf(needle, from);
}

/**
 * One incoming connection's MSE handshake. `push` the peer's bytes as they come; it returns what to
 * send back, and once negotiated, `rest`: the plaintext BitTorrent bytes that followed (IA first).
 * Throws MseError when the peer does not follow the protocol (the connection should close).
 */
export class MseResponder {
  readonly #infoHash: Uint8Array;
  /** 160 bits, as the spec (and aria2) use. */
  readonly #privateKey = randomBytes(20);
  readonly #publicKey: Uint8Array;
  #buf = new Uint8Array(0);
  #state: 'key' | 'sync' | 'pad' | 'ia' | 'done' = 'key';
  #secret: Uint8Array | undefined;
  #decrypt: Rc4 | undefined;
  /** Offset in #buf of the encrypted bytes not yet decrypted, and how many the next step needs. */
  #at = 0;
  #padC = 0;
  #ia = 0;

  constructor(infoHash: Uint8Array) {
    this.#infoHash = infoHash;
    const dh = dhWith(this.#privateKey);
    dh.generateKeys(); // with a private key set: only the public key is computed
    this.#publicKey = fixed(dh.getPublicKey(), KEY_BYTES);
  }

  push(chunk: Uint8Array): { send: Uint8Array[]; rest?: Uint8Array } {
    if (this.#state === 'done') throw new Error('the MSE handshake is over'); // a bug
    const buf = new Uint8Array(this.#buf.length + chunk.length);
    buf.set(this.#buf);
    buf.set(chunk, this.#buf.length);
    this.#buf = buf;
    const send: Uint8Array[] = [];
    if (this.#state === 'key') {
      if (buf.length < KEY_BYTES) return { send };
      let secret: Uint8Array;
      try {
        secret = fixed(dhWith(this.#privateKey).computeSecret(buf.subarray(0, KEY_BYTES)), KEY_BYTES);
      } catch (err) {
        throw new MseError('mseBadKey', `bad MSE public key: ${(err as Error).message}`);
      }
      this.#secret = secret;
      const padB = new Uint8Array(randomInt(0, 33)); // the spec allows 0–512; a little is enough
      send.push(this.#publicKey, padB);
      this.#state = 'sync';
    }
    const secret = this.#secret!;
    if (this.#state === 'sync') {
      // HASH('req1', S) after Ya and PadA (≤ 512 bytes): found within 96 + 512 + 20 bytes or never.
      const req1 = sha1(ascii('req1'), secret);
      const at = indexOf(buf, req1, KEY_BYTES);
      if (at < 0) {
        if (buf.length >= KEY_BYTES + MAX_PAD + 20)
          throw new MseError('mseNoSync', 'no MSE synchronisation hash in the first 628 bytes');
        return { send };
      }
      if (buf.length < at + 20 + 20 + 14) return { send };
      const req2 = sha1(ascii('req2'), this.#infoHash);
      const req3 = sha1(ascii('req3'), secret);
      const got = buf.subarray(at + 20, at + 40);
      for (let i = 0; i < 20; i++)
        if ((got[i]! ^ req3[i]!) !== req2[i])
          throw new MseError('mseWrongTorrent', 'the MSE handshake names another torrent');
      this.#decrypt = cipher('keyA', secret, this.#infoHash);
      const head = this.#decrypt.apply(buf.subarray(at + 40, at + 54));
      if (head.subarray(0, 8).some((b) => b !== 0))
        throw new MseError('mseBadVc', 'bad MSE verification constant');
      if ((head[11]! & CRYPTO_PLAINTEXT) === 0)
        throw new MseError('mseNoPlaintext', 'the peer offers only an encrypted stream');
      this.#padC = (head[12]! << 8) | head[13]!;
      if (this.#padC > MAX_PAD) throw new MseError('mseTooLong', `PadC of ${this.#padC} bytes`);
      this.#at = at + 54;
      this.#state = 'pad';
    }
    if (this.#state === 'pad') {
      if (buf.length < this.#at + this.#padC + 2) return { send };
      const padAndLength = this.#decrypt!.apply(buf.subarray(this.#at, this.#at + this.#padC + 2));
      this.#ia = (padAndLength[this.#padC]! << 8) | padAndLength[this.#padC + 1]!;
      if (this.#ia > MAX_IA_BYTES) throw new MseError('mseTooLong', `initial payload of ${this.#ia} bytes`);
      this.#at += this.#padC + 2;
      this.#state = 'ia';
    }
    if (buf.length < this.#at + this.#ia) return { send };
    const ia = this.#decrypt!.apply(buf.subarray(this.#at, this.#at + this.#ia));
    const after = buf.subarray(this.#at + this.#ia);
    // VC (8 zeros), crypto_select = plaintext, len(PadD) = 0.
    const select = new Uint8Array(14);
    select[11] = CRYPTO_PLAINTEXT;
    send.push(cipher('keyB', secret, this.#infoHash).apply(select));
    this.#state = 'done';
    this.#buf = new Uint8Array(0);
    const rest = new Uint8Array(ia.length + after.length);
    rest.set(ia);
    rest.set(after, ia.length);
    return { send, rest };
  }
}

/**
 * The first bytes of an accepted connection: a plain BitTorrent handshake passes through as it is,
 * anything else is taken for MSE and answered. `rest` (once known) is the BitTorrent protocol's
 * bytes; `send` is what to write back first. Throws MseError as MseResponder does.
 */
export class IncomingPreface {
  readonly #infoHash: Uint8Array;
  #head = new Uint8Array(0);
  #mse: MseResponder | undefined;

  constructor(infoHash: Uint8Array) {
    this.#infoHash = infoHash;
  }

  push(chunk: Uint8Array): { send: Uint8Array[]; rest?: Uint8Array } {
    if (this.#mse !== undefined) return this.#mse.push(chunk);
    const all = new Uint8Array(this.#head.length + chunk.length);
    all.set(this.#head);
    all.set(chunk, this.#head.length);
    const kind = handshakeKind(all);
    if (kind === 'unknown') {
      this.#head = all;
      return { send: [] };
    }
    if (kind === 'plain') return { send: [], rest: all };
    this.#mse = new MseResponder(this.#infoHash);
    return this.#mse.push(all);
  }
}
