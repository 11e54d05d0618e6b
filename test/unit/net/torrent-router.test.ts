/**
 * The router of a port several torrents share (src/net/torrent-router.ts) against hostile and slow
 * peers, over real sockets on 127.0.0.1: a plain handshake sent a byte at a time still names its
 * torrent; past MAX_ROUTING connections at once and past MAX_WAITING for a torrent not yet taking
 * them, a newcomer is closed, not queued; a waiting connection that goes away gives its place back;
 * a closed router routes nothing more; past `maxConnections` open through it (awaiting their
 * handshake, waiting for their torrent, or the torrent's) a newcomer is closed at accept, and one
 * that closes, wherever it was, gives its place back. And the hand-over of MSE's state: BitTorrent bytes right
 * behind the handshake in the same segment, and bytes that come while the connection waits for its
 * torrent, reach the torrent's connection (tcp-connection.ts) decrypted once, in order. A route
 * takes a second info-hash later (`also`: a magnet link's torrent found a hybrid), never one
 * another route has, and gives both up as it closes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { CRYPTO_RC4, mseCipher, req1, torrentMarker } from '../../../src/net/mse-crypto.js';
import { MseInitiator } from '../../../src/net/mse-initiator.js';
import { MSE_KEY_BYTES, MseKeyPair } from '../../../src/net/mse-keys.js';
import type { RoutedSocket } from '../../../src/net/routed-socket.js';
import { createTcpConnection } from '../../../src/net/tcp-connection.js';
import { MAX_ROUTING, MAX_WAITING, TorrentRouter } from '../../../src/net/torrent-router.js';
import { encodeHandshake, encodeMessage } from '../../../src/wire/encode-message.js';
import { within } from '../../helpers/session.js';
import { listen, run } from './connection-actor.js';

const A = Uint8Array.from({ length: 20 }, (_, i) => i + 1);
const B = Uint8Array.from({ length: 20 }, (_, i) => i + 101);
const handshakeFor = (infoHash: Uint8Array) =>
  encodeHandshake({ reserved: new Uint8Array(8), infoHash, peerId: randomBytes(20) });

/**
 * A router behind a TCP listener: `accepted` counts the sockets it was given, `refused` those route()
 * closed at once, `closed` those that closed (the seeder's side).
 */
async function routerOn(t: TestContext, opts: { readonly maxConnections?: number } = {}) {
  const counts = { accepted: 0, refused: 0, closed: 0 };
  const waiters: (() => void)[] = [];
  const changed = () => {
    for (const w of waiters.splice(0)) w();
  };
  let router!: TorrentRouter;
  const port = await listen(t, (s) => {
    counts.accepted++;
    s.on('close', () => {
      counts.closed++;
      changed();
    });
    router.route(s);
    if (s.destroyed) counts.refused++;
    changed();
  });
  router = new TorrentRouter({ port, host: '127.0.0.1', ...opts });
  t.after(() => router.close());
  /** Resolves once `ok` holds of the counts. */
  const until = async (ok: (c: typeof counts) => boolean, what: string) =>
    within(
      60_000,
      (async () => {
        while (!ok(counts)) await new Promise<void>((r) => waiters.push(r));
      })(),
      what,
    );
  return { router, port, counts, until };
}

/** A client socket the test destroys after. */
function client(t: TestContext, port: number): Socket {
  const s = connect({ host: '127.0.0.1', port });
  s.on('error', () => {});
  t.after(() => s.destroy());
  return s;
}

/** Resolves when the seeder has closed `s`. */
const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.on('close', () => r())));

/** An MSE handshake (RC4) for `infoHash` over a new connection; resolves once the router has answered it whole. */
async function mseClient(t: TestContext, port: number, infoHash: Uint8Array): Promise<Socket> {
  const s = client(t, port);
  const initiator = new MseInitiator(infoHash, 'required');
  s.write(initiator.opening());
  for (const bytes of initiator.setInitialPayload(handshakeFor(infoHash))) s.write(bytes);
  await new Promise<void>((resolve, reject) => {
    s.on('data', (d: Buffer) => {
      try {
        const { send, done } = initiator.push(d);
        for (const bytes of send) s.write(bytes);
        if (done !== undefined) resolve();
      } catch (err) {
        reject(err);
      }
    });
    s.on('close', () => reject(new Error('closed before the MSE answer')));
  });
  return s;
}

/** Subscribes to a torrent's listener and collects the connections routed to it. */
function take(t: TestContext, listener: ReturnType<TorrentRouter['add']>): RoutedSocket[] {
  const got: RoutedSocket[] = [];
  const sub = listener.connections$.subscribe((s) => got.push(s));
  t.after(() => {
    sub.unsubscribe();
    for (const s of got) s.destroy();
    return listener.close();
  });
  return got;
}

test('a plain handshake sent a byte at a time is routed to its torrent, with every byte', async (t) => {
  const { router, port } = await routerOn(t);
  router.add([A]);
  const got: RoutedSocket[] = [];
  const routed = new Promise<void>((resolve) => {
    const listener = router.add([B]);
    const sub = listener.connections$.subscribe((s) => {
      got.push(s);
      resolve();
    });
    t.after(() => {
      sub.unsubscribe();
      for (const s of got) s.destroy();
      return listener.close();
    });
  });
  const s = client(t, port);
  s.setNoDelay(true);
  const bytes = Buffer.concat([handshakeFor(B), encodeMessage({ type: 'interested' })]);
  for (const byte of bytes) {
    await new Promise<void>((r) => s.write(Uint8Array.of(byte), () => r()));
    await new Promise((r) => setImmediate(r));
  }
  await within(60_000, routed, 'routed to B');
  const [one] = got;
  assert.ok(one !== undefined);
  assert.equal(one.done.encryption, 'none');
  // Its bytes so far (at least the handshake up to the info-hash), then whatever came after.
  const after = one.adopt(() => {});
  const seen = Buffer.concat([one.done.rest, ...after]);
  assert.ok(bytes.subarray(0, seen.length).equals(seen), 'the bytes as sent, in order');
  assert.ok(seen.length >= 48, 'the handshake up to its info-hash');
});

test(`past ${MAX_ROUTING} connections awaiting their handshake a newcomer is closed at once; a place freed is taken again`, async (t) => {
  const { port, counts, until } = await routerOn(t);
  const silent: Socket[] = [];
  for (let i = 0; i < MAX_ROUTING; i++) silent.push(client(t, port));
  await until((c) => c.accepted === MAX_ROUTING, 'every silent one accepted');
  assert.equal(counts.closed, 0, 'none of them closed');

  const newcomer = client(t, port);
  await until((c) => c.accepted === MAX_ROUTING + 1, 'the newcomer accepted');
  assert.equal(counts.refused, 1, 'and closed at once');
  await within(60_000, closed(newcomer), 'the newcomer sees it closed');

  silent[0]!.destroy();
  await until((c) => c.closed === 2, 'a silent one gone');
  client(t, port);
  await until((c) => c.accepted === MAX_ROUTING + 2, 'the next one accepted');
  assert.equal(counts.refused, 1, 'and kept, its handshake awaited');
});

test(`past ${MAX_WAITING} connections waiting for a torrent not taking them yet, a newcomer is closed, not queued`, async (t) => {
  const { router, port } = await routerOn(t);
  const listener = router.add([A]);
  const waiting = await Promise.all(Array.from({ length: MAX_WAITING }, () => mseClient(t, port, A)));
  const newcomer = await mseClient(t, port, A);
  await within(60_000, closed(newcomer), 'the newcomer closed');
  const got = take(t, listener);
  assert.equal(got.length, MAX_WAITING, 'those that waited, handed over');
  assert.ok(
    got.every((s) => !s.stream.destroyed),
    'all open',
  );
  assert.ok(waiting.every((s) => !s.destroyed));
});

test('a waiting connection that closes gives its place back: the next one waits instead of being closed', async (t) => {
  const { router, port, counts, until } = await routerOn(t);
  const listener = router.add([A]);
  const gone = await Promise.all(Array.from({ length: MAX_WAITING }, () => mseClient(t, port, A)));
  for (const s of gone) s.destroy();
  await until((c) => c.closed === MAX_WAITING, 'every waiting one closed');

  const newcomer = await mseClient(t, port, A);
  const got = take(t, listener);
  assert.equal(counts.closed, MAX_WAITING, 'the newcomer kept');
  assert.equal(got.length, 1, 'only the open one handed over');
  assert.equal(got[0]!.stream.destroyed, false);
  assert.equal(newcomer.destroyed, false);
});

test('past maxConnections open through the router — routing, waiting or delivered — a newcomer is closed at once; each one closed frees a place', async (t) => {
  const { router, port, counts, until } = await routerOn(t, { maxConnections: 3 });
  const waitingFor = router.add([A]); // takes nothing: its connections wait
  const listener = router.add([B]);
  const got: RoutedSocket[] = [];
  const handedOver = new Promise<void>((resolve) => {
    const sub = listener.connections$.subscribe((s) => {
      got.push(s);
      resolve();
    });
    t.after(() => {
      sub.unsubscribe();
      for (const s of got) s.destroy();
      return listener.close();
    });
  });
  // One delivered to B (its torrent has it), one waiting for A, one that has said nothing yet.
  client(t, port).write(handshakeFor(B));
  await within(60_000, handedOver, 'one delivered to B');
  assert.equal(got.length, 1);
  const waiting = await mseClient(t, port, A);
  const silent = client(t, port);
  await until((c) => c.accepted === 3, 'all three accepted');
  assert.equal(counts.refused, 0, 'none refused under the cap');
  assert.equal(router.open, 3);

  const newcomer = client(t, port);
  await until((c) => c.accepted === 4, 'the newcomer accepted');
  assert.equal(counts.refused, 1, 'and closed at once, no handshake awaited');
  await within(60_000, closed(newcomer), 'the newcomer sees it closed');

  // The torrent closes the one it had: its place is free again.
  got[0]!.stream.destroy();
  await until((c) => c.closed === 2, 'the delivered one closed');
  const next = client(t, port);
  await until((c) => c.accepted === 5, 'the next one accepted');
  assert.equal(counts.refused, 1, 'and kept');
  client(t, port);
  await until((c) => c.accepted === 6, 'one more accepted');
  assert.equal(counts.refused, 2, 'closed: the cap is full again');

  // The one waiting for A goes away (the peer closes it), then the silent one: each frees a place.
  waiting.destroy();
  await until((c) => c.closed === 4, 'the waiting one closed');
  client(t, port);
  await until((c) => c.accepted === 7, 'accepted');
  assert.equal(counts.refused, 2, 'kept, in the place the waiting one left');
  silent.destroy();
  next.destroy();
  await until((c) => c.closed === 6, 'the silent one and the next one closed');
  assert.equal(router.open, 1);
  await waitingFor.close();
});

test('a closed router routes nothing more: a connection that comes after is closed at once', async (t) => {
  const { router, port, counts, until } = await routerOn(t);
  router.add([A]);
  router.close();
  const late = client(t, port);
  await until((c) => c.accepted === 1, 'accepted');
  assert.equal(counts.refused, 1, 'closed by route(), no handshake awaited (no timer left running)');
  await within(60_000, closed(late), 'the late one sees it closed');
});

test('MSE hand-over: bytes right behind the handshake in its segment and bytes sent while waiting reach the connection decrypted once, in order', async (t) => {
  const { router, port } = await routerOn(t);
  router.add([A]);
  const listener = router.add([B]);
  const s = client(t, port);
  // MSE's initiator by hand, so that RC4 bytes can follow IA in the same write (MseInitiator holds its cipher until done).
  const keys = new MseKeyPair();
  let received = Buffer.alloc(0);
  let arrived = () => {};
  s.on('data', (d: Buffer) => {
    received = Buffer.concat([received, d]);
    arrived();
  });
  const until = async (ok: () => boolean, what: string) =>
    within(
      60_000,
      (async () => {
        while (!ok()) await new Promise<void>((r) => (arrived = r));
      })(),
      what,
    );
  s.write(keys.publicKey);
  await until(() => received.length >= MSE_KEY_BYTES, 'Yb');
  const secret = keys.secret(received.subarray(0, MSE_KEY_BYTES));
  const encrypt = mseCipher('keyA', secret, B);
  const have = (index: number) => encodeMessage({ type: 'have', index });
  const ia = Buffer.concat([handshakeFor(B), have(1)]);
  const negotiation = Buffer.alloc(8 + 4 + 2 + 2); // VC, crypto_provide, len(PadC) = 0, len(IA)
  negotiation.writeUInt32BE(CRYPTO_RC4, 8);
  negotiation.writeUInt16BE(ia.length, 14);
  s.write(
    Buffer.concat([
      req1(secret),
      torrentMarker(secret, B),
      encrypt.apply(negotiation),
      encrypt.apply(ia),
      encrypt.apply(Buffer.concat([have(2), have(3)])), // the same segment, after IA
    ]),
  );
  // The answer (ENCRYPT(VC, crypto_select, len(PadD))) is written just before the connection is
  // routed: once it is here, B holds it, waiting (B takes nothing yet). The peer goes on meanwhile.
  const vc = mseCipher('keyB', secret, B).apply(new Uint8Array(8));
  await until(() => {
    const at = received.indexOf(vc, MSE_KEY_BYTES);
    return at >= 0 && received.length >= at + 14;
  }, 'the MSE answer');
  s.write(encrypt.apply(have(4)));
  const got = take(t, listener);
  assert.equal(got.length, 1, 'it waited for B');
  const routed = got[0]!;
  const seeder = run(t, createTcpConnection({ encryption: 'allowed' }), {
    address: 'x',
    direction: 'incoming',
    handle: routed,
    infoHash: B,
    pieceCount: 8,
  });
  const indices = () =>
    seeder.events.flatMap((e) =>
      e.type === 'wire.have' ? [e.index as number] : e.type === 'wire.haves' ? (e.indices as number[]) : [],
    );
  await seeder.waitFor(() => indices().length >= 4);
  const hs = seeder.events.find((e) => e.type === 'wire.handshake');
  assert.equal(hs?.encryption, 'rc4');
  assert.deepEqual(Buffer.from(hs?.infoHash as Uint8Array), Buffer.from(B));
  assert.deepEqual(indices(), [1, 2, 3, 4]);
  assert.equal(
    seeder.events.some((e) => e.type === 'wire.error' || e.type === 'socket.closed'),
    false,
  );
});

test("also: a route takes a second info-hash (a magnet link's hybrid), plain and MSE; never another route's; its close frees both", async (t) => {
  const { router, port, counts } = await routerOn(t);
  const C = Uint8Array.from({ length: 20 }, (_, i) => i + 201);
  const other = router.add([C]);
  const route = router.add([A]);
  const got: RoutedSocket[] = [];
  let routed: () => void = () => {};
  const two = new Promise<void>((r) => (routed = r));
  const sub = route.connections$.subscribe((s) => {
    got.push(s);
    if (got.length === 2) routed();
  });
  t.after(() => {
    sub.unsubscribe();
    for (const s of got) s.destroy();
  });
  assert.equal(route.also([B, C]), false, "C is another torrent's: nothing added");
  const early = client(t, port);
  early.write(handshakeFor(B));
  await within(60_000, closed(early), 'B not routed yet: closed');
  assert.equal(route.also([A, B]), true, 'its own hash again is no conflict');
  client(t, port).write(handshakeFor(B));
  await mseClient(t, port, B);
  await within(60_000, two, 'both routed by B');
  assert.deepEqual(new Set(got.map((s) => s.done.encryption)), new Set(['none', 'rc4']));
  await route.close();
  const late = client(t, port);
  late.write(handshakeFor(B));
  await within(60_000, closed(late), 'B closed with its route');
  const plain = client(t, port);
  plain.write(handshakeFor(A));
  await within(60_000, closed(plain), 'A too');
  assert.equal(counts.refused, 0, 'each closed at its handshake, not at accept');
  await other.close();
});
