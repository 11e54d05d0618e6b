/**
 * A session's port (docs/utp.md, "One UDP port"): the TCP listener for incoming peers and the UDP
 * socket of uTP (BEP 29) and the DHT (BEP 5) at one number, as libtorrent and Transmission listen.
 * Peers know us by one port — a tracker's, a DHT announce's, PEX's, LSD's — and dial uTP there and
 * send DHT replies there: a UDP socket elsewhere is never reached.
 *
 * The listener's search (6881 and the ports after it, or the system's choice for port 0) takes a
 * number only when the UDP socket binds there too, or a socket already open is there (a magnet
 * fetch's, lent to the download); a number whose UDP port another program holds is let go and the
 * next tried; with none named, the lent socket's number is tried first. A port the user named (`--port N`, not 0) is kept even so: the UDP socket goes
 * elsewhere, and that is said (`udp.portTaken`). Past the named port (its TCP port taken), the
 * search takes both again. A lent socket not at the port named (the fetch found its UDP number
 * held, and bound elsewhere) is then the session's UDP socket, the one said: the DHT runs on it
 * already, and a second socket would be a second port no peer knows.
 */
import type { Socket } from 'node:net';
import { ANY_PORT_TRIES, DEFAULT_PORT, type Listener, listenForPeers, searchedPorts } from '../net/listen.js';
import type { UdpEvent } from './download-event.js';
import { lentForUtp, openSessionUdp, type SessionUdp } from './session-udp.js';

export interface SessionPorts {
  readonly listener: Listener<Socket>;
  /** Our own UDP socket (at the listener's number unless `udpPortTaken`), when one was asked for. */
  readonly udp: SessionUdp | undefined;
  /**
   * The lent socket, when the listener took its number, or when the port named was kept while its
   * UDP number is held (`udpPortTaken`): its uTP serves the session.
   */
  readonly lent: SessionUdp | undefined;
  /** The port named was kept though another program holds its UDP number: said once by the caller. */
  readonly udpPortTaken?: UdpEvent;
}

export async function openSessionPorts(o: {
  /** The port the user named (`--port`, `port`); 0 or absent: any number free for both. */
  readonly port?: number;
  /** Internal (tests): the ports tried when none is named, instead of 6881 and the 49 after it. */
  readonly candidates?: readonly number[];
  /** `--bind`'s address: both sockets on it. */
  readonly host?: string;
  /** The UDP socket wanted, and whether uTP runs on it; undefined: TCP alone (nothing on UDP). */
  readonly udp: { readonly utp: boolean } | undefined;
  /** A socket already open (a magnet fetch's): a number it is at needs no other (lentForUtp). */
  readonly lent?: SessionUdp;
}): Promise<SessionPorts> {
  const named = o.port !== undefined && o.port !== 0 ? o.port : undefined;
  const at = o.host === undefined ? {} : { host: o.host };
  let udp: SessionUdp | undefined;
  let lent: SessionUdp | undefined;
  let taken = false;
  /** With `taken`: the lent socket, elsewhere already, is the one kept (none of our own opened). */
  let keptLent = false;
  /** The lent socket is elsewhere than the port named: it found that UDP number held. */
  const lentElsewhere = (port: number) =>
    port === named && o.lent !== undefined && o.lent.endpoint.port !== port;
  const accept = async (port: number): Promise<boolean> => {
    lent = lentForUtp(o.lent, port);
    if (lent !== undefined) return true;
    if (o.udp === undefined) {
      // No socket of our own wanted (the lent one is the DHT's alone, --utp off).
      taken = keptLent = lentElsewhere(port);
      return true;
    }
    udp = await openSessionUdp(port, { utp: o.udp.utp, exact: true, ...at });
    if (udp !== undefined) return true;
    if (port !== named) return false;
    taken = true;
    keptLent = lentElsewhere(port);
    if (keptLent) lent = lentForUtp(o.lent, undefined);
    return true;
  };
  // None named: the lent socket's number first (the port a magnet's fetch has been known by), then
  // the search.
  const search =
    named !== undefined
      ? undefined
      : o.port === undefined && o.candidates !== undefined
        ? o.candidates
        : o.lent !== undefined
          ? searchedPorts(o.port ?? DEFAULT_PORT, ANY_PORT_TRIES)
          : undefined;
  const candidates =
    search === undefined || o.lent === undefined ? search : [o.lent.endpoint.port, ...search];
  const listener = await listenForPeers({
    ...(o.port === undefined ? {} : { port: o.port }),
    ...(candidates === undefined ? {} : { candidates }),
    ...at,
    accept,
  });
  // The named port kept: the socket anywhere (uTP dials and DHT queries still work from it), or
  // the lent one, elsewhere already.
  if (taken && o.udp !== undefined && !keptLent) udp = await openSessionUdp(0, { utp: o.udp.utp, ...at });
  const elsewhere = !taken ? undefined : keptLent ? o.lent : udp;
  return {
    listener,
    udp,
    lent,
    ...(elsewhere === undefined
      ? {}
      : {
          udpPortTaken: {
            type: 'udp.portTaken',
            port: listener.port,
            udpPort: elsewhere.endpoint.port,
          } as const,
        }),
  };
}
