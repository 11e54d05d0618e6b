/**
 * A session's UDP port (docs/utp.md): one socket for uTP and the DHT, bound to the listening port's
 * number — the port peers know us by (the listener picks a number free for both: session-ports.ts)
 * — or, when another program holds that UDP port, to any port (uTP dials and DHT queries still work
 * from it; incoming uTP does not reach us).
 */
import { UdpEndpoint } from '../net/udp-endpoint.js';
import { UtpSocketManager } from '../utp/utp-socket-manager.js';

export interface SessionUdp {
  readonly endpoint: UdpEndpoint;
  /** uTP on the socket; none under `--utp off` (the socket is then the DHT's alone). */
  readonly utp: UtpSocketManager | undefined;
  /** Ends every uTP connection (our FIN to each), then closes the socket. */
  close(): Promise<void>;
}

/**
 * The lent socket (a magnet fetch's) if its uTP can serve a session listening at `listenPort`: it is
 * at that port's number, where peers dial uTP. The fetch binds before the listener exists; the
 * listener may then land elsewhere (its search past a taken port, or port 0), and uTP on the fetch's
 * socket would never be reached.
 */
export function lentForUtp(
  lent: SessionUdp | undefined,
  listenPort: number | undefined,
): SessionUdp | undefined {
  if (lent?.utp === undefined) return undefined;
  return listenPort === undefined || lent.endpoint.port === listenPort ? lent : undefined;
}

/**
 * The socket at `port` (any port if that one is taken, unless `exact`) on `host` (default every
 * interface), with uTP on it if asked; undefined when no UDP socket can be had.
 */
export async function openSessionUdp(
  port: number,
  opts: { readonly utp: boolean; readonly host?: string; readonly exact?: boolean },
): Promise<SessionUdp | undefined> {
  // `host` (--bind): on that address only, whichever port; never on another.
  const at = opts.host === undefined ? {} : { host: opts.host };
  const endpoint = await UdpEndpoint.open({ port, ...at }).catch(() =>
    opts.exact === true ? undefined : UdpEndpoint.open({ port: 0, ...at }).catch(() => undefined),
  );
  if (endpoint === undefined) return undefined;
  const utp = opts.utp
    ? new UtpSocketManager({ send: (bytes, p, host) => endpoint.send(bytes, p, host) })
    : undefined;
  const stop = utp === undefined ? undefined : endpoint.onUtp((msg, from) => utp.receive(msg, from));
  return {
    endpoint,
    utp,
    close: async () => {
      utp?.close();
      stop?.();
      await endpoint.close();
    },
  };
}
