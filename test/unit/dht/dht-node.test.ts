/**
 * One DhtNode on 127.0.0.1 answering queries sent from plain UDP sockets: tokens, implied_port,
 * unknown methods, and the answer rate limit against a flood (on a clock the test holds still, so
 * every datagram falls within one second).
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { test } from 'node:test';
import {
  DhtNode,
  MAX_ANSWER_BYTES_PER_SECOND,
  MAX_ANSWERS_PER_SECOND,
  MAX_ANSWERS_PER_SOURCE,
} from '../../../src/dht/dht-node.js';
import { decodeKrpc, encodeKrpc, type KrpcMessage, type KrpcQuery } from '../../../src/dht/krpc.js';
import { idHex, randomNodeId } from '../../../src/dht/node-id.js';
import { GOOD_FOR_MS, K } from '../../../src/dht/routing-table.js';

/**
 * A plain UDP socket: the answers it gets in `replies`, the node's queries to it in `queries`;
 * with `answerAs` it answers those (an honest node with that id), else never.
 */
async function client(answerAs?: Uint8Array): Promise<{
  socket: Socket;
  replies: KrpcMessage[];
  queries: KrpcMessage[];
}> {
  const socket = createSocket('udp4');
  const replies: KrpcMessage[] = [];
  const queries: KrpcMessage[] = [];
  socket.on('message', (m, rinfo) => {
    const message = decodeKrpc(m);
    if (message.y !== 'q') {
      replies.push(message);
      return;
    }
    queries.push(message);
    if (answerAs !== undefined)
      socket.send(
        encodeKrpc({ y: 'r', t: message.t, response: { id: answerAs } }),
        rinfo.port,
        rinfo.address,
      );
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { socket, replies, queries };
}

function send(socket: Socket, port: number, query: KrpcQuery, t = 'aa'): void {
  socket.send(encodeKrpc({ y: 'q', t: Buffer.from(t), query }), port, '127.0.0.1');
}

/** Polls `check` until it holds; the bound (20 s) only keeps a broken node from hanging the run. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), 'in time');
}

test('announce_peer is stored only with the token get_peers gave this IP; implied_port takes the source port', async (t) => {
  const node = await DhtNode.open({ host: '127.0.0.1', port: 0 });
  const me = randomNodeId();
  const c = await client(me);
  t.after(async () => {
    c.socket.close();
    await node.close();
  });
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
  // get_peers now answers with them, and the node that asked is in the routing table (once it
  // answered the ping its first query earned).
  send(c.socket, node.port, { q: 'get_peers', id: me, infoHash });
  await until(() => c.replies.length === 5);
  const v = c.replies[4]!;
  assert.equal(v.y === 'r' ? v.response.values?.length : -1, 2);
  assert.equal(c.queries.length, 1, 'pinged once');
  await until(() => node.table.size === 1);
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

test('a node that queries us enters the routing table only once it answers our ping (a forged source never does)', async (t) => {
  // Long enough for the honest node's answer on a loaded machine; the silent one's ping times out.
  const node = await DhtNode.open({ host: '127.0.0.1', port: 0, queryTimeoutMs: 1000 });
  const silent = await client(); // never answers: a forged source address, or a node behind a NAT
  const honest = await client(randomNodeId());
  t.after(async () => {
    silent.socket.close();
    honest.socket.close();
    await node.close();
  });
  send(silent.socket, node.port, { q: 'find_node', id: randomNodeId(), target: randomNodeId() });
  await until(() => node.stats.timeouts === 1);
  assert.equal(silent.replies.length, 1, 'answered');
  assert.equal(silent.queries.length, 1, 'pinged');
  assert.equal(node.table.size, 0, 'not taken unanswered');
  send(honest.socket, node.port, { q: 'find_node', id: randomNodeId(), target: randomNodeId() });
  await until(() => node.table.size === 1);
  // The id it answered with is the one taken, not the one its query claimed.
  const [entry] = [...node.table.nodes()];
  assert.equal(entry!.node.port, honest.socket.address().port);
});

test('a read-only node (BEP 43 ro: 1) is answered but never pinged nor taken', async (t) => {
  const node = await DhtNode.open({ host: '127.0.0.1', port: 0, queryTimeoutMs: 50 });
  const ro = await client(randomNodeId());
  t.after(async () => {
    ro.socket.close();
    await node.close();
  });
  const query = encodeKrpc({
    y: 'q',
    t: Buffer.from('aa'),
    query: { q: 'ping', id: randomNodeId() },
    readOnly: true,
  });
  ro.socket.send(query, node.port, '127.0.0.1');
  ro.socket.send(query, node.port, '127.0.0.1');
  await until(() => ro.replies.length === 2);
  assert.equal(ro.queries.length, 0);
  assert.equal(node.table.size, 0);
});

test('one IP with many ports and made-up ids takes one place in the routing table (restrictRoutingIps)', async (t) => {
  // Loopback turns the rule off by default (every test node is on 127.0.0.1): here it is asked for.
  const node = await DhtNode.open({ host: '127.0.0.1', port: 0, restrictRoutingIps: true });
  const open = await DhtNode.open({ host: '127.0.0.1', port: 0 });
  // Every sybil's id in the open node's farthest bucket (the top bit flipped), which holds K: the
  // open node's table then fills to exactly K, whatever the random ids (spread over its buckets,
  // 30 random ids filled fewer than 16 places about a time in three, and the wait below timed out).
  const farFromOpen = () => {
    const id = randomNodeId();
    id[0] = (id[0]! & 0x7f) | (~open.id[0]! & 0x80);
    return id;
  };
  const sybils = await Promise.all(Array.from({ length: 30 }, () => client(farFromOpen())));
  t.after(async () => {
    for (const c of sybils) c.socket.close();
    await node.close();
    await open.close();
  });
  for (const c of sybils) {
    send(c.socket, node.port, { q: 'ping', id: randomNodeId() });
    send(c.socket, open.port, { q: 'ping', id: randomNodeId() });
  }
  // Every sybil answers every ping it gets: the open node takes many, the restricted one one.
  await until(() => open.table.size === K);
  await until(() => sybils.every((c) => c.replies.length === 2));
  await until(() => node.pendingQueries === 0 && open.pendingQueries === 0);
  assert.equal(node.table.size, 1);
});

test("a newcomer meeting a full bucket of questionable nodes has them pinged, and takes the place of the one that fails twice (BEP 5's replacement)", async (t) => {
  let clock = 0;
  // Every live member's answer must come within the query timeout and the gone one fail it twice:
  // 2 s, not 50 ms, which a loaded machine (load 30) outlasted, so no member was ever taken.
  const node = await DhtNode.open({ host: '127.0.0.1', port: 0, queryTimeoutMs: 2_000, now: () => clock });
  // Ids in the node's far half (the top bit flipped): one bucket of K once our own half splits off.
  const farId = () => {
    const id = randomNodeId();
    id[0] = (id[0]! & 0x7f) | (~node.id[0]! & 0x80);
    return id;
  };
  const members: Awaited<ReturnType<typeof client>>[] = [];
  let newcomer: Awaited<ReturnType<typeof client>> | undefined;
  // Before anything can fail: a wait that failed in the loop below once left the node and the
  // sockets open, and the file's process never exited (the whole run hung).
  t.after(async () => {
    for (const c of members) c.socket.close();
    newcomer?.socket.close();
    await node.close();
  });
  for (let i = 0; i < K; i++) {
    const c = await client(farId());
    members.push(c);
    clock += 1; // seen in this order: members[0] least recently
    send(c.socket, node.port, { q: 'ping', id: randomNodeId() });
    await until(() => node.table.size === i + 1); // pinged back, answered, taken
  }
  newcomer = await client(farId());
  // Quiet for longer than GOOD_FOR_MS: every member is questionable; members[3] has gone away.
  clock += GOOD_FOR_MS + 1000;
  const gone = members[3]!.socket.address().port;
  members[3]!.socket.close();
  members.splice(3, 1);
  send(newcomer.socket, node.port, { q: 'ping', id: randomNodeId() });
  const ports = () => [...node.table.nodes()].map((n) => n.node.port);
  await until(() => ports().includes(newcomer.socket.address().port));
  assert.ok(!ports().includes(gone), 'the node that failed is out');
  assert.equal(node.table.size, K);
  // Least recently seen first, until one failed: members[0..2] were pinged again, the rest not.
  assert.deepEqual(
    members.map((c) => c.queries.length),
    [2, 2, 2, 1, 1, 1, 1],
  );
});

test('a query with bad arguments is answered error 203 with its transaction id (BEP 5); junk is not answered', async (t) => {
  const node = await DhtNode.open({ host: '127.0.0.1', port: 0 });
  const c = await client();
  t.after(async () => {
    c.socket.close();
    await node.close();
  });
  const id = Buffer.from(randomNodeId()).toString('latin1');
  // get_peers without info_hash, then an announce_peer with port 0 and no implied_port.
  c.socket.send(
    Buffer.from(`d1:ad2:id20:${id}e1:q9:get_peers1:t2:xy1:y1:qe`, 'latin1'),
    node.port,
    '127.0.0.1',
  );
  await until(() => c.replies.length === 1);
  const e = c.replies[0]!;
  assert.ok(e.y === 'e' && e.code === 203 && Buffer.from(e.t).toString() === 'xy', JSON.stringify(e));
  assert.match(e.y === 'e' ? e.message : '', /info_hash/);
  c.socket.send(Buffer.from('d1:ti0e1:y1:qe'), node.port, '127.0.0.1'); // no readable t: dropped
  c.socket.send(Buffer.from('dnot bencode'), node.port, '127.0.0.1');
  // Not a dictionary: the UDP endpoint's uTP side (src/net/udp-endpoint.ts), none here: dropped
  // before the node sees it.
  c.socket.send(Buffer.from('not bencode'), node.port, '127.0.0.1');
  await until(() => node.stats.malformed === 3);
  send(c.socket, node.port, { q: 'ping', id: randomNodeId() }, 'zz');
  await until(() => c.replies.length === 2);
  assert.equal(Buffer.from(c.replies[1]!.t).toString(), 'zz', 'the junk got no answer');
  assert.equal(node.stats.malformed, 3);
});

test('answers to a get_peers flood stay within MAX_ANSWER_BYTES_PER_SECOND, however many queries are allowed', async (t) => {
  const node = await DhtNode.open({ host: '127.0.0.1', port: 0, now: () => 5000 });
  const clients = await Promise.all(Array.from({ length: 10 }, () => client()));
  t.after(async () => {
    for (const c of clients) c.socket.close();
    await node.close();
  });
  // A popular torrent: each answer carries 50 values (~480 bytes for a ~90-byte query, ~700 with nodes).
  const infoHash = randomNodeId();
  for (let i = 0; i < 50; i++)
    node.store.announce(idHex(infoHash), { host: `10.0.0.${i + 1}`, port: 6881 }, 5000);
  let sent = 0;
  for (const c of clients) {
    for (let i = 0; i < 10; i++) send(c.socket, node.port, { q: 'get_peers', id: randomNodeId(), infoHash });
    sent += 10;
    await until(() => node.stats.queriesAnswered + node.stats.queriesDropped === sent);
  }
  // 100 queries, within both the per-source and the total count: the bytes are the bound.
  assert.ok(sent <= MAX_ANSWERS_PER_SECOND && 10 <= MAX_ANSWERS_PER_SOURCE);
  await until(() => clients.reduce((n, c) => n + c.replies.length, 0) === node.stats.queriesAnswered);
  const bytes = clients.reduce((n, c) => n + c.replies.reduce((m, r) => m + encodeKrpc(r).length, 0), 0);
  const largest = Math.max(...clients.flatMap((c) => c.replies.map((r) => encodeKrpc(r).length)));
  t.diagnostic(
    `${node.stats.queriesAnswered} answered, ${bytes} bytes, ${node.stats.queriesDropped} dropped`,
  );
  assert.ok(largest > 400, `answers carry the values (${largest} bytes)`);
  assert.ok(bytes < MAX_ANSWER_BYTES_PER_SECOND + largest, `${bytes} bytes answered`);
  assert.ok(node.stats.queriesDropped > 0);
});
