/**
 * A scriptable in-memory remote peer for the swarm simulation. It is the far end of one `connection`
 * actor: it answers our handshake, advertises a bitfield, unchokes when we are interested and serves
 * requests at its own rate and latency — or misbehaves as its `kind` says. Time is the driver's
 * virtual time; nothing here touches a real timer. It also checks what the machines ask of it
 * (requests for pieces it never advertised, more outstanding than the cap) and records violations.
 */
import { type ConnectionCommand, type ConnectionEvent, wireItemsOf } from '../../machines/peer.types.js';
import { Bitfield } from '../../src/picker/bitfield.js';
import type { WireItem } from '../../src/wire/messages.js';

/**
 * `spoiling`: the hostile-peer review's attack on the ban rule. It unchokes, answers only the first
 * block of each piece it was asked for, wrong, then chokes and hangs up: the rest of those pieces
 * comes from others, so each failed piece has several contributors. (The review's peer stays
 * connected, choking; here it goes, because a peer that chokes us for good would hold one of
 * `maxPeers` slots forever, which is not the ban rule's matter.)
 */
export type PeerKind =
  | 'honest'
  | 'slow'
  | 'corrupt'
  | 'spoiling'
  | 'lying'
  | 'disconnecting'
  | 'chokeFlapping'
  | 'silent';

export interface FakePeerSpec {
  readonly kind: PeerKind;
  /** The pieces it holds (and advertises): 'all' or a bit mask over the first 24 pieces. */
  readonly holds: 'all' | number;
  readonly rateKiBps: number;
  readonly latencyMs: number;
  /** disconnecting: the socket closes after this many blocks (each connection). */
  readonly blocksBeforeDisconnect: number;
  /** chokeFlapping: it chokes and unchokes us every this many ms. */
  readonly flapMs: number;
}

/** Shared by every fake peer of a swarm: the world's view for cross-peer checks. */
export interface SwarmWorld {
  readonly infoHash: Uint8Array;
  readonly payload: Uint8Array;
  readonly pieceLength: number;
  readonly maxPipeline: number;
  readonly violations: string[];
  /** How many fake peers have each block (`index:begin`) outstanding right now. */
  readonly inFlight: Map<string, number>;
  /** Whether the torrent machine's picker is in endgame right now. */
  inEndgame(): boolean;
}

/** How often a fake peer sends a keep-alive (shorter than SIM_TIMEOUTS.idle). */
const KEEP_ALIVE_MS = 5_000;

interface Pending {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
  readonly readyAt: number;
}

export class FakePeer {
  readonly address: string;
  readonly spec: FakePeerSpec;
  readonly advertised: Bitfield;
  /** Blocks it actually sent, over all its connections. */
  blocksServed = 0;
  #world: SwarmWorld;
  #send: ((e: ConnectionEvent) => void) | undefined;
  #now = 0;
  /** Everything it sends, in order (a TCP stream): delivery times never go backwards. */
  #scheduled: { at: number; event: ConnectionEvent | 'disconnect' }[] = [];
  #queue: Pending[] = [];
  #outstanding = new Set<string>();
  #choking = true;
  #weInterested = false;
  #handshaken = false;
  #budget = 0;
  #servedThisConnection = 0;
  /** spoiling: it has choked for good on this connection. */
  #sulking = false;
  #nextFlap = 0;
  #session = 0;
  #nextKeepAlive = 0;

  constructor(address: string, spec: FakePeerSpec, pieceCount: number, world: SwarmWorld) {
    this.address = address;
    this.spec = spec;
    this.#world = world;
    this.advertised = new Bitfield(pieceCount);
    for (let i = 0; i < pieceCount; i++)
      if (spec.holds === 'all' || (i < 24 && (spec.holds >> i) & 1)) this.advertised.set(i);
  }

  get connected(): boolean {
    return this.#send !== undefined;
  }

  /** Has something to do in the next few milliseconds (the driver steps finely then). */
  get busy(): boolean {
    return this.#send !== undefined && (this.#scheduled.length > 0 || this.#queue.length > 0);
  }

  /** A new connection; returns its session number (commands and detach name their session). */
  attach(send: (e: ConnectionEvent) => void): number {
    this.#send = send;
    this.#session++;
    this.#handshaken = false;
    this.#choking = true;
    this.#weInterested = false;
    this.#servedThisConnection = 0;
    this.#sulking = false;
    this.#schedule(this.spec.latencyMs, { type: 'socket.connected' });
    this.#nextFlap = this.#now + this.spec.flapMs;
    return this.#session;
  }

  /** The connection of `session` is gone (a later session is left alone). */
  detach(session: number = this.#session): void {
    if (session !== this.#session) return;
    this.#send = undefined;
    this.#scheduled = [];
    this.#dropQueue();
  }

  /** What the peer machine told its connection. */
  onCommand(c: ConnectionCommand, session: number): void {
    if (this.#send === undefined || session !== this.#session) {
      for (const m of wireItemsOf(c))
        this.#world.violations.push(`${this.address}: sent ${m.type} after close`);
      return;
    }
    if (c.type === 'close') {
      this.detach();
      return;
    }
    if (c.type === 'serve') {
      // A fake peer never requests: anything served to it was never asked for.
      this.#world.violations.push(`${this.address}: served ${c.blocks.length} blocks it never requested`);
      return;
    }
    for (const m of wireItemsOf(c)) this.#onMessage(m);
  }

  /** A wire message our peer machine sent this fake peer. */
  #onMessage(m: WireItem): void {
    switch (m.type) {
      case 'handshake': {
        if (this.spec.kind === 'silent') return;
        const peerId = new TextEncoder().encode(`-FAKE-${this.address}`.padEnd(20, '.').slice(0, 20));
        this.#schedule(this.spec.latencyMs, {
          type: 'wire.handshake',
          infoHash: this.#world.infoHash,
          peerId,
          reserved: new Uint8Array(8),
        });
        if (this.advertised.count > 0)
          this.#schedule(this.spec.latencyMs, {
            type: 'wire.bitfield',
            bitfield: Uint8Array.from(this.advertised.bytes),
          });
        this.#handshaken = true;
        return;
      }
      case 'interested':
        this.#weInterested = true;
        if (this.#choking && this.spec.kind !== 'silent' && !this.#sulking) this.#unchoke();
        return;
      case 'notInterested':
        this.#weInterested = false;
        return;
      case 'request': {
        const k = `${m.index}:${m.begin}`;
        if (!this.#handshaken) this.#world.violations.push(`${this.address}: request before handshake`);
        if (!this.advertised.has(m.index))
          this.#world.violations.push(`${this.address}: request for piece ${m.index} it never advertised`);
        if (this.#choking) return; // BEP 3: requests while choked are discarded
        if (this.#outstanding.has(k))
          this.#world.violations.push(`${this.address}: block ${k} requested twice`);
        const others = this.#world.inFlight.get(k) ?? 0;
        if (others > 0 && !this.#world.inEndgame())
          this.#world.violations.push(`${this.address}: block ${k} requested from two peers outside endgame`);
        this.#outstanding.add(k);
        this.#world.inFlight.set(k, others + 1);
        if (this.#outstanding.size > this.#world.maxPipeline)
          this.#world.violations.push(
            `${this.address}: ${this.#outstanding.size} outstanding > cap ${this.#world.maxPipeline}`,
          );
        this.#queue.push({
          index: m.index,
          begin: m.begin,
          length: m.length,
          readyAt: this.#now + this.spec.latencyMs,
        });
        return;
      }
      case 'cancel':
        this.#forget(`${m.index}:${m.begin}`);
        return;
      default:
        return;
    }
  }

  /** Advance to virtual time `now` (ms), `dt` ms after the last step. */
  step(now: number, dt: number): void {
    this.#now = now;
    if (this.#send === undefined) return;
    // Every peer but the silent one keeps the connection alive (BEP 3), the lying one included.
    if (this.spec.kind !== 'silent' && this.#handshaken && now >= this.#nextKeepAlive) {
      this.#nextKeepAlive = now + KEEP_ALIVE_MS;
      this.#schedule(0, { type: 'wire.keepAlive' });
    }
    if (this.spec.kind === 'chokeFlapping' && this.#handshaken && now >= this.#nextFlap) {
      this.#nextFlap = now + this.spec.flapMs;
      if (!this.#choking) {
        this.#choking = true;
        this.#dropQueue();
        this.#schedule(0, { type: 'wire.choke' });
      } else if (this.#weInterested) this.#unchoke();
    }
    if (this.spec.kind === 'spoiling' && !this.#choking) this.#spoil();
    else if (this.spec.kind !== 'lying' && !this.#choking) this.#serve(dt);
    while (this.#scheduled.length > 0 && this.#scheduled[0]!.at <= now) {
      const { event } = this.#scheduled.shift()!;
      if (event === 'disconnect') {
        const send = this.#send;
        this.detach();
        send({ type: 'socket.closed', error: 'connection reset by peer' });
        return;
      }
      this.#send?.(event);
      if (this.#send === undefined) return;
    }
  }

  #serve(dt: number): void {
    const perStep = (this.spec.rateKiBps * 1024 * dt) / 1000;
    this.#budget = Math.min(this.#budget + perStep, Math.max(perStep, 64 * 1024));
    while (
      this.#queue.length > 0 &&
      this.#queue[0]!.readyAt <= this.#now &&
      this.#budget >= this.#queue[0]!.length
    ) {
      const r = this.#queue.shift()!;
      const k = `${r.index}:${r.begin}`;
      if (!this.#outstanding.has(k)) continue;
      this.#forget(k);
      this.#budget -= r.length;
      const off = r.index * this.#world.pieceLength + r.begin;
      let block = this.#world.payload.slice(off, off + r.length);
      if (this.spec.kind === 'corrupt') block = block.map((b) => b ^ 0x5a);
      this.blocksServed++;
      this.#servedThisConnection++;
      this.#schedule(0, { type: 'wire.piece', index: r.index, begin: r.begin, block });
      if (
        this.spec.kind === 'disconnecting' &&
        this.#servedThisConnection >= this.spec.blocksBeforeDisconnect
      ) {
        this.#schedule(0, 'disconnect');
        this.#dropQueue();
        return;
      }
    }
  }

  /** spoiling: the first block of each piece asked for, wrong, once its requests are in; then choke. */
  #spoil(): void {
    if (this.#queue.length === 0 || this.#queue.some((r) => r.readyAt > this.#now)) return;
    for (const r of this.#queue) {
      const k = `${r.index}:${r.begin}`;
      if (r.begin !== 0 || !this.#outstanding.has(k)) continue;
      this.#forget(k);
      const off = r.index * this.#world.pieceLength;
      const block = this.#world.payload.slice(off, off + r.length);
      block[0]! ^= 0xff;
      this.blocksServed++;
      this.#schedule(0, { type: 'wire.piece', index: r.index, begin: 0, block });
    }
    this.#sulking = true;
    this.#choking = true;
    this.#dropQueue();
    this.#schedule(0, { type: 'wire.choke' });
    this.#schedule(this.spec.latencyMs, 'disconnect');
  }

  #unchoke(): void {
    this.#choking = false;
    this.#schedule(this.spec.latencyMs, { type: 'wire.unchoke' });
  }

  #schedule(delay: number, event: ConnectionEvent | 'disconnect'): void {
    const last = this.#scheduled.at(-1)?.at ?? 0;
    this.#scheduled.push({ at: Math.max(this.#now + delay, last), event });
  }

  #forget(k: string): void {
    if (!this.#outstanding.delete(k)) return;
    const n = (this.#world.inFlight.get(k) ?? 1) - 1;
    if (n <= 0) this.#world.inFlight.delete(k);
    else this.#world.inFlight.set(k, n);
  }

  #dropQueue(): void {
    for (const k of this.#outstanding) this.#forget(k);
    this.#queue = [];
  }
}
