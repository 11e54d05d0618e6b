/**
 * The listening socket for incoming peers: the configured port, or the next free one when it is busy
 * (as Transmission and libtorrent do), as an Observable of accepted sockets. Several torrents may
 * share one (torrent-router.ts): each then sees a Listener of its own, whose connections come with
 * their handshake's first bytes read (RoutedSocket).
 */
import { createServer, type Server, type Socket } from 'node:net';
// rxjs's own module, not its index: the index loads all 223 of rxjs's files (~100 ms at start-up).
import { Observable } from 'rxjs/internal/Observable';
import type { PeerStream } from './peer-stream.js';
import type { RoutedSocket } from './routed-socket.js';

export const DEFAULT_PORT = 6881;
/** How many ports past the requested one we try before giving up. */
export const PORT_SEARCH_SPAN = 50;
/** Port 0 with an `accept` check: how many ports the system is asked for before giving up. */
export const ANY_PORT_TRIES = 10;

/** An accepted connection: a fresh socket, or one a shared port has routed here (its preface done). */
export type AcceptedPeer = PeerStream | RoutedSocket;

export interface Listener<Peer extends AcceptedPeer = AcceptedPeer> {
  readonly port: number;
  /** The address it is bound to: '0.0.0.0' (every IPv4 interface) unless asked otherwise. */
  readonly host: string;
  readonly connections$: Observable<Peer>;
  close(): Promise<void>;
}

function tryListen(server: Server, host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(true);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
/** The ports a search from `first` tries: it and the PORT_SEARCH_SPAN - 1 after it, or 0 `anyTries` times. */
export function searchedPorts(first: number, anyTries: number): number[] {
  if (first === 0) return Array.from({ length: anyTries }, () => 0);
  return Array.from({ length: PORT_SEARCH_SPAN }, (_, i) => first + i).filter((p) => p <= 65535);
}

function describeCandidates(ports: readonly number[]): string {
  const first = ports[0];
  const last = ports.at(-1);
  const run = first !== undefined && last !== undefined && ports.every((p, i) => p === first + i);
  return run ? `${first}..${last}` : ports.join(', ');
}

export async function listenForPeers(
  opts: {
    port?: number;
    host?: string;
    searchFree?: boolean;
    /** The ports tried, in order, instead of `port` and the ones after it (tests pin the search). */
    candidates?: readonly number[];
    /**
     * Asked once the TCP port is bound: false lets it go and the next is tried (the session's UDP
     * socket wants the same number: session-ports.ts). Port 0 is then asked for ANY_PORT_TRIES times.
     */
    accept?: (port: number) => Promise<boolean>;
  } = {},
): Promise<Listener<Socket>> {
  const host = opts.host ?? '0.0.0.0';
  const first = opts.port ?? DEFAULT_PORT;
  const candidates =
    opts.candidates ??
    (opts.searchFree === false
      ? [first]
      : searchedPorts(first, opts.accept === undefined ? 1 : ANY_PORT_TRIES));
  const sockets: Socket[] = [];
  /** Every accepted socket still open: `close()` destroys them, adopted or not. */
  const open = new Set<Socket>();
  let subscriber: ((s: Socket) => void) | undefined;
  const server = createServer({ noDelay: true }, (socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    if (subscriber) subscriber(socket);
    else sockets.push(socket);
  });
  let port: number | undefined;
  for (const p of candidates) {
    if (!(await tryListen(server, host, p))) continue;
    const address = server.address();
    const at = typeof address === 'object' && address !== null ? address.port : p;
    if (opts.accept === undefined || (await opts.accept(at))) {
      port = at;
      break;
    }
    // Let go: whoever connected in between is closed with it (close() waits for them otherwise).
    const closing = closeServer(server);
    sockets.length = 0;
    for (const s of open) s.destroy();
    await closing;
  }
  if (port === undefined)
    throw new Error(
      first === 0 && opts.candidates === undefined
        ? `no port free${opts.accept === undefined ? '' : ' for both TCP and UDP'} in ${candidates.length} tries`
        : `no free port${opts.accept === undefined ? '' : ' for both TCP and UDP'} in ${describeCandidates(candidates)}`,
    );
  const connections$ = new Observable<Socket>((sub) => {
    subscriber = (s) => sub.next(s);
    for (const s of sockets.splice(0)) sub.next(s);
    return () => {
      subscriber = undefined;
    };
  });
  return {
    port,
    host,
    connections$,
    // server.close() waits for every accepted connection to end: a peer that dialled in as the
    // download finished, and that nothing adopted, would hold the exit until it gave up.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        sockets.length = 0;
        for (const s of open) s.destroy();
      }),
  };
}
