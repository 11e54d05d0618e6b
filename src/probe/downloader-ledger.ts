/**
 * The downloader ledger: the target as a downloader, judged while the probe serves it
 * (`bitstate probe --data DIR`). Pure (no I/O, no clock). The connection (serving-connection.ts)
 * tells it what the probe announced, choked, served and rejected, in order, and hands it every
 * message the target sends; every message but requests and cancels is judged as on the fetching
 * side, by a ConformanceLedger held here (`serving`), so the findings are one list.
 *
 * Its rules (BEP 3 unless said):
 *   request.tooLong       a request of more than 16 KiB                     violation
 *   request.outOfRange    a piece past the last                             violation
 *   request.pastPieceEnd  a block that runs past its piece's end            violation
 *   request.notAnnounced  a piece we have not announced (yet)               violation
 *   request.whileChoked   a request, not allowed fast, sent after it had
 *                         read our choke                                    violation
 *   have.badData          `have` of a piece whose only bytes for one of its
 *                         blocks were a block we corrupted on purpose       violation
 *   request.overReqq      more requests pending than our BEP 10 reqq        note (BEP 10)
 *   request.empty         a request of 0 bytes                              note
 *   cancel.unrequested    a cancel of a block it never asked for            note
 *   interested.never      it never said it was interested                   note
 *
 * Choke and requests cross on the wire: a request that arrives after our choke may have left before
 * the choke reached the target. So a request is judged `whileChoked` only when the target has shown
 * that it had read past our choke when it sent it: TCP keeps our messages in order, and a request
 * for a piece that we announced after the choke cannot have been written before the target read that
 * announcement — nor, then, the choke before it. Each message that matters here gets a sequence
 * number; `#provenRead` is the highest the target's requests prove it has read. The connection
 * starts choked (BEP 3), at 0, before the opening's announcement. The others are not judged.
 */
import { pieceLengthAt } from '../metainfo/torrent.js';
import { MAX_BLOCK_LENGTH } from '../wire/limits.js';
import type { WireMessage } from '../wire/messages.js';
import type { WireError } from '../wire/wire-error.js';
import {
  ConformanceLedger,
  type Finding,
  type FindingLevel,
  type LedgerTorrent,
} from './conformance-ledger.js';

/** Requests kept pending at most; more are dropped (a note: past our reqq long before). */
export const MAX_PENDING_REQUESTS = 1_000;
/** Requests remembered for `cancel.unrequested`; past it, cancels are not judged. */
export const MAX_REMEMBERED_REQUESTS = 20_000;

export interface PendingRequest {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

/** The copies of one block we sent: a block whose every copy was corrupt is one it cannot have right. */
export interface BlockCopy {
  readonly length: number;
  good: number;
  corrupt: number;
}

/**
 * The copies of each block the probe served, by piece then offset: one connection's own, or shared
 * by every connection of a group (`--connections`), so that a good copy served on one connection
 * clears a corrupt one served on another.
 */
export type BlockCopies = Map<number, Map<number, BlockCopy>>;

const key = (index: number, begin: number, length: number) => `${index}:${begin}:${length}`;

export class DownloaderLedger {
  readonly #t: LedgerTorrent;
  readonly #wire: ConformanceLedger;
  #handshaken = false;
  #seq = 0;
  #chokeSeq = 0;
  #choking = true;
  #provenRead = 0;
  /** Our BEP 10 reqq, once our extension handshake said it. */
  #reqq: number | undefined;
  #overReqqNoted = false;
  #everInterested = false;
  readonly #announcedAt = new Map<number, number>();
  readonly #allowedFast = new Set<number>();
  readonly #pending: PendingRequest[] = [];
  readonly #requested = new Set<string>();
  readonly #refused: PendingRequest[] = [];
  readonly #copies: BlockCopies;
  #requests = 0;

  /** `copies`: shared by the connections of a group (probe-swarm.ts); else this connection's own. */
  constructor(torrent: LedgerTorrent, options: { readonly copies?: BlockCopies } = {}) {
    this.#t = torrent;
    this.#copies = options.copies ?? new Map();
    this.#wire = new ConformanceLedger(torrent, { serving: true });
  }

  get findings(): readonly Finding[] {
    return this.#wire.findings;
  }
  get violations(): number {
    return this.#wire.violations;
  }
  get fast(): boolean {
    return this.#wire.fast;
  }
  get choking(): boolean {
    return this.#choking;
  }
  /** Requests received, valid or not. */
  get requests(): number {
    return this.#requests;
  }
  set step(n: number) {
    this.#wire.step = n;
  }
  /** The target's requests we may still answer, oldest first. */
  pending(): readonly PendingRequest[] {
    return this.#pending;
  }
  /** Pieces announced so far, in the order announced. */
  announced(): number[] {
    return [...this.#announcedAt.keys()];
  }
  isAnnounced(index: number): boolean {
    return this.#announcedAt.has(index);
  }

  handshake(h: { infoHash: Uint8Array; reserved: Uint8Array }): void {
    this.#handshaken = true;
    this.#wire.handshake(h);
  }

  // What the probe sent.

  /** The opening's bitfield / haveAll (one message), or a `have` step. */
  announce(indexes: Iterable<number>): void {
    const at = ++this.#seq;
    for (const i of indexes) if (!this.#announcedAt.has(i)) this.#announcedAt.set(i, at);
  }
  offeredReqq(reqq: number): void {
    this.#reqq = reqq;
  }
  allowFast(index: number): void {
    this.#allowedFast.add(index);
  }
  unchoke(): void {
    this.#choking = false;
    this.#seq++;
  }
  /**
   * We choke. Without BEP 6 the target must take every pending request as dropped (BEP 3); with it
   * choke drops none, and the requests we will not serve must each be rejected (BEP 6): returned
   * here, all but the allowed-fast ones, which may still be served.
   */
  choke(): PendingRequest[] {
    this.#choking = true;
    this.#chokeSeq = ++this.#seq;
    const dropped = this.fast
      ? this.#pending.filter((p) => !this.#allowedFast.has(p.index))
      : [...this.#pending];
    const kept = this.#pending.filter((p) => !dropped.includes(p));
    this.#pending.splice(0, this.#pending.length, ...kept);
    return this.fast ? dropped : [];
  }
  /** Takes the `n` oldest pending requests, to be served. */
  takeOldest(n: number): PendingRequest[] {
    return this.#pending.splice(0, n);
  }
  /** Takes the `nth` (mod how many) pending request, to be rejected or answered wrongly. */
  takeNth(nth: number): PendingRequest | undefined {
    if (this.#pending.length === 0) return undefined;
    return this.#pending.splice(nth % this.#pending.length, 1)[0];
  }
  /** A block sent for one of its requests: right, or corrupted on purpose. */
  served(p: PendingRequest, corrupt: boolean): void {
    let blocks = this.#copies.get(p.index);
    if (blocks === undefined) this.#copies.set(p.index, (blocks = new Map()));
    const c = blocks.get(p.begin) ?? { length: p.length, good: 0, corrupt: 0 };
    if (corrupt) c.corrupt++;
    else c.good++;
    blocks.set(p.begin, c);
  }
  /** Requests we refused as they came (invalid, or while choked): rejects to send with BEP 6. */
  takeRefused(): PendingRequest[] {
    return this.#refused.splice(0, this.#refused.length);
  }

  // What the target sent.

  received(m: WireMessage): void {
    this.#wire.received(m);
    if (!this.#handshaken) return;
    switch (m.type) {
      case 'request':
        this.#request(m);
        return;
      case 'cancel': {
        const at = this.#pending.findIndex(
          (p) => p.index === m.index && p.begin === m.begin && p.length === m.length,
        );
        if (at >= 0) this.#pending.splice(at, 1);
        else if (
          this.#requested.size < MAX_REMEMBERED_REQUESTS &&
          !this.#requested.has(key(m.index, m.begin, m.length))
        )
          this.#find(
            'note',
            'cancel.unrequested',
            3,
            `cancelled piece ${m.index} at ${m.begin}, never asked for`,
          );
        return;
      }
      case 'have':
        this.#have(m.index);
        return;
      case 'interested':
        this.#everInterested = true;
        return;
      default:
        return;
    }
  }

  wireError(err: WireError): void {
    this.#wire.wireError(err);
  }
  note(rule: string, bep: number, detail: string): void {
    this.#wire.note(rule, bep, detail);
  }
  /** The run is over. */
  end(): void {
    if (!this.#everInterested)
      this.#find(
        'note',
        'interested.never',
        3,
        'it never said it was interested (it may have every piece we have)',
      );
  }

  #request(m: { index: number; begin: number; length: number }): void {
    this.#requests++;
    const p: PendingRequest = { index: m.index, begin: m.begin, length: m.length };
    if (this.#requested.size < MAX_REMEMBERED_REQUESTS) this.#requested.add(key(p.index, p.begin, p.length));
    const at = this.#announcedAt.get(p.index);
    if (at !== undefined && at > this.#provenRead) this.#provenRead = at;
    const verdict = this.#judge(p, at);
    if (verdict !== 'take') {
      if (verdict !== 'refuse') this.#find(verdict[0], verdict[1], 3, verdict[2]);
      // BEP 6: a request we will not serve gets a reject (without it, it is dropped).
      if (this.fast && this.#refused.length < MAX_PENDING_REQUESTS) this.#refused.push(p);
      return;
    }
    this.#pending.push(p);
    if (this.#reqq !== undefined && this.#pending.length > this.#reqq && !this.#overReqqNoted) {
      this.#overReqqNoted = true;
      this.#find(
        'note',
        'request.overReqq',
        10,
        `${this.#pending.length} requests pending, our reqq is ${this.#reqq}`,
      );
    }
  }

  /** Whether a request is taken, refused, or refused with a finding (`at`: its piece's announcement). */
  #judge(p: PendingRequest, at: number | undefined): 'take' | 'refuse' | [FindingLevel, string, string] {
    const where = `piece ${p.index} at ${p.begin}, ${p.length} bytes`;
    if (p.length > MAX_BLOCK_LENGTH)
      return ['violation', 'request.tooLong', `asked for ${where}: more than 16 KiB`];
    if (p.length === 0) return ['note', 'request.empty', `asked for ${where}`];
    if (p.index >= this.#t.pieceCount)
      return ['violation', 'request.outOfRange', `asked for ${where}, of ${this.#t.pieceCount} pieces`];
    const plen = pieceLengthAt(this.#t, p.index);
    if (p.begin + p.length > plen)
      return ['violation', 'request.pastPieceEnd', `asked for ${where}: the piece has ${plen}`];
    if (at === undefined)
      return ['violation', 'request.notAnnounced', `asked for ${where}, which we never announced`];
    if (this.#choking && !this.#allowedFast.has(p.index))
      // Only what it sent after it had read our choke is its fault (see the top of this file).
      return this.#provenRead >= this.#chokeSeq
        ? ['violation', 'request.whileChoked', `asked for ${where} while we choke it`]
        : 'refuse';
    return this.#pending.length >= MAX_PENDING_REQUESTS ? 'refuse' : 'take';
  }

  /**
   * `have` of a piece every block of which came from us in this connection (or, with shared
   * `copies`, over the probe's connections), one of them only ever corrupted: it announced a piece it
   * cannot have checked (BEP 3: a downloader checks the SHA-1). A block it had from another peer too
   * would make this wrong: the rule assumes the probe is its only source of the piece, which it is
   * for every piece the target still lacked when connected, as long as the target has no other peer
   * (docs/probe.md).
   */
  #have(index: number): void {
    const blocks = this.#copies.get(index);
    if (blocks === undefined || index >= this.#t.pieceCount) return;
    this.#copies.delete(index);
    const sorted = [...blocks].sort(([a], [b]) => a - b);
    let covered = 0;
    for (const [begin, c] of sorted) {
      if (begin > covered) return; // a hole: some block came from elsewhere
      covered = Math.max(covered, begin + c.length);
    }
    if (covered < pieceLengthAt(this.#t, index)) return;
    const bad = sorted.find(([, c]) => c.good === 0 && c.corrupt > 0);
    if (bad !== undefined)
      this.#find(
        'violation',
        'have.badData',
        3,
        `announced piece ${index}, whose block at ${bad[0]} it had only as we corrupted it: it fails the piece's SHA-1`,
      );
  }

  #find(level: FindingLevel, rule: string, bep: number, detail: string): void {
    this.#wire.record(level, rule, bep, detail);
  }
}
