/**
 * The slot policy with real sockets on 127.0.0.1 (machines/torrent-slots.ts): a seeder whose
 * every slot is wanted by sockets that never send a byte still answers an honest peer's handshake,
 * wired as src/session/download.ts wires it — the listener's sockets go to the torrent machine as
 * `peer.incoming`, each adopted one gets a TCP connection actor, a refused one is destroyed.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { createActor, fromCallback } from 'xstate';
import { peerMachine } from '../../../machines/peer.machine.js';
import { torrentMachine } from '../../../machines/torrent.machine.js';
import { formatPeerAddress } from '../../../src/net/address.js';
import { listenForPeers } from '../../../src/net/listen.js';
import { tcpConnection } from '../../../src/net/tcp-connection.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import { encodeHandshake } from '../../../src/wire/encode-message.js';

const INFO_HASH = new Uint8Array(20).fill(7);

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.on('error', reject);
  });
}

/** The first `n` bytes the socket receives, or undefined if it closes or `ms` pass first. */
function firstBytes(s: Socket, n: number, ms: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const done = (b: Buffer | undefined) => {
      clearTimeout(timer);
      resolve(b);
    };
    const timer = setTimeout(() => done(undefined), ms);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= n) done(got.subarray(0, n));
    });
    s.on('close', () => done(undefined));
  });
}

test('sockets that never handshake do not lock an honest peer out of a full seeder', async (t) => {
  const listener = await listenForPeers({ port: 0, host: '127.0.0.1' });
  const sockets: Socket[] = [];
  const machine = torrentMachine.provide({
    actors: {
      peer: peerMachine.provide({ actors: { connection: tcpConnection } }),
      storage: fromCallback(() => {}),
    },
  });
  const actor = createActor(machine, {
    input: {
      infoHash: INFO_HASH,
      peerId: new Uint8Array(20).fill(1),
      pieceCount: 8,
      pieceLength: 16384,
      totalLength: 8 * 16384,
      maxPeers: 2,
      maxHalfOpen: 4,
      seed: 1,
      have: Bitfield.full(8),
      seedWhenComplete: true,
      listenPort: listener.port,
    },
  });
  actor.on('torrent.incomingRejected', (e) => (e.handle as Socket).destroy());
  actor.start();
  listener.connections$.subscribe((socket) =>
    actor.send({
      type: 'peer.incoming',
      address: formatPeerAddress({ host: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 }),
      handle: socket,
    }),
  );
  t.after(async () => {
    for (const s of sockets) s.destroy();
    actor.stop();
    await listener.close();
  });

  // Twenty sockets that connect and send nothing: ten times the slots.
  for (let i = 0; i < 20; i++) sockets.push(await open(listener.port));
  const honest = await open(listener.port);
  sockets.push(honest);
  const answer = firstBytes(honest, 68, 5_000);
  honest.write(
    encodeHandshake({ reserved: new Uint8Array(8), infoHash: INFO_HASH, peerId: new Uint8Array(20).fill(9) }),
  );
  const handshake = await answer;
  assert.ok(handshake !== undefined, 'the honest peer got no handshake');
  assert.deepEqual(new Uint8Array(handshake.subarray(28, 48)), INFO_HASH);
});
