/**
 * The conformance ledger: what the probe asked of a target peer, what the target answered, and
 * every rule of BEP 3, 6 and 10 the answers broke. Pure (no I/O, no clock): the connection
 * (probe-connection.ts) tells it what was sent and received, in order, and reads `findings`.
 *
 * A finding is a `violation` when the target broke a rule another client relies on (a block it was
 * never asked for, bytes that fail the piece's SHA-1, a bitfield in the middle of the stream, a
 * BEP 6 message without the extension), a `note` when it did something a strict client would not
 * but no rule forbids outright (served a hostile request, left a request unanswered at the end).
 * Each finding names its rule (`piece.unrequested`), the BEP, and the step it came after.
 *
 * Fetching, the probe never has a piece: it announces none (`haveNone` with BEP 6, no bitfield
 * without), and offers no BEP 10 extension (`m` is empty), so a target that requests a block from
 * us, or sends an extension message under any id but 0, is wrong whatever it thinks we have.
 * Serving (`--data`), the probe never requests: the same rules hold for every message but the
 * target's requests, which the DownloaderLedger (downloader-ledger.ts) judges instead.
 */
import { BencodeDict, bdecode } from '../metainfo/bdecode.js';
import { createPieceHash } from '../metainfo/piece-hash.js';
import { pieceHash, pieceLengthAt, type Torrent } from '../metainfo/torrent.js';
import { MessageId, type WireMessage } from '../wire/messages.js';
import { hasExtensionBit, hasFastBit } from '../wire/reserved-bits.js';
import type { WireError } from '../wire/wire-error.js';

export type FindingLevel = 'violation' | 'note';

export interface Finding {
  readonly level: FindingLevel;
  /** The rule, dot.case by subject: `piece.unrequested`, `bitfield.notFirst`. */
  readonly rule: string;
  readonly bep: number;
  readonly detail: string;
  /** The script step the target answered after (-1: during the opening, before the first step). */
  readonly step: number;
  /** With several connections at once (`--connections`): which one, 0-based. */
  readonly connection?: number;
}

/** The torrent facts the rules need. */
export type LedgerTorrent = Pick<
  Torrent,
  'infoHash' | 'pieceCount' | 'pieceLength' | 'totalLength' | 'pieces' | 'version' | 'files'
>;

/** Most whole pieces assembled at once for the SHA-1 check; more `requestPiece`s go unchecked. */
export const MAX_ASSEMBLED_PIECES = 4;
/** Largest piece assembled for the SHA-1 check (bigger ones are requested, not checked). */
export const MAX_ASSEMBLED_PIECE_BYTES = 16 * 1024 * 1024;
/** Most findings kept per connection: a target that breaks one rule per message cannot grow it. */
export const MAX_FINDINGS = 100;

interface Outstanding {
  readonly length: number;
  readonly step: number;
  /** Cancelled by us: a piece or reject may still come (BEP 3: cancel races the answer). */
  cancelled: boolean;
  /** A hostile request (too long, out of range): serving it is a note, not a violation. */
  readonly hostile: boolean;
}

interface Assembly {
  readonly length: number;
  readonly blocks: Map<number, Uint8Array>;
  received: number;
}

const key = (index: number, begin: number) => `${index}:${begin}`;

export class ConformanceLedger {
  readonly #t: LedgerTorrent;
  readonly #findings: Finding[] = [];
  #step = -1;
  #fast = false;
  #extension = false;
  #handshaken = false;
  /** Messages received since the handshake other than keep-alives and BEP 10 handshakes. */
  #messagesSeen = 0;
  #announced = false;
  #choking = true;
  readonly #has: Uint8Array;
  /** Our requests not yet answered, by `index:begin`: a list, since a script may ask twice. */
  readonly #outstanding = new Map<string, Outstanding[]>();
  #outstandingCount = 0;
  readonly #assemblies = new Map<number, Assembly>();
  #reqq: number | undefined;
  #piecesVerified = 0;
  #blocksReceived = 0;

  /** `serving`: the probe serves this target, whose requests are judged elsewhere (downloader-ledger.ts). */
  readonly #serving: boolean;

  constructor(torrent: LedgerTorrent, options: { readonly serving?: boolean } = {}) {
    this.#t = torrent;
    this.#serving = options.serving === true;
    this.#has = new Uint8Array(torrent.pieceCount);
  }

  get findings(): readonly Finding[] {
    return this.#findings;
  }
  get violations(): number {
    return this.#findings.filter((f) => f.level === 'violation').length;
  }
  /** Both ends set the BEP 6 bit. */
  get fast(): boolean {
    return this.#fast;
  }
  get choking(): boolean {
    return this.#choking;
  }
  /** The target's BEP 10 `reqq` (requests it queues), once its extension handshake said it. */
  get reqq(): number | undefined {
    return this.#reqq;
  }
  get outstandingRequests(): number {
    return this.#outstandingCount;
  }
  get piecesVerified(): number {
    return this.#piecesVerified;
  }
  get blocksReceived(): number {
    return this.#blocksReceived;
  }
  /** Indexes of the pieces the target said it has, ascending. */
  haves(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#has.length; i++) if (this.#has[i] === 1) out.push(i);
    return out;
  }
  /** Our outstanding requests as [index, begin, length], oldest first (cancel picks among them). */
  outstanding(): [number, number, number][] {
    return [...this.#outstanding].flatMap(([k, list]) => {
      const [i, b] = k.split(':').map(Number) as [number, number];
      return list.map((o): [number, number, number] => [i, b, o.length]);
    });
  }

  /** The step the next answers follow. */
  set step(n: number) {
    this.#step = n;
  }

  handshake(h: { infoHash: Uint8Array; reserved: Uint8Array }): void {
    this.#handshaken = true;
    if (!Buffer.from(h.infoHash.buffer, h.infoHash.byteOffset, h.infoHash.length).equals(this.#t.infoHash))
      this.#find('violation', 'handshake.infoHash', 3, 'the handshake names another info-hash');
    // We set both bits (ourReservedBytes); an extension is on when the target sets its bit too.
    this.#fast = hasFastBit(h.reserved);
    this.#extension = hasExtensionBit(h.reserved);
  }

  /** We asked for a block (`hostile`: on purpose outside the rules); `assemble` checks its piece's hash. */
  requested(index: number, begin: number, length: number, hostile = false): void {
    const k = key(index, begin);
    const list = this.#outstanding.get(k);
    const o = { length, step: this.#step, cancelled: false, hostile };
    if (list === undefined) this.#outstanding.set(k, [o]);
    else list.push(o);
    this.#outstandingCount++;
  }

  /** Starts the SHA-1 check of piece `index` (answers whether it will be checked). */
  assemble(index: number): boolean {
    const length = pieceLengthAt(this.#t, index);
    if (this.#assemblies.has(index)) return true;
    if (this.#assemblies.size >= MAX_ASSEMBLED_PIECES || length > MAX_ASSEMBLED_PIECE_BYTES) return false;
    this.#assemblies.set(index, { length, blocks: new Map(), received: 0 });
    return true;
  }

  cancelled(index: number, begin: number): void {
    const o = this.#outstanding.get(key(index, begin))?.find((r) => !r.cancelled);
    if (o !== undefined) o.cancelled = true;
  }

  received(m: WireMessage): void {
    if (!this.#handshaken) return;
    const opening = m.type === 'bitfield' || m.type === 'haveAll' || m.type === 'haveNone';
    if (opening) this.#opening(m);
    else if (m.type !== 'keepAlive' && !(m.type === 'extended' && m.extendedId === 0)) this.#messagesSeen++;
    switch (m.type) {
      case 'choke':
        this.#choking = true;
        return;
      case 'unchoke':
        this.#choking = false;
        return;
      case 'have':
        if (this.#inRange(m.index, 'have.outOfRange', 'have')) this.#has[m.index] = 1;
        return;
      case 'bitfield':
        this.#bitfield(m.bitfield);
        return;
      case 'haveAll':
        if (this.#needsFast('haveAll')) this.#has.fill(1);
        return;
      case 'haveNone':
        this.#needsFast('haveNone');
        return;
      case 'request':
        if (!this.#serving)
          this.#find(
            'violation',
            'request.notAnnounced',
            3,
            `asked us for piece ${m.index}, which we never announced`,
          );
        return;
      case 'piece':
        this.#piece(m.index, m.begin, m.block);
        return;
      case 'reject':
        this.#reject(m.index, m.begin, m.length);
        return;
      case 'suggest':
      case 'allowedFast':
        if (this.#needsFast(m.type)) this.#inRange(m.index, `${m.type}.outOfRange`, m.type, 6);
        return;
      case 'extended':
        this.#extended(m.extendedId, m.payload);
        return;
      case 'unknown':
        this.#find('note', 'message.unknownId', 3, `a message of id ${m.id}, which no BEP we speak defines`);
        return;
      default:
        return;
    }
  }

  /** A note the connection makes itself (the target refused the connection, sent no handshake). */
  note(rule: string, bep: number, detail: string): void {
    this.#find('note', rule, bep, detail);
  }

  /** A finding of a rule judged beside this ledger (downloader-ledger.ts), kept in the same list. */
  record(level: FindingLevel, rule: string, bep: number, detail: string): void {
    this.#find(level, rule, bep, detail);
  }

  /** The target's bytes did not decode (`hostileOversized`: we had asked for a block over 16 KiB). */
  wireError(err: WireError): void {
    const oversizedPiece =
      err.messageId === MessageId.piece &&
      [...this.#outstanding.values()].some((l) => l.some((o) => o.hostile));
    if (oversizedPiece)
      this.#find('note', 'hostile.servedOversized', 3, `served a hostile request: ${err.message}`);
    else this.#find('violation', 'wire.malformed', 3, err.message);
  }

  /**
   * The run is over. With BEP 6 a peer that will not serve a request must reject it (choking no
   * longer drops requests silently): one still choking us with requests neither served nor rejected
   * gets a note (it may only be slow).
   */
  end(): void {
    if (!this.#fast || !this.#choking) return;
    const left = [...this.#outstanding.values()].flat().filter((o) => !o.cancelled && !o.hostile).length;
    if (left > 0)
      this.#find(
        'note',
        'request.unanswered',
        6,
        `${left} request(s) neither served nor rejected while it chokes us`,
      );
  }

  #opening(m: WireMessage): void {
    if (this.#announced) this.#find('violation', 'bitfield.twice', 3, `a second ${m.type}`);
    else if (this.#messagesSeen > 0)
      this.#find(
        'violation',
        'bitfield.notFirst',
        3,
        `${m.type} after ${this.#messagesSeen} other message(s)`,
      );
    this.#announced = true;
  }

  #bitfield(bits: Uint8Array): void {
    const n = this.#t.pieceCount;
    if (bits.length !== Math.ceil(n / 8)) {
      this.#find('violation', 'bitfield.length', 3, `${bits.length} bytes for ${n} pieces`);
      return;
    }
    for (let i = 0; i < n; i++) if ((bits[i >> 3]! >> (7 - (i & 7))) & 1) this.#has[i] = 1;
    const spare = n % 8 === 0 ? 0 : bits[bits.length - 1]! & (0xff >> (n % 8));
    if (spare !== 0)
      this.#find('violation', 'bitfield.spareBits', 3, 'spare bits past the last piece are set');
  }

  #piece(index: number, begin: number, block: Uint8Array): void {
    this.#blocksReceived++;
    const o = this.#take(index, begin, (r) => r.hostile || r.length === block.length);
    if (o === undefined) {
      this.#find(
        'violation',
        'piece.unrequested',
        3,
        `a block of piece ${index} at ${begin} we never asked for`,
      );
      return;
    }
    if (o.hostile) {
      this.#find('note', 'hostile.served', 3, `served the hostile request for piece ${index} at ${begin}`);
      return;
    }
    if (block.length !== o.length) {
      this.#find('violation', 'piece.wrongLength', 3, `${block.length} bytes for a request of ${o.length}`);
      return;
    }
    const a = this.#assemblies.get(index);
    if (a === undefined || a.blocks.has(begin)) return;
    a.blocks.set(begin, block.slice());
    a.received += block.length;
    if (a.received < a.length) return;
    this.#assemblies.delete(index);
    const h = createPieceHash(this.#t, index);
    for (const b of [...a.blocks.keys()].sort((x, y) => x - y)) h.update(a.blocks.get(b)!);
    if (Buffer.from(h.digest()).equals(pieceHash(this.#t, index))) this.#piecesVerified++;
    else this.#find('violation', 'piece.badHash', 3, `piece ${index} fails its hash`);
  }

  #reject(index: number, begin: number, length: number): void {
    if (!this.#needsFast('reject')) return;
    if (this.#take(index, begin, (r) => r.length === length) === undefined) {
      this.#find(
        'violation',
        'reject.unrequested',
        6,
        `rejected piece ${index} at ${begin}, never asked for`,
      );
      return;
    }
    // A rejected block will not come: its piece cannot be checked.
    this.#assemblies.delete(index);
  }

  /**
   * Takes the oldest outstanding request for (index, begin) that `fits` the answer, else the oldest
   * of any length (a piece of the wrong length is then judged against it); undefined when none.
   */
  #take(index: number, begin: number, fits: (o: Outstanding) => boolean): Outstanding | undefined {
    const k = key(index, begin);
    const list = this.#outstanding.get(k);
    if (list === undefined) return undefined;
    const at = Math.max(0, list.findIndex(fits));
    const [o] = list.splice(at, 1);
    if (list.length === 0) this.#outstanding.delete(k);
    this.#outstandingCount--;
    return o;
  }

  #extended(id: number, payload: Uint8Array): void {
    if (!this.#extension) {
      this.#find('violation', 'extended.notNegotiated', 10, 'an extension message without the BEP 10 bit');
      return;
    }
    if (id !== 0) {
      this.#find(
        'violation',
        'extended.notOffered',
        10,
        `extension message id ${id}: our handshake offered none`,
      );
      return;
    }
    let dict: unknown;
    try {
      dict = bdecode(payload, { maxTokens: 10_000 });
    } catch {
      dict = undefined;
    }
    if (!(dict instanceof BencodeDict)) {
      this.#find(
        'violation',
        'extended.badHandshake',
        10,
        'its extension handshake is not a bencoded dictionary',
      );
      return;
    }
    const reqq = dict.get('reqq');
    if (typeof reqq === 'bigint' && reqq > 0n) this.#reqq = Number(reqq > 100_000n ? 100_000n : reqq);
  }

  #needsFast(type: string): boolean {
    if (this.#fast) return true;
    this.#find('violation', 'fast.notNegotiated', 6, `${type} without the BEP 6 bit on both ends`);
    return false;
  }

  #inRange(index: number, rule: string, type: string, bep = 3): boolean {
    if (index < this.#t.pieceCount) return true;
    this.#find('violation', rule, bep, `${type} ${index} of a torrent of ${this.#t.pieceCount} pieces`);
    return false;
  }

  #find(level: FindingLevel, rule: string, bep: number, detail: string): void {
    if (this.#findings.length < MAX_FINDINGS)
      this.#findings.push({ level, rule, bep, detail, step: this.#step });
  }
}
