/**
 * The swarm ledger: what one target did across several probe connections at once (`bitstate probe
 * --connections N`), judged by what BEP 3 asks of a client with many peers. Pure (no I/O, no
 * clock): the connections (through probe-swarm.ts) tell it what the probe announced on each, what
 * the target sent on each, and how each ended; each connection's own conversation is still judged
 * by its own ledger (conformance-ledger.ts, downloader-ledger.ts).
 *
 * Its rules:
 *   block.differs           the same block (piece, offset, length) came with other bytes on
 *                           another connection: at most one of them is the torrent's    violation
 *   have.notBroadcast       a piece the target announced (bitfield or `have`) on one connection,
 *                           never announced on another that lacked it (the probe had not
 *                           announced it there) and that stayed open `haveWaitMs` after it
 *                           (BEP 3: `have` tells every peer)                             violation
 *   connection.collateral   a connection that played no hostile step was closed by the target,
 *                           after its handshake, in a group where another played one: the
 *                           target may have dropped every connection from our address    note
 *
 * A connection refused, or closed before any handshake, is the target's connection limit (as
 * Transmission's one connection per IP): its own `connection.refused` / `handshake.none` note.
 *
 * `have.notBroadcast` judges a connection only once it `lingered` — the probe kept it open, after
 * every script was played, until the target had told it every piece it was owed or `haveWaitMs`
 * had passed since the last of them was first announced elsewhere — and only of the pieces first
 * announced at least `haveWaitMs` before it stopped waiting: a `have` on its way is not a breach.
 * The times are given (`at`, milliseconds on any one clock), never read. A peer that already has
 * the piece need not be told (libtorrent's `send_redundant_have` off), so connections on which the
 * probe announced it are not judged.
 */
import { createHash } from 'node:crypto';
import type { WireMessage } from '../wire/messages.js';
import { type Finding, type FindingLevel, type LedgerTorrent, MAX_FINDINGS } from './conformance-ledger.js';

/** Blocks remembered for `block.differs`; past it, new blocks are not compared. */
export const MAX_COMPARED_BLOCKS = 20_000;
/** Most connections a group has (`--connections`). */
export const MAX_CONNECTIONS = 64;
/** Pieces named in one `have.notBroadcast` finding's detail. */
const NAMED_PIECES = 8;

/** How one connection of the group ended. */
export interface ConnectionEnd {
  /** The target closed it (or refused it, or answered no handshake). */
  readonly closedByTarget: boolean;
  /** The target refused it or answered no handshake: its connection limit, not anyone's steps. */
  readonly refused?: boolean;
  /** The first hostile step it played, in words; undefined when it played none. */
  readonly hostile: string | undefined;
  /** Steps in its script (findings about it are dated after the last). */
  readonly steps: number;
}

/**
 * What a group keeps is bounded by its connections times the torrent's pieces, a bit each (a bitfield
 * in BEP 3's order: the high bit of byte 0 is piece 0), and one time per piece: 64 connections to a
 * torrent of 2^21 pieces keep some 50 MB, not a record per piece per connection.
 */
interface Member {
  /** Pieces the probe announced on this connection. */
  readonly probeHas: Uint8Array;
  /** Pieces the target announced on this connection. */
  readonly targetHas: Uint8Array;
  played: boolean;
  /** When it stopped waiting for the haves it was owed, open (undefined: it did not). */
  lingeredAt: number | undefined;
  end: ConnectionEnd | undefined;
}

export class SwarmLedger {
  readonly #t: LedgerTorrent;
  readonly #members: Member[];
  readonly #findings: Finding[] = [];
  /** SHA-1 of each block seen, by `index:begin:length`, and the connection it came on first. */
  readonly #blocks = new Map<string, { digest: string; connection: number }>();
  /** Blocks found to differ (each reported once). */
  readonly #differing = new Set<string>();
  /** When the target first announced each piece, on any connection (Infinity: not yet). */
  readonly #firstAnnounced: Float64Array;
  /** The pieces the target announced on any connection (those with a time above). */
  readonly #announced: Uint8Array;
  readonly #haveWaitMs: number;
  #allPlayed = false;

  /** `haveWaitMs`: how long after a piece's first announcement a connection that lacks it must be told. */
  constructor(torrent: LedgerTorrent, connections: number, haveWaitMs: number) {
    if (!Number.isInteger(connections) || connections < 1 || connections > MAX_CONNECTIONS)
      throw new RangeError(`connections must be 1 to ${MAX_CONNECTIONS}, not ${connections}`);
    this.#t = torrent;
    this.#haveWaitMs = haveWaitMs;
    const bytes = Math.ceil(torrent.pieceCount / 8);
    this.#firstAnnounced = new Float64Array(torrent.pieceCount).fill(Number.POSITIVE_INFINITY);
    this.#announced = new Uint8Array(bytes);
    this.#members = Array.from({ length: connections }, () => ({
      probeHas: new Uint8Array(bytes),
      targetHas: new Uint8Array(bytes),
      played: false,
      lingeredAt: undefined,
      end: undefined,
    }));
  }

  get connections(): number {
    return this.#members.length;
  }
  get findings(): readonly Finding[] {
    return this.#findings;
  }
  get violations(): number {
    return this.#findings.filter((f) => f.level === 'violation').length;
  }
  /** Every connection has played its script (or ended). */
  get allPlayed(): boolean {
    return this.#allPlayed;
  }

  /** The probe announced these pieces on connection `c` (its opening, or a `have` step). */
  probeAnnounced(c: number, indexes: Iterable<number>): void {
    const m = this.#member(c);
    for (const i of indexes)
      if (Number.isInteger(i) && i >= 0 && i < this.#t.pieceCount) m.probeHas[i >> 3]! |= 0x80 >> (i & 7);
  }

  /**
   * A message the target sent on connection `c` after its step `step`, received at `at` (judged
   * there by its own ledger).
   */
  targetSent(c: number, msg: WireMessage, step: number, at: number): void {
    const m = this.#member(c);
    const n = this.#t.pieceCount;
    switch (msg.type) {
      case 'have':
        if (msg.index < n) this.#has(m, msg.index >> 3, 0x80 >> (msg.index & 7), at);
        return;
      case 'haveAll':
        for (let j = 0; j < m.targetHas.length; j++) this.#has(m, j, 0xff, at);
        return;
      case 'bitfield':
        for (let j = 0; j < m.targetHas.length && j < msg.bitfield.length; j++)
          if (msg.bitfield[j] !== 0) this.#has(m, j, msg.bitfield[j]!, at);
        return;
      case 'piece':
        this.#block(c, msg.index, msg.begin, msg.block, step);
        return;
      default:
        return;
    }
  }

  /** Connection `c` has played its script (or ended early). */
  played(c: number): void {
    this.#member(c).played = true;
    this.#allPlayed = this.#members.every((m) => m.played);
  }

  /**
   * The pieces connection `c` is owed a `have` of: first announced by the target (on any
   * connection) at or before `by`, announced on `c` neither by the target nor by the probe.
   */
  owed(c: number, by = Number.POSITIVE_INFINITY): number[] {
    const m = this.#member(c);
    const out: number[] = [];
    for (let j = 0; j < this.#announced.length; j++) {
      const lacks = this.#announced[j]! & ~m.targetHas[j]! & ~m.probeHas[j]!;
      if (lacks !== 0)
        for (let k = 0; k < 8; k++)
          if (lacks & (0x80 >> k) && this.#firstAnnounced[j * 8 + k]! <= by) out.push(j * 8 + k);
    }
    return out;
  }

  /**
   * Until when connection `c` must wait to judge what it is owed: `haveWaitMs` after the latest
   * first announcement of a piece it is owed (undefined: it is owed nothing).
   */
  owedUntil(c: number): number | undefined {
    let latest: number | undefined;
    for (const i of this.owed(c)) latest = Math.max(latest ?? 0, this.#firstAnnounced[i]!);
    return latest === undefined ? undefined : latest + this.#haveWaitMs;
  }

  /** Connection `c` stopped waiting for its haves at `at`, still open. */
  lingered(c: number, at: number): void {
    this.#member(c).lingeredAt = at;
  }

  /** How connection `c` ended. */
  ended(c: number, end: ConnectionEnd): void {
    this.#member(c).end = end;
  }

  /** The group is over: the rules that need every connection's end. */
  end(): void {
    for (const [c, m] of this.#members.entries()) {
      const step = m.end?.steps ?? -1;
      const owed = m.lingeredAt === undefined ? [] : this.owed(c, m.lingeredAt - this.#haveWaitMs);
      if (owed.length > 0) {
        const named = owed.slice(0, NAMED_PIECES).join(', ');
        const more = owed.length > NAMED_PIECES ? ` and ${owed.length - NAMED_PIECES} more` : '';
        const where = this.#announcedOn(owed[0]!);
        this.#find(
          'violation',
          'have.notBroadcast',
          3,
          `never announced piece${owed.length > 1 ? 's' : ''} ${named}${more} on this connection, which lacked ${owed.length > 1 ? 'them' : 'it'} (piece ${owed[0]} announced on connection ${where})`,
          c,
          step,
        );
      }
    }
    const hostile = this.#members.findIndex((m) => m.end?.hostile !== undefined);
    if (hostile < 0) return;
    const cause = this.#members[hostile]!.end!.hostile!;
    for (const [c, m] of this.#members.entries())
      if (
        m.end !== undefined &&
        m.end.hostile === undefined &&
        m.end.closedByTarget &&
        m.end.refused !== true
      )
        this.#find(
          'note',
          'connection.collateral',
          3,
          `closed by the target though it played no hostile step (connection ${hostile} played ${cause})`,
          c,
          m.end.steps,
        );
  }

  #block(c: number, index: number, begin: number, block: Uint8Array, step: number): void {
    const k = `${index}:${begin}:${block.length}`;
    const digest = createHash('sha1').update(block).digest('hex');
    const first = this.#blocks.get(k);
    if (first === undefined) {
      if (this.#blocks.size < MAX_COMPARED_BLOCKS) this.#blocks.set(k, { digest, connection: c });
      return;
    }
    if (first.digest === digest || this.#differing.has(k)) return;
    this.#differing.add(k);
    this.#find(
      'violation',
      'block.differs',
      3,
      `the block of piece ${index} at ${begin} (${block.length} bytes) differs from the one connection ${first.connection} got`,
      c,
      step,
    );
  }

  /**
   * The target announced the pieces of `bits` (byte `j` of a bitfield) on member `m` at `at`: each
   * first announced anywhere is dated. Spare bits past the last piece are not pieces.
   */
  #has(m: Member, j: number, bits: number, at: number): void {
    const spare = (j + 1) * 8 - this.#t.pieceCount;
    const valid = spare > 0 ? bits & (0xff << spare) : bits;
    m.targetHas[j]! |= valid;
    const fresh = valid & ~this.#announced[j]!;
    if (fresh === 0) return;
    this.#announced[j]! |= fresh;
    for (let k = 0; k < 8; k++) if (fresh & (0x80 >> k)) this.#firstAnnounced[j * 8 + k] = at;
  }

  #announcedOn(index: number): number {
    return this.#members.findIndex((m) => (m.targetHas[index >> 3]! & (0x80 >> (index & 7))) !== 0);
  }

  #member(c: number): Member {
    const m = this.#members[c];
    if (m === undefined) throw new RangeError(`no connection ${c} in a group of ${this.#members.length}`);
    return m;
  }

  #find(level: FindingLevel, rule: string, bep: number, detail: string, connection: number, step: number) {
    if (this.#findings.length < MAX_FINDINGS)
      this.#findings.push({ level, rule, bep, detail, step, connection });
  }
}
