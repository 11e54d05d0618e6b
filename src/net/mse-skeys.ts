/**
 * The SKEYs a Message Stream Encryption responder answers to — every torrent's info-hash (a hybrid's
 * two, BEP 52; every torrent of a shared port) — kept as libtorrent keeps its "obfuscated hashes":
 * HASH('req2', SKEY) is computed once per SKEY, when it is added, and mapped back to the SKEY. The
 * initiator names its torrent by HASH('req2', SKEY) xor HASH('req3', S); the responder computes
 * HASH('req3', S) once for the handshake, xors it off, and looks the result up: one SHA-1 per
 * handshake, not one per torrent (trying each torrent's SKEY in turn costs two per torrent).
 *
 *   const skeys = new MseSkeys([a.infoHash, b.infoHash]);
 *   skeys.find(marker, secret); // a.infoHash, b.infoHash, or undefined (another torrent)
 */
import { sha1 } from './mse-crypto.js';

const REQ2 = Buffer.from('req2', 'latin1');
const REQ3 = Buffer.from('req3', 'latin1');

/** A 20-byte hash as a map key. */
const keyOf = (h: Uint8Array) => Buffer.from(h.buffer, h.byteOffset, h.length).toString('latin1');

export class MseSkeys {
  /** HASH('req2', SKEY) (as a key) → SKEY. */
  readonly #byReq2 = new Map<string, Uint8Array>();

  constructor(skeys: Iterable<Uint8Array> = []) {
    for (const skey of skeys) this.add(skey);
  }

  /** SKEYs answered. */
  get size(): number {
    return this.#byReq2.size;
  }

  /** Answers `skey` from now on (a torrent added to a shared port). */
  add(skey: Uint8Array): void {
    this.#byReq2.set(keyOf(sha1(REQ2, skey)), skey);
  }

  /** No longer answers `skey` (its torrent gone): a handshake naming it finds nothing. */
  delete(skey: Uint8Array): void {
    this.#byReq2.delete(keyOf(sha1(REQ2, skey)));
  }

  /**
   * The SKEY named by `marker` — the 20 bytes HASH('req2', SKEY) xor HASH('req3', S) of the
   * initiator's third message — under the shared secret `secret`; undefined when it names none of ours.
   */
  find(marker: Uint8Array, secret: Uint8Array): Uint8Array | undefined {
    const req2 = sha1(REQ3, secret);
    for (let i = 0; i < req2.length; i++) req2[i]! ^= marker[i]!;
    return this.#byReq2.get(keyOf(req2));
  }
}
