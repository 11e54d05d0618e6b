/**
 * A session's UDP port (docs/utp.md): one socket for uTP and the DHT, bound to the listening port's
 * number — the port peers know us by — or, when another program holds that UDP port, to any port
 * (uTP dials and DHT queries still work from it; incoming uTP does not reach us).
 */
import { UdpEndpoint } from '../net/udp-endpoint.js';
import { UtpSocketManager } from '../utp/utp-socket-manager.js';

export interface SessionUdp {
  readonly endpoint: UdpEndpoint;
  readonly utp: UtpSocketManager;
  /** Resets every uTP connection, then closes the socket unless it was given (`shared`). */
  close(): Promise<void>;
}

/**
 * uTP on `given` (an endpoint the caller owns: the magnet fetch's) or on a socket opened at `port`;
 * undefined when no UDP socket can be had at all.
 */
export async function openSessionUdp(port: number, given?: UdpEndpoint): Promise<SessionUdp | undefined> {
  let endpoint = given;
  if (endpoint === undefined) {
    endpoint = await UdpEndpoint.open({ port }).catch(() =>
      UdpEndpoint.open({ port: 0 }).catch(() => undefined),
    );
    if (endpoint === undefined) return undefined;
  }
  const ep = endpoint;
  const utp = new UtpSocketManager({ send: (bytes, p, host) => ep.send(bytes, p, host) });
  const stop = ep.onUtp((msg, from) => utp.receive(msg, from));
  return {
    endpoint: ep,
    utp,
    close: async () => {
      utp.close();
      stop();
      if (given === undefined) await ep.close();
    },
  };
}
