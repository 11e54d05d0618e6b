/**
 * node:http's side of a proxy: an http(s) Agent whose every connection is a tunnel through the
 * proxy (proxy-dialer.ts), TLS inside it for https (the certificate checked against the URL's host,
 * as a direct request's). The trackers' announces and scrapes and the web seeds' range GETs use it.
 * A tunnel still being set up is the agent's too: `destroy()` (a web seed's connection closing) and
 * `signal` (a tracker request's own agent, aborted at its timeout) drop it - node:http knows a socket
 * only once it is handed over, and a request aborted before then waited for the tunnel.
 */
import { type AgentOptions, Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import type { ProxyDialer } from './proxy-dialer.js';

/**
 * An Agent (http or https, with `options`) whose connections are tunnels through `dialer`; the
 * tunnels being set up dropped when it is destroyed, or when `signal` aborts.
 */
export function proxiedAgent(
  dialer: ProxyDialer,
  https: boolean,
  options: AgentOptions = {},
  signal?: AbortSignal,
): HttpAgent {
  const Base = https ? HttpsAgent : HttpAgent;
  const agent = new Base(options);
  const pending = new Set<Socket>();
  let destroyed = false;
  const destroy = agent.destroy.bind(agent);
  agent.destroy = () => {
    destroyed = true;
    for (const s of pending) s.destroy(new Error('proxied agent destroyed'));
    pending.clear();
    destroy();
  };
  signal?.addEventListener('abort', () => agent.destroy(), { once: true });
  // Node's Agent takes a connection given later through the callback (createConnection's second form).
  (agent as unknown as { createConnection: unknown }).createConnection = (
    opts: { host?: string; port?: number | string; servername?: string },
    done: (err: Error | null, socket?: Duplex) => void,
  ) => {
    const host = opts.host ?? 'localhost';
    const port = Number(opts.port ?? (https ? 443 : 80));
    if (destroyed || signal?.aborted === true) {
      done(new Error('proxied agent destroyed'));
      return undefined;
    }
    const s = dialer.tunnel(host, port, (err, socket) => {
      pending.delete(s);
      if (err !== null || socket === undefined) return done(err);
      if (!https) return done(null, socket);
      const tls = tlsConnect({ ...(opts as ConnectionOptions), socket, servername: opts.servername ?? host });
      done(null, tls);
    });
    pending.add(s);
    return undefined;
  };
  return agent;
}
