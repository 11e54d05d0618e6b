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

export async function listenForPeers(
  opts: { port?: number; host?: string; searchFree?: boolean } = {},
): Promise<Listener<Socket>> {
  const host = opts.host ?? '0.0.0.0';
  const first = opts.port ?? DEFAULT_PORT;
  const span = opts.searchFree === false || first === 0 ? 1 : PORT_SEARCH_SPAN;
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
  let bound = false;
  for (let p = first; p < first + span && p <= 65535; p++) {
    if (await tryListen(server, host, p)) {
      bound = true;
      break;
    }
  }
  if (!bound) throw new Error(`no free port in ${first}..${first + span - 1}`);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : first;
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
