/**
 * One listening port for several torrents, as transmission-daemon, qBittorrent and rtorrent serve a
 * library of them: every accepted connection, TCP or uTP, goes to the torrent its handshake names —
 * the info-hash of a plain BitTorrent handshake (BEP 3: bytes 28–47), or the SKEY of Message Stream
 * Encryption, answered here against every torrent's info-hashes (a hybrid's two, BEP 52), since MSE
 * must answer before the peer says which torrent it wants: their HASH('req2', SKEY) kept in one
 * table (mse-skeys.ts), so a handshake costs one SHA-1 to find its torrent however many share the port. A connection that names no torrent of
 * ours is closed, as a single torrent's session closes a handshake for another torrent; so is one
 * that has not named one in ROUTE_TIMEOUT_MS.
 *
 * Each torrent gets a Listener of its own (listen.ts) from `add`: the shared port, and the
 * connections routed to it, as RoutedSocket (routed-socket.ts: the preface done, the socket paused
 * until its connection adopts it). Closing that listener stops the routing to that torrent only.
 * A magnet link's route starts with the link's info-hashes and may take the torrent's second one
 * (`also`) once its metadata is known.
 *
 * `maxConnections` caps every connection open through the router at once, as Transmission's
 * `peer-limit-global` and libtorrent's `connections_limit`: whether its handshake is awaited, it
 * waits for its torrent, or its torrent has it. Each is counted from its acceptance until its
 * socket's 'close' (whoever closes it: the router, a torrent's listener, its peer connection, or
 * the peer); past the cap a newcomer is closed at accept, before any handshake work, so sockets
 * (file descriptors) stay bounded however many torrents share the port.
 */
import { Observable } from 'rxjs/internal/Observable';
import type { EncryptionPolicy } from './encryption-policy.js';
import { IncomingPreface } from './incoming-preface.js';
import type { Listener } from './listen.js';
import { concat } from './mse-crypto.js';
import { MseError } from './mse-error.js';
import { MseSkeys } from './mse-skeys.js';
import type { PrefaceDone } from './outgoing-preface.js';
import type { PeerStream } from './peer-stream.js';
import { RoutedSocket } from './routed-socket.js';

/** A connection that has not named a torrent by then is closed (the peer machine's handshake timeout). */
export const ROUTE_TIMEOUT_MS = 20_000;
/** Connections whose handshake is awaited at once; past it a new one is closed at once. */
export const MAX_ROUTING = 256;
/** Routed connections a torrent has not yet taken (it is still checking its data); past it, closed. */
export const MAX_WAITING = 64;
/** A plain handshake's bytes up to the end of its info-hash: pstrlen, pstr, reserved, info_hash. */
const PLAIN_INFO_HASH_END = 48;

class Route {
  readonly waiting: RoutedSocket[] = [];
  take: ((s: RoutedSocket) => void) | undefined;

  offer(s: RoutedSocket): void {
    if (this.take !== undefined) this.take(s);
    else if (this.waiting.length < MAX_WAITING) {
      this.waiting.push(s);
      // One that goes away while it waits gives its place back (peers retry: their closed
      // connections must not fill the places and turn the next ones away).
      s.stream.once('close', () => {
        const i = this.waiting.indexOf(s);
        if (i >= 0) this.waiting.splice(i, 1);
      });
    } else s.destroy();
  }
}

/** A torrent's share of the port: a Listener of the connections routed to it. */
export interface TorrentRoute extends Listener<RoutedSocket> {
  /**
   * Connections naming these info-hashes come here too: a magnet link's torrent, whose metadata
   * shows it a hybrid (BEP 52) with a second hash. False, and nothing added, when one of them is
   * another torrent's.
   */
  also(infoHashes: readonly Uint8Array[]): boolean;
}

const hex = (h: Uint8Array) => Buffer.from(h.buffer, h.byteOffset, h.length).toString('hex');

export class TorrentRouter {
  readonly #port: number;
  readonly #host: string;
  readonly #policy: EncryptionPolicy | undefined;
  /** Each info-hash (hex) we answer → its torrent's route; a hybrid's two name the same one. */
  readonly #routes = new Map<string, Route>();
  /** Every torrent's info-hashes, each an SKEY MSE answers, their HASH('req2', SKEY) kept (mse-skeys.ts). */
  readonly #skeys = new MseSkeys();
  readonly #routing = new Set<PeerStream>();
  /** Connections open through the router: accepted and not yet closed, wherever they are now. */
  #open = 0;
  readonly #maxConnections: number;
  /** close() was called: a connection accepted after it (a uTP SYN before the UDP socket closes) is closed at once. */
  #closed = false;

  /**
   * `port`, `host`: the shared listener's; `encryption`: the policy every torrent is served under;
   * `maxConnections`: the connections open through the router at once (default: no cap).
   */
  constructor(opts: {
    readonly port: number;
    readonly host: string;
    readonly encryption?: EncryptionPolicy;
    readonly maxConnections?: number;
  }) {
    this.#port = opts.port;
    this.#host = opts.host;
    this.#policy = opts.encryption;
    this.#maxConnections = opts.maxConnections ?? Number.POSITIVE_INFINITY;
  }

  /** Connections open through the router now (routing, waiting for their torrent, or their torrent's). */
  get open(): number {
    return this.#open;
  }

  /** Connections naming any of `infoHashes` (a torrent's, or a hybrid's two) go to the route returned. */
  add(infoHashes: readonly Uint8Array[]): TorrentRoute {
    const route = new Route();
    /** Every info-hash routed here, `also`'s included: taken away by close(). */
    const hashes: Uint8Array[] = [];
    const take = (more: readonly Uint8Array[]) => {
      for (const h of more) {
        this.#routes.set(hex(h), route);
        this.#skeys.add(h);
        hashes.push(h);
      }
    };
    for (const h of infoHashes)
      if (this.#routes.has(hex(h))) throw new Error(`info-hash ${hex(h)} is routed already`); // the caller checks
    take(infoHashes);
    const connections$ = new Observable<RoutedSocket>((sub) => {
      route.take = (s) => sub.next(s);
      for (const s of route.waiting.splice(0)) sub.next(s);
      return () => {
        route.take = undefined;
      };
    });
    return {
      port: this.#port,
      host: this.#host,
      connections$,
      also: (more) => {
        const fresh = more.filter((h) => this.#routes.get(hex(h)) !== route);
        if (fresh.some((h) => this.#routes.has(hex(h)))) return false;
        take(fresh);
        return true;
      },
      close: async () => {
        for (const h of hashes.splice(0)) {
          if (this.#routes.get(hex(h)) !== route) continue;
          this.#routes.delete(hex(h));
          this.#skeys.delete(h);
        }
        route.take = undefined;
        for (const s of route.waiting.splice(0)) s.destroy();
      },
    };
  }

  /** An accepted connection (TCP or uTP): read until it names a torrent, then handed to it. */
  route(stream: PeerStream): void {
    if (this.#closed || this.#routing.size >= MAX_ROUTING || this.#open >= this.#maxConnections) {
      stream.destroy();
      return;
    }
    // Counted until its socket closes, wherever it is by then (routing, waiting, or a torrent's).
    this.#open++;
    stream.once('close', () => this.#open--);
    this.#routing.add(stream);
    // The one table, as it is when the initiator names its torrent (one SHA-1 then, whatever the number of torrents).
    const preface = new IncomingPreface(this.#skeys, this.#policy);
    /** A plain handshake's bytes so far (until its info-hash is whole). */
    let plain: Uint8Array | undefined;
    const end = () => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('error', drop);
      stream.off('close', end);
      this.#routing.delete(stream);
    };
    const drop = () => {
      end();
      stream.destroy();
    };
    const deliver = (infoHash: Uint8Array, done: PrefaceDone) => {
      const route = this.#routes.get(hex(infoHash));
      if (route === undefined) return drop(); // not one of ours
      end();
      route.offer(new RoutedSocket(stream, done));
    };
    const onData = (chunk: Uint8Array) => {
      try {
        if (plain !== undefined) plain = concat(plain, chunk);
        else {
          const { send, done } = preface.push(chunk);
          for (const bytes of send) stream.write(bytes);
          if (done === undefined) return;
          // MSE: the SKEY named the torrent (the BitTorrent handshake follows, maybe encrypted).
          if (done.encryption !== 'none') return deliver(preface.infoHash!, done);
          plain = done.rest;
        }
        if (plain.length >= PLAIN_INFO_HASH_END)
          deliver(plain.subarray(28, PLAIN_INFO_HASH_END), { encryption: 'none', rest: plain });
      } catch (err) {
        if (!(err instanceof MseError)) throw err;
        drop(); // not MSE, another torrent's SKEY, or a plain handshake under `required`
      }
    };
    const timer = setTimeout(drop, ROUTE_TIMEOUT_MS);
    stream.on('data', onData);
    stream.on('error', drop);
    stream.on('close', end);
  }

  /** Closes the connections not yet routed (the listener and each torrent's connections are closed by their owners). */
  close(): void {
    this.#closed = true;
    for (const s of [...this.#routing]) s.destroy();
    this.#routing.clear();
  }
}
