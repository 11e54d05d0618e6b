/**
 * What Message Stream Encryption derives from the DH secret S and SKEY (the info hash), and its
 * constants. The spec (Vuze/libtorrent "MSE/PE"):
 *
 *   HASH('req1', S)                      the initiator's synchronisation marker
 *   HASH('req2', SKEY) xor HASH('req3', S)  which torrent, without naming it
 *   keyA = HASH('keyA', S, SKEY)         RC4 key of what the initiator (A) sends
 *   keyB = HASH('keyB', S, SKEY)         RC4 key of what the responder (B) sends
 *
 * Each RC4 stream discards its first 1024 bytes. The handshake's own fields (VC, crypto_provide /
 * crypto_select, the pads' lengths, IA) are always RC4; crypto_select decides the rest.
 */
import { createHash } from 'node:crypto';
import { Rc4 } from './rc4.js';

/** A pad (PadA … PadD) is 0–512 bytes. */
export const MAX_PAD = 512;
/** crypto_provide / crypto_select bits. */
export const CRYPTO_PLAINTEXT = 0x01;
export const CRYPTO_RC4 = 0x02;
/** The verification constant: 8 zero bytes, encrypted. */
export const VC_BYTES = 8;
/** VC, crypto_provide (or _select) u32, len(PadC) (or PadD) u16. */
export const NEGOTIATION_BYTES = VC_BYTES + 4 + 2;
/** The initial payload we accept (a BitTorrent handshake is 68 bytes; aria2 sends none). */
export const MAX_IA_BYTES = 1024;

export function sha1(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

const ascii = (s: string) => Buffer.from(s, 'latin1');

/** HASH('req1', S). */
export function req1(secret: Uint8Array): Buffer {
  return sha1(ascii('req1'), secret);
}

/** HASH('req2', SKEY) xor HASH('req3', S). */
export function torrentMarker(secret: Uint8Array, skey: Uint8Array): Buffer {
  const out = sha1(ascii('req2'), skey);
  const req3 = sha1(ascii('req3'), secret);
  for (let i = 0; i < out.length; i++) out[i]! ^= req3[i]!;
  return out;
}

/** The RC4 stream keyed HASH(name, S, SKEY), its first 1024 bytes discarded. */
export function mseCipher(name: 'keyA' | 'keyB', secret: Uint8Array, skey: Uint8Array): Rc4 {
  const rc4 = new Rc4(sha1(ascii(name), secret, skey));
  rc4.skip(1024);
  return rc4;
}

/** The ciphers that carry on after the handshake, when crypto_select is RC4. */
export interface StreamCiphers {
  /** Applied to every byte we send from here on. */
  readonly encrypt: Rc4;
  /** Applied to every byte we receive from here on. */
  readonly decrypt: Rc4;
}

/** What came out of a finished MSE handshake. */
export interface MseResult {
  /** 'rc4': the stream is RC4 both ways (`ciphers`); 'plaintext': only the handshake was. */
  readonly encryption: 'rc4' | 'plaintext';
  readonly ciphers?: StreamCiphers;
  /** The BitTorrent bytes that followed the handshake, already decrypted (IA first, responder side). */
  readonly rest: Uint8Array;
}

/** A u16 / u32 big-endian from `b` at `at`. */
export const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
export const u32 = (b: Uint8Array, at: number): number =>
  ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/** `a` then `b` in one new array. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
