/**
 * RC4, the stream cipher of Message Stream Encryption (MSE/PE): the handshake's encrypted fields and,
 * when crypto_select is RC4 (0x02), every byte of the connection after it, both directions.
 *
 * Node 20's OpenSSL 3 leaves RC4 to its legacy provider (`crypto.getCiphers()` lists no rc4 here),
 * so it is written out. The bulk path keystreams four bytes at a time and xors them as one 32-bit
 * word where both arrays are 4-byte aligned (the read buffers and our send chunks are): measured
 * ~330 MB/s on one core here against ~200 MB/s a byte at a time (docs/encryption.md). Nothing is
 * allocated per call except the two word views.
 */
import { endianness } from 'node:os';

/** Words are assembled low byte first: right on little-endian machines only (every Node target here). */
const WORDS = endianness() === 'LE';

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

  /** `bytes` xor the next keystream bytes, as a new array (the handshake's short fields). */
  apply(bytes: Uint8Array): Uint8Array {
    const out = new Uint8Array(bytes.length);
    this.applyTo(bytes, out);
    return out;
  }

  /** Advances the keystream by `n` bytes (the spec discards the first 1024). */
  skip(n: number): void {
    const scratch = new Uint8Array(n);
    this.applyTo(scratch, scratch);
  }

  /** `src` xor the keystream into `dst` (at least as long; may be `src` itself: in place). */
  applyTo(src: Uint8Array, dst: Uint8Array): void {
    const s = this.#s;
    const n = src.length;
    let i = this.#i;
    let j = this.#j;
    let k = 0;
    if (WORDS && n >= 16 && ((src.byteOffset | dst.byteOffset) & 3) === 0) {
      const words = n >>> 2;
      const from = new Uint32Array(src.buffer, src.byteOffset, words);
      const to = new Uint32Array(dst.buffer, dst.byteOffset, words);
      for (let w = 0; w < words; w++) {
        i = (i + 1) & 255;
        let si = s[i]!;
        j = (j + si) & 255;
        let sj = s[j]!;
        s[i] = sj;
        s[j] = si;
        let ks = s[(si + sj) & 255]!;
        i = (i + 1) & 255;
        si = s[i]!;
        j = (j + si) & 255;
        sj = s[j]!;
        s[i] = sj;
        s[j] = si;
        ks |= s[(si + sj) & 255]! << 8;
        i = (i + 1) & 255;
        si = s[i]!;
        j = (j + si) & 255;
        sj = s[j]!;
        s[i] = sj;
        s[j] = si;
        ks |= s[(si + sj) & 255]! << 16;
        i = (i + 1) & 255;
        si = s[i]!;
        j = (j + si) & 255;
        sj = s[j]!;
        s[i] = sj;
        s[j] = si;
        ks |= s[(si + sj) & 255]! << 24;
        to[w] = from[w]! ^ ks;
      }
      k = words << 2;
    }
    for (; k < n; k++) {
      i = (i + 1) & 255;
      const si = s[i]!;
      j = (j + si) & 255;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      dst[k] = src[k]! ^ s[(si + sj) & 255]!;
    }
    this.#i = i;
    this.#j = j;
  }
}
