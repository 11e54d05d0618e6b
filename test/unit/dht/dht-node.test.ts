/**
 * One DhtNode on 127.0.0.1 answering queries sent from plain UDP sockets: tokens, implied_port,
 * unknown methods, and the answer rate limit against a flood (on a clock the test holds still, so
 * every datagram falls within one second).
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { test } from 'node:test';
import { DhtNode, MAX_ANSWERS_PER_SECOND, MAX_ANSWERS_PER_SOURCE } from '../../../src/dht/dht-node.js';
import { decodeKrpc, encodeKrpc, type KrpcMessage, type KrpcQuery } from '../../../src/dht/krpc.js';
import { idHex, randomNodeId } from '../../../src/dht/node-id.js';

async function client(): Promise<{ socket: Socket; replies: KrpcMessage[] }> {
  const socket = createSocket('udp4');
  const replies: KrpcMessage[] = [];
  socket.on('message', (m) => replies.push(decodeKrpc(m)));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { socket, replies };
}

function send(socket: Socket, port: number, query: KrpcQuery, t = 'aa'): void {
  socket.send(encodeKrpc({ y: 'q', t: Buffer.from(t), query }), port, '127.0.0.1');
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), 'in time');
}

test('announce_peer is stored only with the token get_peers gave this IP; implied_port takes the source port', async (t) => {
  const node = await DhtNode.open({ host: '127.0.0.1', port: 0 });
  const c = await client();
  t.after(async () => {
    c.socket.close();
    await node.close();
  });
  const me = randomNodeId();
  const infoHash = randomNodeId();
  send(c.socket, node.port, {
    q: 'announce_peer',
    id: me,
    infoHash,
    port: 7000,
    impliedPort: false,
    token: Uint8Array.of(1),
  });
  await until(() => c.replies.length === 1);
  assert.ok(c.replies[0]!.y === 'e' && c.replies[0]!.code === 203, 'bad token');
  send(c.socket, node.port, { q: 'get_peers', id: me, infoHash });
  await until(() => c.replies.length === 2);
  const r = c.replies[1]!;
  assert.ok(r.y === 'r' && r.response.token !== undefined && r.response.values === undefined);
  const token = r.y === 'r' ? r.response.token! : new Uint8Array();
  send(c.socket, node.port, { q: 'announce_peer', id: me, infoHash, port: 7000, impliedPort: false, token });
  send(
    c.socket,
    node.port,
    { q: 'announce_peer', id: me, infoHash, port: 1, impliedPort: true, token },
    'bb',
  );
  await until(() => c.replies.length === 4);
  const stored = node.store
    .peers(idHex(infoHash), performance.now())
    .map((p) => p.port)
    .sort((a, b) => a - b);
  assert.deepEqual(
    stored,
    [7000, c.socket.address().port].sort((a, b) => a - b),
  );
  // get_peers now answers with them, and the node that asked is in the routing table.
  send(c.socket, node.port, { q: 'get_peers', id: me, infoHash });
  await until(() => c.replies.length === 5);
  const v = c.replies[4]!;
  assert.equal(v.y === 'r' ? v.response.values?.length : -1, 2);
  assert.equal(node.table.size, 1);
  // An unknown method: 204.
  send(c.socket, node.port, { q: 'other', id: me, method: 'sample_infohashes' });
  await until(() => c.replies.length === 6);
  assert.ok(c.replies[5]!.y === 'e' && c.replies[5]!.code === 204);
});

test('a flood is answered at most MAX_ANSWERS_PER_SOURCE per address and MAX_ANSWERS_PER_SECOND in all', async (t) => {
  const node = await DhtNode.open({ host: '127.0.0.1', port: 0, now: () => 5000 });
  const clients = await Promise.all(Array.from({ length: 20 }, () => client()));
  t.after(async () => {
    for (const c of clients) c.socket.close();
    await node.close();
  });
  const perClient = 40;
  let sent = 0;
  for (const c of clients) {
    // A client's 40 at a time, so the kernel's receive buffer never drops one.
    for (let i = 0; i < perClient; i++) send(c.socket, node.port, { q: 'ping', id: randomNodeId() });
    sent += perClient;
    await until(() => node.stats.queriesAnswered + node.stats.queriesDropped === sent);
  }
  assert.equal(
    node.stats.queriesAnswered,
    Math.min(MAX_ANSWERS_PER_SECOND, clients.length * MAX_ANSWERS_PER_SOURCE),
  );
  await until(() => clients.reduce((n, c) => n + c.replies.length, 0) === node.stats.queriesAnswered);
  for (const c of clients) assert.ok(c.replies.length <= MAX_ANSWERS_PER_SOURCE);
  // Junk is counted and dropped, never answered.
  clients[0]!.socket.send(Buffer.from('d1:ti0ee'), node.port, '127.0.0.1');
  await until(() => node.stats.malformed === 1);
});
