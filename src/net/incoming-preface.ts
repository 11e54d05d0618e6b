/**
 * The first bytes of an accepted connection: a plain BitTorrent handshake, or Message Stream
 * Encryption (mse-responder.ts) — aria2 opens every connection with MSE, peers that require
 * encryption only ever do. A plain handshake passes through as it is (refused under `required`);
 * anything else is taken for MSE and answered as the policy says (encryption-policy.ts). The SKEY may
 * be any of several torrents' info-hashes (a hybrid's two; every torrent of a shared port).
 */
import { acceptsPlainIncoming, type EncryptionPolicy } from './encryption-policy.js';
import { concat, type MseResult } from './mse-crypto.js';
import { MseError } from './mse-error.js';
import { MseResponder } from './mse-responder.js';
import type { MseSkeys } from './mse-skeys.js';

const PROTOCOL = Buffer.from('\x13BitTorrent protocol', 'latin1');

/** The first bytes of an incoming connection: a plain BitTorrent handshake, MSE, or not yet known. */
export function handshakeKind(head: Uint8Array): 'plain' | 'mse' | 'unknown' {
  const n = Math.min(head.length, PROTOCOL.length);
  for (let i = 0; i < n; i++) if (head[i] !== PROTOCOL[i]) return 'mse';
  return n === PROTOCOL.length ? 'plain' : 'unknown';
}

/**
 * `push` the connection's bytes until it answers `done`: `done.rest` is the BitTorrent protocol's
 * bytes (decrypted), `done.encryption` what carries them (`none` for a plain handshake); `send` is
 * what to write back first. Throws MseError as MseResponder does, and `msePlainRefused` for a plain
 * handshake under `required`.
 */
export class IncomingPreface {
  readonly #infoHash: Uint8Array | readonly Uint8Array[] | MseSkeys;
  readonly #policy: EncryptionPolicy;
  #head: Uint8Array = new Uint8Array(0);
  #mse: MseResponder | undefined;

  /**
   * `infoHash`: the torrent's, or several (a hybrid's two, BEP 52), each a SKEY MSE answers; or a
   * shared port's table of them (mse-skeys.ts).
   */
  constructor(infoHash: Uint8Array | readonly Uint8Array[] | MseSkeys, policy: EncryptionPolicy = 'allowed') {
    this.#infoHash = infoHash;
    this.#policy = policy;
  }

  /**
   * The info-hash an MSE handshake named (its SKEY), once known; undefined for a plain handshake,
   * whose info-hash is in its own bytes (offset 28). A port shared by several torrents routes by it
   * (torrent-router.ts).
   */
  get infoHash(): Uint8Array | undefined {
    return this.#mse?.infoHash;
  }

  push(chunk: Uint8Array): {
    send: Uint8Array[];
    done?: MseResult | { encryption: 'none'; rest: Uint8Array; ciphers?: undefined };
  } {
    if (this.#mse !== undefined) return this.#mse.push(chunk);
    const all = this.#head.length === 0 ? chunk : concat(this.#head, chunk);
    const kind = handshakeKind(all);
    if (kind === 'unknown') {
      this.#head = new Uint8Array(all); // at most 19 bytes, copied: `chunk` may be a read buffer's view
      return { send: [] };
    }
    if (kind === 'plain') {
      if (!acceptsPlainIncoming(this.#policy))
        throw new MseError('msePlainRefused', 'a plain BitTorrent handshake, and encryption is required');
      return { send: [], done: { encryption: 'none', rest: all } };
    }
    this.#mse = new MseResponder(this.#infoHash, this.#policy);
    return this.#mse.push(all);
  }
}
