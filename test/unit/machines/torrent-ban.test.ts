/**
 * The ban rule through the torrent machine (docs/machines.md, "The ban rule"): an attacker that
 * spoils one block of each piece beside an honest seeder is banned once a piece passes, and the
 * honest seeder, whose blocks matched, never is. Storage is in memory and hashes for real.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { fromCallback } from 'xstate';
import type { BlockRef } from '../../../machines/peer.types.js';
import type { StorageCommand, StorageInput } from '../../../machines/torrent.types.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import { start as startTorrent } from './torrent-harness.js';

const PIECES = 6;
const BLOCK = 1024;
const PIECE = 2 * BLOCK;
const payload = Uint8Array.from({ length: PIECES * PIECE }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest();

/** The torrent machine, peers whose wire we drive by hand, and a storage that keeps bytes in memory. */
function start() {
  const stored = new Uint8Array(payload.length);
  const piece = (i: number) => stored.subarray(i * PIECE, (i + 1) * PIECE);
  const blockHashes = (i: number) => {
    const out = new Uint8Array(2 * 20);
    for (let b = 0; b < 2; b++) out.set(sha1(piece(i).subarray(b * BLOCK, (b + 1) * BLOCK)), b * 20);
    return out;
  };
  const storage = fromCallback<StorageCommand, StorageInput>(({ sendBack, receive }) => {
    receive((c) => {
      if (c.type === 'storage.write')
        for (const b of c.blocks) stored.set(b.block, b.index * PIECE + b.begin);
      else if (c.type === 'storage.hashBlocks')
        sendBack({ type: 'piece.blockHashes', index: c.index, hashes: blockHashes(c.index) });
      else if (sha1(piece(c.index)).equals(sha1(payload.subarray(c.index * PIECE, (c.index + 1) * PIECE))))
        sendBack({ type: 'piece.verified', index: c.index });
      else sendBack({ type: 'piece.hashFailed', index: c.index, blockHashes: blockHashes(c.index) });
    });
  });
  const { actor, clock, live, requested, emitted } = startTorrent(
    { pieceCount: PIECES, pieceLength: PIECE, totalLength: PIECES * PIECE, blockLength: BLOCK, maxPeers: 4 },
    { storage },
  );
  /** Requests each address was sent and has not answered yet (`answer` takes them off). */
  const asked = requested;
  /** The peer at `address` connects, has every piece and unchokes us (BEP 3, no fast extension). */
  const seeder = (address: string, id: number) => {
    actor.send({ type: 'peer.add', address });
    const send = live.get(address)!;
    send({ type: 'socket.connected' });
    send({
      type: 'wire.handshake',
      infoHash: new Uint8Array(20),
      peerId: new Uint8Array(20).fill(id),
      reserved: new Uint8Array(8),
    });
    send({ type: 'wire.bitfield', bitfield: Bitfield.full(PIECES).bytes });
    return send;
  };
  /** `address` answers what it was asked, each block spoiled where `spoil` says. */
  const answer = (address: string, spoil: (b: BlockRef) => boolean) => {
    const send = live.get(address);
    const blocks = asked.get(address) ?? [];
    asked.set(address, []);
    for (const b of blocks) {
      const at = b.index * PIECE + b.begin;
      const block = payload.slice(at, at + b.length);
      if (spoil(b)) block[0]! ^= 0xff;
      send?.({ type: 'wire.piece', index: b.index, begin: b.begin, block });
    }
  };
  const banned = () => emitted.flatMap((e) => (e.type === 'torrent.peerBanned' ? [e.address] : []));
  return { actor, clock, live, asked, emitted, stored, seeder, answer, banned };
}

test('an attacker that spoils one block of each piece beside an honest seeder is banned; the seeder never', () => {
  const t = start();
  // The attacker unchokes first and is asked for every block; it answers the first block of each
  // piece, spoiled, then chokes: the rest of each piece goes to the honest seeder.
  t.seeder('a:1', 0xa)({ type: 'wire.unchoke' });
  const firstAsked = (t.asked.get('a:1') ?? []).length;
  assert.ok(firstAsked >= PIECES * 2, `the attacker was asked for every block (${firstAsked})`);
  const spoiled = (t.asked.get('a:1') ?? []).filter((b) => b.begin === 0);
  t.asked.set('a:1', spoiled);
  t.answer('a:1', () => true);
  t.live.get('a:1')!({ type: 'wire.choke' });
  const honest = t.seeder('h:1', 0x4);
  honest({ type: 'wire.unchoke' });
  // Every piece fails, with two contributors: nobody is banned yet (neither is known to be bad).
  t.answer('h:1', () => false);
  const failed = t.emitted.filter((e) => e.type === 'torrent.pieceFailed');
  assert.equal(failed.length, PIECES);
  for (const e of failed)
    assert.deepEqual(e.type === 'torrent.pieceFailed' && [...e.contributors].sort(), ['a:1', 'h:1']);
  assert.deepEqual(t.banned(), [], 'a shared failure bans no one by itself');
  // The pieces are fetched again, from the honest seeder alone; the first to pass names the attacker.
  for (let round = 0; round < 4 && (t.asked.get('h:1') ?? []).length > 0; round++)
    t.answer('h:1', () => false);
  assert.deepEqual(t.banned(), ['a:1']);
  const ban = t.emitted.find((e) => e.type === 'torrent.peerBanned');
  assert.equal(ban?.type === 'torrent.peerBanned' && ban.why, 'badBlock');
  assert.equal(t.live.has('a:1'), false, 'the attacker is closed');
  const honestClosed = t.emitted.filter((e) => e.type === 'torrent.peerClosed' && e.address === 'h:1');
  assert.ok(honestClosed.every((e) => e.type === 'torrent.peerClosed' && e.reason.reason !== 'banned'));
  assert.ok(Buffer.from(t.stored).equals(payload), 'every piece in, exact');
  assert.equal(t.actor.getSnapshot().status, 'done');
  t.actor.stop();
});

test('a spoiler that dialled in and left before its verdict is banned where it listens too', () => {
  const t = start();
  // The attacker dials in, says it listens on a:6881 (BEP 10 p), spoils the first block of each
  // piece it is asked for, and hangs up before any piece is judged.
  t.actor.send({ type: 'peer.incoming', address: 'a:50000', handle: 'in' });
  const a = t.live.get('a:50000')!;
  const reserved = new Uint8Array(8);
  reserved[5] = 0x10;
  a({ type: 'socket.connected' });
  a({ type: 'wire.handshake', infoHash: new Uint8Array(20), peerId: new Uint8Array(20).fill(0xa), reserved });
  a({ type: 'wire.extendedHandshake', listenPort: 6881 });
  a({ type: 'wire.bitfield', bitfield: Bitfield.full(PIECES).bytes });
  a({ type: 'wire.unchoke' });
  t.asked.set(
    'a:50000',
    (t.asked.get('a:50000') ?? []).filter((b) => b.begin === 0),
  );
  t.answer('a:50000', () => true);
  a({ type: 'socket.closed' });
  // The honest seeder sends the rest: the pieces fail, are fetched again from it alone, and pass.
  t.seeder('h:1', 0x4)({ type: 'wire.unchoke' });
  for (let round = 0; round < 10 && t.banned().length === 0; round++) t.answer('h:1', () => false);
  assert.deepEqual(t.banned(), ['a:50000']);
  // Where it listens is banned: never dialled, whoever names it later (the download is complete
  // here, so that is read from the address book).
  assert.equal(t.actor.getSnapshot().context.addresses.get('a:6881')?.banned, true);
  t.actor.stop();
});

test('an attacker that owns a suspect piece, spoils one block and chokes cannot own it again at once', () => {
  const t = start();
  const attacker = t.seeder('a:1', 0xa);
  const honest = t.seeder('h:1', 0x4);
  /**
   * One round of the attack, every 5 s (slow enough not to be closed as an unchoke flood): the
   * attacker answers the first block of each piece it was asked for, always spoiled the same way (so
   * no block of it is ever seen two ways), then chokes and unchokes at once, to be first in line for
   * the piece again; the honest seeder answers what it was asked.
   */
  const round = () => {
    t.asked.set(
      'a:1',
      (t.asked.get('a:1') ?? []).filter((b) => b.begin === 0),
    );
    t.answer('a:1', () => true);
    if (t.live.has('a:1')) {
      attacker({ type: 'wire.choke' });
      attacker({ type: 'wire.unchoke' });
    }
    t.answer('h:1', () => false);
    t.clock.increment(5_000);
  };
  attacker({ type: 'wire.unchoke' });
  honest({ type: 'wire.unchoke' });
  let rounds = 0;
  while (rounds < 40 && t.actor.getSnapshot().status !== 'done') {
    round();
    rounds++;
  }
  // Unbarred, the attacker owned every piece again each round: 40 rounds (200 s), no piece passed.
  assert.ok(rounds <= 3, `done in ${rounds} rounds`);
  const failed = t.emitted.filter((e) => e.type === 'torrent.pieceFailed').length;
  assert.ok(failed > 0, 'the attack spoiled some pieces');
  assert.deepEqual(t.banned(), ['a:1'], 'the attacker is named once a suspect passes');
  assert.ok(Buffer.from(t.stored).equals(payload), 'every piece in, exact');
  assert.equal(t.actor.getSnapshot().status, 'done');
  t.actor.stop();
});

test('a suspect’s incoming owner that hangs up and dials in again from a new port is still barred from it', () => {
  const t = start();
  const context = () => t.actor.getSnapshot().context;
  context().suspects.add(0); // piece 0 failed with several contributors
  /** An incoming peer from host `a` at source port `port`, with every piece, unchoking us. */
  const dialsIn = (port: number) => {
    const address = `a:${port}`;
    t.actor.send({ type: 'peer.incoming', address, handle: address });
    const send = t.live.get(address)!;
    send({ type: 'socket.connected' });
    send({
      type: 'wire.handshake',
      infoHash: new Uint8Array(20),
      peerId: new Uint8Array(20).fill(port & 0xff),
      reserved: new Uint8Array(8),
    });
    send({ type: 'wire.bitfield', bitfield: Bitfield.full(PIECES).bytes });
    send({ type: 'wire.unchoke' });
    return send;
  };
  dialsIn(50000);
  assert.equal(context().suspects.ownerOf(0), 'a:50000', 'the first incoming peer owns the suspect');
  t.live.get('a:50000')!({ type: 'socket.closed' });
  assert.equal(context().suspects.ownerOf(0), '');
  dialsIn(50001);
  assert.equal(context().suspects.ownerOf(0), '', 'the same host from a new port does not own it again');
  assert.ok(!(t.asked.get('a:50001') ?? []).some((b) => b.index === 0), 'nor is asked for it');
  t.seeder('h:1', 0x4)({ type: 'wire.unchoke' });
  assert.equal(context().suspects.ownerOf(0), 'h:1', 'another peer takes it');
  t.actor.stop();
});
