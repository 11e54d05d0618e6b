/**
 * Runs the REAL torrent and peer machines against a swarm of FakePeers in virtual time: the
 * `connection` actor is an in-memory pipe to a FakePeer, `storage` keeps the bytes in memory and
 * checks SHA-1 (node:crypto is fine in tests). The driver advances one SimulatedClock (XState's
 * timers) and the fake peers together, in small steps while anything is in flight and larger ones
 * when idle, until the torrent machine is done or the virtual-time budget runs out.
 */
import { createHash } from 'node:crypto';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import { peerMachine } from '../../machines/peer.machine.js';
import type {
  ConnectionCommand,
  ConnectionInput,
  PeerLimits,
  PeerTimeouts,
} from '../../machines/peer.types.js';
import { torrentMachine } from '../../machines/torrent.machine.js';
import type {
  StorageCommand,
  StorageInput,
  TorrentEmitted,
  TorrentOutput,
} from '../../machines/torrent.types.js';
import { mulberry32 } from '../../src/picker/prng.js';
import { FakePeer, type FakePeerSpec, type SwarmWorld } from './fake-peer.js';

export interface SwarmSpec {
  readonly seed: number;
  readonly pieceCount: number;
  readonly blocksPerPiece: number;
  readonly blockLength: number;
  /** Bytes cut from the end of the last piece (0 = full). */
  readonly lastPieceShortBy: number;
  readonly maxPeers: number;
  readonly peers: readonly FakePeerSpec[];
}

export interface SwarmRun {
  readonly output: TorrentOutput | undefined;
  readonly payload: Uint8Array;
  readonly stored: Uint8Array;
  readonly violations: string[];
  readonly banned: Set<string>;
  readonly events: TorrentEmitted[];
  readonly fakes: FakePeer[];
  readonly virtualMs: number;
  readonly steps: number;
}

/** Short timeouts so misbehaving peers are dropped within a few virtual seconds. */
export const SIM_TIMEOUTS: Partial<PeerTimeouts> = {
  connect: 3_000,
  handshake: 3_000,
  request: 5_000,
  idle: 20_000,
  keepAlive: 10_000,
};

export interface RunOptions {
  readonly maxVirtualMs?: number;
  readonly stepMs?: number;
  readonly idleStepMs?: number;
  readonly limits?: Partial<PeerLimits>;
  readonly timeouts?: Partial<PeerTimeouts>;
  /** Record every emitted event (off for big runs). */
  readonly recordEvents?: boolean;
}

export function addressOf(i: number): string {
  return `10.0.${i >> 8}.${i & 255}:6881`;
}

export function runSwarm(spec: SwarmSpec, opts: RunOptions = {}): SwarmRun {
  const pieceLength = spec.blocksPerPiece * spec.blockLength;
  const totalLength = Math.max(
    1,
    spec.pieceCount * pieceLength - Math.min(spec.lastPieceShortBy, pieceLength - 1),
  );
  const payload = new Uint8Array(totalLength);
  const rnd = mulberry32(spec.seed);
  for (let i = 0; i < totalLength; i++) payload[i] = Math.floor(rnd() * 256);
  const hashes: Buffer[] = [];
  for (let i = 0; i < spec.pieceCount; i++)
    hashes.push(
      createHash('sha1')
        .update(payload.subarray(i * pieceLength, Math.min(totalLength, (i + 1) * pieceLength)))
        .digest(),
    );
  const stored = new Uint8Array(totalLength);
  const maxPipeline = opts.limits?.maxPipeline ?? 64;
  const infoHash = new Uint8Array(20).fill(0xab);
  let inEndgame = () => false;
  const world: SwarmWorld = {
    infoHash,
    payload,
    pieceLength,
    maxPipeline,
    violations: [],
    inFlight: new Map(),
    inEndgame: () => inEndgame(),
  };
  const fakes = spec.peers.map((p, i) => new FakePeer(addressOf(i), p, spec.pieceCount, world));
  const byAddress = new Map(fakes.map((f) => [f.address, f]));

  const connection = fromCallback<ConnectionCommand, ConnectionInput>(({ input, sendBack, receive }) => {
    const fake = byAddress.get(input.address);
    if (fake === undefined || fake.connected) {
      sendBack({ type: 'socket.closed', error: 'connection refused' });
      return;
    }
    const session = fake.attach(sendBack);
    receive((c) => fake.onCommand(c, session));
    return () => fake.detach(session);
  });
  /** The SHA-1 of each block of piece `index` as stored now, as the real storage reads them back. */
  const blockHashes = (index: number): Uint8Array => {
    const piece = stored.subarray(index * pieceLength, Math.min(totalLength, (index + 1) * pieceLength));
    const count = Math.ceil(piece.length / spec.blockLength);
    const out = new Uint8Array(count * 20);
    for (let b = 0; b < count; b++) {
      const block = piece.subarray(b * spec.blockLength, (b + 1) * spec.blockLength);
      out.set(createHash('sha1').update(block).digest(), b * 20);
    }
    return out;
  };
  const storage = fromCallback<StorageCommand, StorageInput>(({ sendBack, receive }) => {
    receive((c) => {
      if (c.type === 'storage.write') {
        for (const b of c.blocks) stored.set(b.block, b.index * pieceLength + b.begin);
        return;
      }
      if (c.type === 'storage.hashBlocks') {
        sendBack({ type: 'piece.blockHashes', index: c.index, hashes: blockHashes(c.index) });
        return;
      }
      const piece = stored.subarray(
        c.index * pieceLength,
        Math.min(totalLength, (c.index + 1) * pieceLength),
      );
      const ok = createHash('sha1').update(piece).digest().equals(hashes[c.index]!);
      sendBack(
        ok
          ? { type: 'piece.verified', index: c.index }
          : { type: 'piece.hashFailed', index: c.index, blockHashes: blockHashes(c.index) },
      );
    });
  });

  const clock = new SimulatedClock();
  const machine = torrentMachine.provide({
    actors: { peer: peerMachine.provide({ actors: { connection } }), storage },
  });
  const actor = createActor(machine, {
    clock,
    input: {
      infoHash,
      peerId: new Uint8Array(20).fill(0x01),
      pieceCount: spec.pieceCount,
      pieceLength,
      totalLength,
      blockLength: spec.blockLength,
      maxPeers: spec.maxPeers,
      seed: spec.seed,
      rotateMs: 5_000,
      peerTimeouts: { ...SIM_TIMEOUTS, ...opts.timeouts },
      peerLimits: { maxPipeline, ...opts.limits },
    },
  });
  const events: TorrentEmitted[] = [];
  const banned = new Set<string>();
  actor.on('*', (e) => {
    if (e.type === 'torrent.peerBanned') banned.add(e.address);
    if (opts.recordEvents !== false) events.push(e);
  });
  let failure: unknown;
  actor.subscribe({ error: (err) => (failure = err) });
  actor.start();
  inEndgame = () => actor.getSnapshot().context.picker.inEndgame;
  for (const f of fakes) actor.send({ type: 'peer.add', address: f.address });

  const maxVirtualMs = opts.maxVirtualMs ?? 300_000;
  const stepMs = opts.stepMs ?? 10;
  const idleStepMs = opts.idleStepMs ?? 250;
  let now = 0;
  let steps = 0;
  while (actor.getSnapshot().status === 'active' && now < maxVirtualMs && failure === undefined) {
    const dt = fakes.some((f) => f.busy) ? stepMs : idleStepMs;
    now += dt;
    steps++;
    clock.set(now);
    for (const f of fakes) f.step(now, dt);
  }
  if (failure !== undefined) throw failure;
  const snap = actor.getSnapshot();
  const output = snap.status === 'done' ? snap.output : undefined;
  if (process.env.SIM_DEBUG) console.log(snap.status, snap.value, snap.output, snap.error);
  actor.stop();
  return {
    output,
    payload,
    stored,
    violations: world.violations,
    banned,
    events,
    fakes,
    virtualMs: now,
    steps,
  };
}
