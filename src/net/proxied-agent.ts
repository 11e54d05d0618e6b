/**
 * node:http's side of a proxy: an http(s) Agent whose every connection is a tunnel through the
 * proxy (proxy-dialer.ts), TLS inside it for https (the certificate checked against the URL's host,
 * as a direct request's). The trackers' announces and scrapes and the web seeds' range GETs use it.
 */
import { type AgentOptions, Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import type { ProxyDialer } from './proxy-dialer.js';

/** An Agent (http or https, with `options`) whose connections are tunnels through `dialer`. */
export function proxiedAgent(dialer: ProxyDialer, https: boolean, options: AgentOptions = {}): HttpAgent {
  const Base = https ? HttpsAgent : HttpAgent;
  const agent = new Base(options);
  // Node's Agent takes a connection given later through the callback (createConnection's second form).
  (agent as unknown as { createConnection: unknown }).createConnection = (
    opts: { host?: string; port?: number | string; servername?: string },
    done: (err: Error | null, socket?: Duplex) => void,
  ) => {
    const host = opts.host ?? 'localhost';
    const port = Number(opts.port ?? (https ? 443 : 80));
    dialer.tunnel(host, port, (err, socket) => {
      if (err !== null || socket === undefined) return done(err);
      if (!https) return done(null, socket);
      const tls = tlsConnect({ ...(opts as ConnectionOptions), socket, servername: opts.servername ?? host });
      done(null, tls);
    });
    return undefined;
  };
  return agent;
}
