/**
 * A web seed (BEP 19) for benchmarks, in a process of its own so its CPU is not the downloader's:
 * the tests' Node HTTP server with Range (test/helpers/web-seed-server.ts) serving ROOT on
 * 127.0.0.1, each connection limited to RATE bytes a second (as many servers limit a connection),
 * or unlimited with RATE 0. Prints `url URL` once listening. `GET /__stats` answers the GETs and
 * connections seen since the last `/__stats` as JSON (and starts counting again). Ends on
 * SIGINT/SIGTERM or after MINUTES.
 *
 *   node --import tsx bench/profile/web-seed-server.ts ROOT RATE [MINUTES]
 */
import type { Socket } from 'node:net';
import { resolve } from 'node:path';
import { startWebSeedServer } from '../../test/helpers/web-seed-server.js';

const [root, rateArg, minutesArg] = process.argv.slice(2);
if (root === undefined || rateArg === undefined || !(Number(rateArg) >= 0))
  throw new Error('usage: web-seed-server.ts ROOT RATE [MINUTES]');
const rate = Number(rateArg);
const lifetimeMs = Number(minutesArg ?? '60') * 60_000;
let gets = 0;
let connections = new WeakSet<Socket>();
let connectionCount = 0;
const cleanups: (() => unknown)[] = [];
const server = await startWebSeedServer(
  { after: (fn) => cleanups.push(fn) },
  resolve(root),
  (req, res, path) => {
    if (path === '/__stats') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ gets, connectionCount }));
      gets = 0;
      connectionCount = 0;
      connections = new WeakSet();
      return true;
    }
    gets++;
    if (!connections.has(req.socket)) {
      connections.add(req.socket);
      connectionCount++;
    }
    return false;
  },
  rate === 0 ? undefined : rate,
);
process.stdout.write(`url ${server.url}\n`);
const stop = async () => {
  for (const c of cleanups) await c();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
setTimeout(stop, lifetimeMs).unref();
