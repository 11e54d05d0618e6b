/**
 * Message Stream Encryption in the connection actor (tcp-connection.ts) over real sockets on
 * 127.0.0.1: a dial under `required` and an accepted socket under `allowed` carry the handshakes,
 * messages and served blocks RC4 both ways (nothing readable on the wire), through the shared read
 * buffer and the send queue; a dial the peer closes unanswered is retried once the other way and
 * never more; plain handshakes are refused under `required`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { BlockPool } from '../../../src/net/block-pool.js';
import type { EncryptionPolicy } from '../../../src/net/encryption-policy.js';
import { createTcpConnection } from '../../../src/net/tcp-connection.js';
import { PieceStore } from '../../../src/storage/piece-store.js';
import { ReadCache } from '../../../src/storage/read-cache.js';
import { encodeHandshake } from '../../../src/wire/encode-message.js';
import { makeTorrent, payloadBytes } from '../storage/make-torrent.js';
import { listen, run } from './connection-actor.js';

const PIECE = 32768;
const BLOCK = 16384;
const INFO_HASH = Uint8Array.from({ length: 20 }, (_, i) => i + 100);
const PROTOCOL = Buffer.from('\x13BitTorrent protocol', 'latin1');
const handshake = (id: number) =>
  ({
    type: 'handshake',
    reserved: new Uint8Array(8),
    infoHash: INFO_HASH,
    peerId: new Uint8Array(20).fill(id),
  }) as const;

/** Every byte between the two connections, each way, through a relay on 127.0.0.1. */
async function relay(t: TestContext, target: number) {
  const seen = { up: [] as Buffer[], down: [] as Buffer[] };
  const port = await listen(t, (client) => {
    const server = connect({ host: '127.0.0.1', port: target });
    server.on('error', () => client.destroy());
    client.on('data', (d: Buffer) => {
      seen.up.push(Buffer.from(d));
      server.write(d);
    });
    server.on('data', (d: Buffer) => {
      seen.down.push(Buffer.from(d));
      client.write(d);
    });
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  });
  return { port, seen };
}

test('required (dial) and allowed (accept) carry handshakes, messages and served blocks RC4 both ways', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-mse-conn-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const payload = payloadBytes(4 * PIECE, 5);
  const torrent = makeTorrent('m', [{ path: ['m.bin'], length: payload.length }], PIECE, payload, false);
  const store = await PieceStore.open(torrent, dir, { hashWorkers: 0 });
  t.after(() => store.close());
  for (let i = 0; i < 4; i++) await store.writeBlock(i, 0, payload.subarray(i * PIECE, (i + 1) * PIECE));

  let seeder: ReturnType<typeof run> | undefined;
  const target = await listen(t, (socket) => {
    seeder = run(
      t,
      createTcpConnection({ encryption: 'allowed', blockSource: new ReadCache(store, PIECE) }),
      {
        address: 'x',
        direction: 'incoming',
        handle: socket,
        infoHash: INFO_HASH,
        pieceCount: 4,
      },
    );
  });
  const { port, seen } = await relay(t, target);
  const leecher = run(t, createTcpConnection({ encryption: 'required', blockPool: new BlockPool(8 << 20) }), {
    address: `127.0.0.1:${port}`,
    direction: 'outgoing',
    handle: null,
    infoHash: INFO_HASH,
    pieceCount: 4,
  });
  await leecher.waitFor((e) => e.type === 'socket.connected');
  leecher.send({ type: 'send', message: handshake(1) });
  // The accepted socket's connection starts when the relay dials the target: wait for it.
  for (let i = 0; i < 1000 && seeder === undefined; i++) await new Promise((r) => setTimeout(r, 5));
  const theirs = await seeder!.waitFor((e) => e.type === 'wire.handshake');
  assert.equal(theirs.encryption, 'rc4');
  assert.deepEqual(theirs.peerId, new Uint8Array(20).fill(1));
  seeder!.send({ type: 'send', message: handshake(2) });
  const ours = await leecher.waitFor((e) => e.type === 'wire.handshake');
  assert.equal(ours.encryption, 'rc4');

  const refs = Array.from({ length: 8 }, (_, k) => ({
    index: k >> 1,
    begin: (k & 1) * BLOCK,
    length: BLOCK,
  }));
  leecher.send({ type: 'request', blocks: refs });
  await seeder!.waitFor((e) => e.type === 'wire.requests');
  const asked = seeder!.events.find((e) => e.type === 'wire.requests')!.requests;
  assert.deepEqual(asked, refs);
  seeder!.send({ type: 'serve', blocks: refs });
  seeder!.send({ type: 'send', message: { type: 'have', index: 3 } });
  await leecher.waitFor((e) => e.type === 'wire.have');
  const blocks = leecher.events.flatMap((e) =>
    e.type === 'wire.pieces'
      ? (e.blocks as { index: number; begin: number; block: Uint8Array }[])
      : e.type === 'wire.piece'
        ? [e as unknown as { index: number; begin: number; block: Uint8Array }]
        : [],
  );
  assert.equal(blocks.length, 8);
  for (const b of blocks) {
    const at = b.index * PIECE + b.begin;
    assert.deepEqual(b.block, payload.subarray(at, at + BLOCK), `block ${b.index}:${b.begin}`);
  }
  // Nothing readable went over the wire: no protocol string, no block's bytes.
  const up = Buffer.concat(seen.up);
  const down = Buffer.concat(seen.down);
  assert.equal(up.indexOf(PROTOCOL), -1);
  assert.equal(down.indexOf(PROTOCOL), -1);
  assert.equal(down.indexOf(Buffer.from(payload.subarray(0, 64))), -1);
  assert.ok(down.length > 8 * BLOCK);
});

/** A server that counts connections and what each first sent, and closes each at its first bytes. */
async function refusing(t: TestContext, keep?: (first: Buffer, s: Socket) => boolean) {
  const firsts: Buffer[] = [];
  const port = await listen(t, (s) => {
    s.once('data', (d: Buffer) => {
      firsts.push(Buffer.from(d));
      if (keep?.(d, s) !== true) s.destroy();
    });
  });
  return { port, firsts };
}

function dial(t: TestContext, port: number, encryption: EncryptionPolicy, over: { mseFirst?: boolean } = {}) {
  const c = run(t, createTcpConnection({ encryption }), {
    address: `127.0.0.1:${port}`,
    direction: 'outgoing',
    handle: null,
    infoHash: INFO_HASH,
    pieceCount: 4,
    ...over,
  });
  void c
    .waitFor((e) => e.type === 'socket.connected')
    .then(() => c.send({ type: 'send', message: handshake(1) }));
  return c;
}

test('allowed: a plain handshake closed unanswered is dialled once more with MSE, and no more', async (t) => {
  const { port, firsts } = await refusing(t);
  const c = dial(t, port, 'allowed');
  await c.waitFor((e) => e.type === 'socket.closed');
  await new Promise((r) => setTimeout(r, 100)); // a third dial would have come by now
  assert.equal(firsts.length, 2, 'two dials: plain, then MSE');
  assert.equal(firsts[0]!.subarray(0, 20).equals(PROTOCOL), true, 'the first is a plain handshake');
  assert.equal(firsts[1]!.subarray(0, 20).equals(PROTOCOL), false, 'the second opens with Ya');
  assert.ok(firsts[1]!.length >= 96);
  assert.equal(
    c.events.filter((e) => e.type === 'socket.connected').length,
    1,
    'the machine hears one connection',
  );
  assert.equal(c.events.filter((e) => e.type === 'socket.closed').length, 1);
});

test('allowed, to an address last reached over MSE (mseFirst): Ya first, and plain once if that is closed', async (t) => {
  const { port, firsts } = await refusing(t);
  const c = dial(t, port, 'allowed', { mseFirst: true });
  await c.waitFor((e) => e.type === 'socket.closed');
  await new Promise((r) => setTimeout(r, 100)); // a third dial would have come by now
  assert.equal(firsts.length, 2, 'two dials: MSE, then plain');
  assert.equal(firsts[0]!.subarray(0, 20).equals(PROTOCOL), false, 'the first opens with Ya');
  assert.equal(firsts[1]!.subarray(0, 20).equals(PROTOCOL), true, 'the second is a plain handshake');
});

test('preferred: MSE first; a peer without MSE closes it, and the plain handshake it answers comes next', async (t) => {
  const { port, firsts } = await refusing(t, (first, s) => {
    if (!first.subarray(0, 20).equals(PROTOCOL)) return false;
    s.write(encodeHandshake(handshake(9)));
    return true;
  });
  const c = dial(t, port, 'preferred');
  const hs = await c.waitFor((e) => e.type === 'wire.handshake');
  assert.equal(hs.encryption, 'none');
  assert.equal(firsts.length, 2);
  assert.equal(firsts[0]!.subarray(0, 20).equals(PROTOCOL), false, 'MSE first');
  assert.equal(firsts[1]!.subarray(0, 68).equals(Buffer.from(encodeHandshake(handshake(1)))), true);
});

test('an MSE dial the peer never answers fails with mseTimeout (a short timeout given)', async (t) => {
  const { port, firsts } = await refusing(t, () => true); // takes Ya, says nothing, keeps the socket
  const c = run(t, createTcpConnection({ encryption: 'required', mseTimeoutMs: 200 }), {
    address: `127.0.0.1:${port}`,
    direction: 'outgoing',
    handle: null,
    infoHash: INFO_HASH,
    pieceCount: 4,
  });
  await c.waitFor((e) => e.type === 'socket.connected');
  c.send({ type: 'send', message: handshake(1) });
  const error = await c.waitFor((e) => e.type === 'wire.error');
  assert.equal(error.code, 'mseTimeout');
  await c.waitFor((e) => e.type === 'socket.closed');
  assert.equal(firsts.length, 1, 'one dial: required never retries');
  assert.equal(
    c.events.some((e) => e.type === 'wire.handshake'),
    false,
  );
});

test('required: no retry in the clear, and a plain incoming handshake is refused (msePlainRefused)', async (t) => {
  const { port, firsts } = await refusing(t);
  const c = dial(t, port, 'required');
  await c.waitFor((e) => e.type === 'socket.closed');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(firsts.length, 1);

  let incoming: ReturnType<typeof run> | undefined;
  const target = await listen(t, (socket) => {
    incoming = run(t, createTcpConnection({ encryption: 'required' }), {
      address: 'x',
      direction: 'incoming',
      handle: socket,
      infoHash: INFO_HASH,
      pieceCount: 4,
    });
  });
  const s = connect({ host: '127.0.0.1', port: target });
  t.after(() => s.destroy());
  s.on('error', () => {});
  s.write(encodeHandshake(handshake(3)));
  await new Promise<void>((r) => s.once('close', () => r()));
  const error = await incoming!.waitFor((e) => e.type === 'wire.error');
  assert.equal(error.code, 'msePlainRefused');
  assert.equal(
    incoming!.events.some((e) => e.type === 'socket.connected'),
    false,
  );
});
