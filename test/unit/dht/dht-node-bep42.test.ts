/**
 * BEP 42 on the wire (src/dht/dht-node.ts, dht.ts): our answers say where we saw each requester
 * (`ip`); the `ip` in answers to our queries is voted over distinct responders — one answer, or one
 * responder answering again, moves nothing — and once three say the same public address our id
 * becomes a BEP 42 id for it, the routing table is rebuilt around it and (startDht) a find_node on
 * the new id follows. The responders are plain UDP sockets at 127.0.0.2–4 (loopback: Linux routes
 * all of 127/8 to lo), so they count as distinct hosts.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { test } from 'node:test';
import { startDht } from '../../../src/dht/dht.js';
import { DhtNode } from '../../../src/dht/dht-node.js';
import { decodeKrpc, encodeKrpc, type KrpcMessage } from '../../../src/dht/krpc.js';
import { idHex, randomNodeId } from '../../../src/dht/node-id.js';
import { isVerifiedNodeId } from '../../../src/dht/secure-node-id.js';
import { within } from '../../helpers/session.js';

/** Polls `check` every 10 ms for at most `ms`: a bounded wait, which fails with `what`. */
async function until(ms: number, check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((f) => setTimeout(f, 10));
  assert.ok(check(), what);
}

const EXTERNAL = '203.0.113.7';

interface Responder {
  readonly socket: Socket;
  readonly host: string;
  readonly port: number;
  readonly id: Uint8Array;
  readonly queries: KrpcMessage[];
  readonly replies: KrpcMessage[];
}

/** A node at `host` answering every query with its id and `ip: reported` (BEP 42). */
async function responder(host: string, reported: string): Promise<Responder> {
  const socket = createSocket('udp4');
  const id = randomNodeId();
  const queries: KrpcMessage[] = [];
  const replies: KrpcMessage[] = [];
  socket.on('message', (m, rinfo) => {
    const message = decodeKrpc(m);
    if (message.y !== 'q') {
      replies.push(message);
      return;
    }
    queries.push(message);
    socket.send(
      encodeKrpc({ y: 'r', t: message.t, response: { id, nodes: [] }, ip: { host: reported, port: 4321 } }),
      rinfo.port,
      rinfo.address,
    );
  });
  await new Promise<void>((r) => socket.bind(0, host, r));
  return { socket, host, port: socket.address().port, id, queries, replies };
}

async function responders(t: { after: (f: () => void) => void }, reported = EXTERNAL): Promise<Responder[]> {
  const all = await Promise.all(['127.0.0.2', '127.0.0.3', '127.0.0.4'].map((h) => responder(h, reported)));
  t.after(() => {
    for (const r of all) r.socket.close();
  });
  return all;
}

test('our answers carry the requester’s address as we saw it (BEP 42 ip)', async (t) => {
  const node = await DhtNode.open({ host: '127.0.0.1', port: 0 });
  t.after(() => node.close());
  const [r] = await responders(t);
  r!.socket.send(
    encodeKrpc({ y: 'q', t: Uint8Array.of(1), query: { q: 'ping', id: r!.id } }),
    node.port,
    '127.0.0.1',
  );
  await until(60_000, () => r!.replies.length > 0, 'the answer');
  const reply = r!.replies[0]!;
  assert.ok(reply.y === 'r');
  assert.deepEqual(reply.ip, { host: '127.0.0.2', port: r!.port });
});

test('three distinct responders naming one public address switch our id to a BEP 42 id for it; fewer, or one again, do not', async (t) => {
  const node = await DhtNode.open({ host: '127.0.0.1', port: 0 });
  t.after(() => node.close());
  const [a, b, c] = await responders(t);
  const changes: string[] = [];
  node.onIdChanged((id) => changes.push(idHex(id)));
  const first = idHex(node.id);
  const ping = (r: Responder) => node.query(r, { q: 'ping', id: node.id });
  assert.ok(await ping(a!));
  assert.ok(await ping(a!), 'the same responder again');
  assert.ok(await ping(b!));
  assert.equal(idHex(node.id), first, 'two voters: not yet');
  assert.equal(node.externalAddress, undefined);
  assert.equal(node.table.size, 2);
  assert.ok(await ping(c!));
  assert.notEqual(idHex(node.id), first);
  assert.ok(isVerifiedNodeId(node.id, EXTERNAL), 'a BEP 42 id for the voted address');
  assert.equal(node.externalAddress, EXTERNAL);
  assert.deepEqual(changes, [idHex(node.id)]);
  assert.equal(idHex(node.table.ownId), idHex(node.id), 'the table is keyed on the new id');
  assert.equal(node.table.size, 3, 'and keeps its nodes');
  assert.equal(node.stats.addressReports, 4);
  // Our queries and answers use it from now on.
  await ping(a!);
  const last = a!.queries.at(-1)!;
  assert.ok(last.y === 'q' && idHex(last.query.id) === idHex(node.id));
});

test('a loopback address in the votes (every test node’s) moves nothing', async (t) => {
  const node = await DhtNode.open({ host: '127.0.0.1', port: 0 });
  t.after(() => node.close());
  const first = idHex(node.id);
  for (const r of await responders(t, '127.0.0.1'))
    assert.ok(await node.query(r, { q: 'ping', id: node.id }));
  assert.equal(idHex(node.id), first);
  assert.equal(node.externalAddress, undefined);
});

test('startDht: a bootstrap through three such responders ends with a BEP 42 id and a find_node on it', async (t) => {
  const all = await responders(t);
  const dht = await startDht({ port: 0, bootstrap: all.map((r) => ({ host: r.host, port: r.port })) });
  t.after(() => dht.close());
  await within(60_000, dht.ready, 'bootstrap');
  assert.ok(isVerifiedNodeId(dht.node.id, EXTERNAL));
  const target = idHex(dht.node.id);
  const asked = () =>
    all.some((r) =>
      r.queries.some((q) => q.y === 'q' && q.query.q === 'find_node' && idHex(q.query.target) === target),
    );
  await until(60_000, asked, 'a find_node on the new id');
});

test('our transaction ids are not predictable: a node that sees one query cannot forge the answers to the next ones', async (t) => {
  // An answer counts (as a vote for our address, and for the table) only with our transaction id
  // from the address we asked. A node we query learns one id; were the next ones id + 1, id + 2, …
  // a host that can forge source addresses could answer our queries to the nodes it named, as them,
  // and vote our id wherever it likes (libtorrent draws each id at random: rpc_manager::invoke).
  const node = await DhtNode.open({ host: '127.0.0.1', port: 0 });
  t.after(() => node.close());
  const [r] = await responders(t, '127.0.0.1');
  const tx: number[] = [];
  for (let i = 0; i < 16; i++) {
    assert.ok(await node.query(r!, { q: 'ping', id: node.id }));
    const q = r!.queries.at(-1)!;
    assert.equal(q.t.length, 2);
    tx.push((q.t[0]! << 8) | q.t[1]!);
  }
  const next = tx.slice(1).filter((x, i) => x === ((tx[i]! + 1) & 0xffff)).length;
  assert.ok(next <= 1, `${next} of 15 ids were the one before plus one: ${tx.join(' ')}`);
});
