/**
 * The interop harness's ports (test/interop/harness/ports.ts): chosen below the kernel's ephemeral
 * range, where no outgoing connection of any process can take one between our check and the
 * client's bind; distinct; free on TCP and on UDP at 127.0.0.1 (a client binds uTP, the DHT or a UDP
 * tracker at its TCP port's number).
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { type TestContext, test } from 'node:test';
import {
  ephemeralPortRange,
  getFreePort,
  getFreePorts,
  isFreeOnTcpAndUdp,
  LOOPBACK,
  LOWEST_PORT,
} from '../../interop/harness/ports.js';

/** The kernel's own word, read here and not through the helper. */
const ephemeralLow = Number(
  readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
);

async function holdTcp(t: TestContext, port: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK, resolve);
  });
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
}

async function holdUdp(t: TestContext, port: number): Promise<void> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, LOOPBACK, resolve);
  });
  t.after(() => new Promise<void>((resolve) => socket.close(() => resolve())));
}

test('the ephemeral range is read from the kernel', () => {
  assert.equal(ephemeralPortRange()[0], ephemeralLow);
});

test('ports are chosen below the ephemeral range, never twice, and each binds on TCP and UDP', async (t) => {
  const ports = [...(await getFreePorts(40)), await getFreePort(), await getFreePort()];
  const concurrent = await Promise.all(Array.from({ length: 20 }, () => getFreePort()));
  const all = [...ports, ...concurrent];
  for (const port of all) {
    assert.ok(port >= LOWEST_PORT && port < ephemeralLow, `${port} is below ${ephemeralLow}`);
  }
  assert.equal(new Set(all).size, all.length, 'all distinct');
  // Free on both: the test can take each one, as a client would, on TCP and on UDP at once.
  for (const port of all) {
    await holdTcp(t, port);
    await holdUdp(t, port);
  }
});

test('a port held on TCP only or on UDP only is not free', async (t) => {
  const [tcp, udp, neither] = await getFreePorts(3);
  await holdTcp(t, tcp!);
  await holdUdp(t, udp!);
  assert.equal(await isFreeOnTcpAndUdp(tcp!), false, 'a TCP listener holds it');
  assert.equal(await isFreeOnTcpAndUdp(udp!), false, 'a UDP socket holds it');
  assert.equal(await isFreeOnTcpAndUdp(neither!), true);
  // The check left nothing bound behind it.
  await holdTcp(t, neither!);
  await holdUdp(t, neither!);
});
