/**
 * Listening ports on 127.0.0.1 for the peers, trackers and DHT nodes a test starts, and waiting for
 * a server to listen on one.
 *
 * A port is chosen here and bound later by another process (aria2, libtorrent, Transmission,
 * opentracker, the bitstate CLI). A port the kernel picked for `listen(0)` comes from the ephemeral
 * range (`/proc/sys/net/ipv4/ip_local_port_range`), the same range it takes the local port of every
 * outgoing connection from: between our close and the client's bind, any process's connect (and the
 * test files run in parallel, all dialling on 127.0.0.1) could take it, and the client then fails
 * to listen. So ports are taken below that range, where the kernel never puts a connection on its
 * own: picked at random, bound on TCP and UDP at 127.0.0.1 (BitTorrent clients put uTP and the DHT
 * at their TCP port's number, opentracker its UDP tracker), closed, and never handed out twice by
 * one process.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { HarnessError } from './harness-error.js';

export const LOOPBACK = '127.0.0.1';

/** Lowest port handed out: above the registered services a test machine may run (ssh, http, …). */
export const LOWEST_PORT = 10_000;

/** The kernel's ephemeral range [low, high] (Linux; elsewhere IANA's 49152–65535). */
export function ephemeralPortRange(): readonly [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux
  }
  return [49_152, 65_535];
}

/** Where ports are chosen: [LOWEST_PORT, low of the ephemeral range). */
export function portRange(): readonly [number, number] {
  const [low] = ephemeralPortRange();
  if (low - 1 - LOWEST_PORT < 1000) {
    throw new HarnessError(
      'noFreePort',
      `the ephemeral range starts at ${low}: no room below it for test ports`,
      {
        low,
      },
    );
  }
  return [LOWEST_PORT, low - 1];
}

/** Ports this process has handed out: never again, so two clients of one test cannot meet. */
const handedOut = new Set<number>();

function bindsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, LOOPBACK, () => server.close(() => resolve(true)));
  });
}

function bindsUdp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.unref();
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, LOOPBACK, () => socket.close(() => resolve(true)));
  });
}

/** Whether nothing holds `port` on 127.0.0.1 right now, neither on TCP nor on UDP. */
export async function isFreeOnTcpAndUdp(port: number): Promise<boolean> {
  return (await bindsTcp(port)) && (await bindsUdp(port));
}

const ATTEMPTS = 200;

/**
 * A port below the ephemeral range that nobody holds on TCP or UDP at 127.0.0.1 right now, and that
 * this process has not handed out before. Only another process choosing the same port at random in
 * the moment before the client binds it can still take it.
 */
export async function getFreePort(): Promise<number> {
  const [low, high] = portRange();
  for (let i = 0; i < ATTEMPTS; i += 1) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port)) continue;
    handedOut.add(port); // taken before the await: concurrent calls cannot both get it
    if (await isFreeOnTcpAndUdp(port)) return port;
  }
  throw new HarnessError('noFreePort', `no free port in ${low}–${high} after ${ATTEMPTS} tries`, {
    low,
    high,
  });
}

/** Several distinct free ports. */
export async function getFreePorts(count: number): Promise<number[]> {
  return Promise.all(Array.from({ length: count }, () => getFreePort()));
}

function tryConnect(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(1000, () => done(false));
  });
}

/** Resolves once a TCP connect to host:port succeeds; rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, host = LOOPBACK): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await tryConnect(port, host)) return;
    if (performance.now() > deadline) {
      throw new HarnessError('portTimeout', `nothing listens on ${host}:${port} after ${timeoutMs} ms`, {
        port,
        timeoutMs,
      });
    }
    await sleep(50);
  }
}
