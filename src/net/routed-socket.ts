/**
 * An accepted connection whose first bytes a shared port has already read to learn which torrent it
 * names (torrent-router.ts): the plain BitTorrent handshake up to its info-hash, or the whole MSE
 * handshake up to the SKEY (MSE answers before the torrent is known, so its keys and ciphers cannot
 * be handed back as bytes). What that preface settled (`done`: encryption, ciphers, the BitTorrent
 * bytes after it, decrypted) goes with the socket to the torrent's connection (tcp-connection.ts),
 * which carries on from there instead of starting a preface of its own.
 *
 * Until the connection's `adopt` the socket is paused (a torrent still hash-checking its data may
 * take a while to adopt it; TCP then holds the peer back). A read already on its way when it was
 * routed waits here, raw (still encrypted: the connection's decrypting cipher carries on over it),
 * and goes to the connection first.
 */
import type { PrefaceDone } from './outgoing-preface.js';
import type { PeerStream } from './peer-stream.js';

export class RoutedSocket {
  readonly stream: PeerStream;
  readonly done: PrefaceDone;
  readonly #pending: Uint8Array[] = [];
  #read: (data: Uint8Array) => void;
  /** Until adopted: an error (the socket then closes) must not go unheard. */
  readonly #onError = () => {};
  #adopted = false;

  constructor(stream: PeerStream, done: PrefaceDone) {
    this.stream = stream;
    this.done = done;
    this.#read = (data) => this.#pending.push(data);
    stream.on('data', this.#read);
    stream.on('error', this.#onError);
    stream.pause();
  }

  get remoteAddress(): string | undefined {
    return this.stream.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.stream.remotePort;
  }

  /**
   * The connection takes the socket over: from now on its reads go to `onData`. Returns what came
   * since the routing (raw), to be handled before anything else; the socket stays paused until the
   * caller resumes it (after those); the caller listens for its errors and sees whether it closed
   * meanwhile (`stream.destroyed`). Once only.
   */
  adopt(onData: (data: Uint8Array) => void): Uint8Array[] {
    if (this.#adopted) throw new Error('a routed socket is adopted once'); // a bug
    this.#adopted = true;
    this.stream.off('data', this.#read);
    this.stream.off('error', this.#onError);
    this.stream.on('data', onData);
    return this.#pending.splice(0);
  }

  /** Refused before any connection took it (the torrent's machine turned it away, or is gone). */
  destroy(): void {
    this.stream.destroy();
  }
}
