/**
 * The bookkeeping of fetching a v2 torrent's `piece layers` (BEP 52) with hash requests, after a
 * v2 magnet link's info dictionary is verified: the layers are not in it, and each file longer than
 * one piece needs its own to check its pieces. Pure and held by reference in the metadata machine's
 * context, changed only through these methods; each returns the commands it calls for (requests
 * to send, peers to drop, peers snubbed), as MetadataFetch does.
 *
 * Rules (libtorrent's hash_picker asks the same requests; the spreading is MetadataFetch's):
 * - One request per run of 512 piece hashes of a file (src/metainfo/verify-hashes.ts), proved up
 *   to the file's `pieces root`: each answer is checked on its own, against the root alone.
 * - A peer with room (at most `maxPerPeer` out) is asked the missing run outstanding at the fewest
 *   peers, not one it rejected: the first answer that verifies is kept, later ones ignored.
 * - The driver checks each answer against its file's `pieces root` (src/metainfo/verify-hashes.ts,
 *   SHA-256: not in a machine) and passes on the proved run, or that it did not prove: that drops
 *   its sender for good (`badHashes`), as a forged copy of the metadata does; an answer to a
 *   request never made is ignored.
 * - A reject, or a request older than `requestTimeoutTicks`, leaves the peer alone for
 *   `backoffTicks` (snubbed, closed by the driver when others wait for its slot); a rejected run is
 *   not asked of that peer again.
 * - Memory: one layer of 32 bytes per piece of the layered files (a few runs in flight are views
 *   into the messages, copied out once verified).
 */

import {
  type LayeredFile,
  pieceLayerRequest,
  pieceLayerRunCount,
} from '../src/metainfo/piece-layer-requests.js';
import { HASH_LENGTH } from '../src/wire/limits.js';
import type { HashRange } from '../src/wire/messages.js';
import type { MetadataFetchLimits } from './metadata-fetch.js';

export type PieceLayerCommand =
  | { readonly type: 'hashRequest'; readonly peer: string; readonly range: HashRange }
  | { readonly type: 'drop'; readonly peer: string; readonly reason: 'badHashes' }
  | { readonly type: 'snubbed'; readonly peer: string; readonly reason: 'timedOut' | 'rejected' };

/** What is fetched: the torrent's piece layer height and its files longer than one piece. */
export interface PieceLayerPlan {
  readonly pieceLayer: number;
  readonly files: readonly LayeredFile[];
}

interface Run {
  readonly file: number;
  readonly range: HashRange;
  /** Real piece hashes in this run (the rest of the run is padding). */
  readonly count: number;
  done: boolean;
}

interface PeerState {
  /** run → tick asked. */
  readonly outstanding: Map<number, number>;
  /** Runs whose request timed out or that another peer answered first: an answer is still taken. */
  readonly late: Set<number>;
  /** Runs this peer rejected: not asked of it again. */
  readonly rejected: Set<number>;
  idleUntil: number;
}

/** A request's fields as one string: its file's `pieces root` (hex) and the four numbers. */
function runKey(r: HashRange): string {
  return `${Buffer.from(r.piecesRoot.buffer, r.piecesRoot.byteOffset, r.piecesRoot.byteLength).toString('hex')}/${r.baseLayer}/${r.index}/${r.length}/${r.proofLayers}`;
}

export class PieceLayerFetch {
  readonly #limits: MetadataFetchLimits;
  readonly #runs: Run[] = [];
  /**
   * Each run by its request's fields (runKey): an answer or reject is matched in one look-up, not a
   * scan of every run — a peer's cheap `hash reject`s naming no run of ours cost nothing per run.
   */
  readonly #runIndex = new Map<string, number>();
  readonly #layers: Uint8Array[];
  readonly #peers = new Map<string, PeerState>();
  readonly #excluded = new Set<string>();
  #tick = 0;
  #received = 0;
  #missingRuns: number;
  /** The runs not in yet, in run order (a Set: the ones in are not scanned again). */
  readonly #missing = new Set<number>();
  /** Answers that did not verify. */
  badAnswers = 0;
  readonly hashCount: number;

  constructor(plan: PieceLayerPlan, limits: MetadataFetchLimits, excluded: Iterable<string> = []) {
    this.#limits = limits;
    for (const peer of excluded) this.#excluded.add(peer);
    this.#layers = plan.files.map((f) => new Uint8Array(f.pieces * HASH_LENGTH));
    plan.files.forEach((f, file) => {
      for (let run = 0; run < pieceLayerRunCount(f.pieces); run++) {
        const range = pieceLayerRequest(f, plan.pieceLayer, run);
        this.#runIndex.set(runKey(range), this.#runs.length);
        this.#runs.push({ file, range, count: Math.min(range.length, f.pieces - range.index), done: false });
      }
    });
    this.#missingRuns = this.#runs.length;
    for (let r = 0; r < this.#runs.length; r++) this.#missing.add(r);
    this.hashCount = plan.files.reduce((n, f) => n + f.pieces, 0);
  }

  get complete(): boolean {
    return this.#missingRuns === 0;
  }
  /** Piece hashes verified so far (of hashCount). */
  get received(): number {
    return this.#received;
  }
  get peerCount(): number {
    return this.#peers.size;
  }
  /** Each layered file's piece layer, in the plan's order (whole once complete). */
  get layers(): readonly Uint8Array[] {
    return this.#layers;
  }

  /**
   * Whether `peer` may still be asked for something: a run not in yet that it has not rejected.
   * False for a peer not in the fetch (never added, removed, or dropped for bad hashes).
   */
  mayAsk(peer: string): boolean {
    const p = this.#peers.get(peer);
    if (p === undefined) return false;
    for (const r of this.#missing) if (!p.rejected.has(r)) return true;
    return false;
  }

  addPeer(peer: string): PieceLayerCommand[] {
    if (this.#excluded.has(peer) || this.#peers.has(peer)) return [];
    this.#peers.set(peer, { outstanding: new Map(), late: new Set(), rejected: new Set(), idleUntil: 0 });
    return this.#schedule();
  }

  removePeer(peer: string): PieceLayerCommand[] {
    if (!this.#peers.delete(peer)) return [];
    return this.#schedule();
  }

  /**
   * A `hashes` message answering `range`: `proved` is its run of base-layer hashes when it folded
   * to its file's `pieces root` (checked by the driver), undefined when it did not. Kept when it
   * answers a request of ours.
   */
  hashes(peer: string, range: HashRange, proved: Uint8Array | undefined): PieceLayerCommand[] {
    const p = this.#peers.get(peer);
    if (p === undefined) return [];
    const r = this.#runOf(range);
    if (r === undefined || (!p.outstanding.has(r) && !p.late.has(r))) return [];
    p.outstanding.delete(r);
    p.late.delete(r);
    const run = this.#runs[r]!;
    if (proved === undefined || proved.length !== run.range.length * HASH_LENGTH) {
      this.badAnswers++;
      this.#excluded.add(peer);
      this.#peers.delete(peer);
      return [{ type: 'drop', peer, reason: 'badHashes' }, ...this.#schedule()];
    }
    if (!run.done) {
      run.done = true;
      this.#missing.delete(r);
      this.#missingRuns--;
      this.#received += run.count;
      this.#layers[run.file]!.set(proved.subarray(0, run.count * HASH_LENGTH), run.range.index * HASH_LENGTH);
      for (const other of this.#peers.values()) if (other.outstanding.delete(r)) other.late.add(r);
    }
    return this.#schedule();
  }

  /** A `hash reject`: the run goes to another peer; this one is left alone for a while. */
  reject(peer: string, range: HashRange): PieceLayerCommand[] {
    const p = this.#peers.get(peer);
    const r = this.#runOf(range);
    if (p === undefined || r === undefined || !p.outstanding.delete(r)) return [];
    p.rejected.add(r);
    p.idleUntil = this.#tick + this.#limits.backoffTicks;
    return [{ type: 'snubbed', peer, reason: 'rejected' }, ...this.#schedule()];
  }

  tick(): PieceLayerCommand[] {
    this.#tick++;
    const snubbed: PieceLayerCommand[] = [];
    for (const [peer, p] of this.#peers) {
      let timedOut = false;
      for (const [r, at] of p.outstanding)
        if (this.#tick - at >= this.#limits.requestTimeoutTicks) {
          p.outstanding.delete(r);
          p.late.add(r);
          timedOut = true;
        }
      if (!timedOut) continue;
      p.idleUntil = this.#tick + this.#limits.backoffTicks;
      snubbed.push({ type: 'snubbed', peer, reason: 'timedOut' });
    }
    return [...snubbed, ...this.#schedule()];
  }

  toJSON(): object {
    return {
      runs: this.#runs.length,
      missingRuns: this.#missingRuns,
      received: this.#received,
      hashes: this.hashCount,
      peers: this.#peers.size,
      excluded: this.#excluded.size,
    };
  }

  #runOf(range: HashRange): number | undefined {
    return this.#runIndex.get(runKey(range));
  }

  #schedule(): PieceLayerCommand[] {
    const out: PieceLayerCommand[] = [];
    if (this.complete) return out;
    /** Run → the peers it is outstanding at (absent: none). */
    const askedAt = new Map<number, number>();
    for (const p of this.#peers.values())
      for (const r of p.outstanding.keys()) askedAt.set(r, (askedAt.get(r) ?? 0) + 1);
    for (const [peer, p] of this.#peers) {
      if (p.idleUntil > this.#tick) continue;
      while (p.outstanding.size < this.#limits.maxPerPeer) {
        let best = -1;
        let bestAsked = 0;
        for (const r of this.#missing) {
          if (p.outstanding.has(r) || p.rejected.has(r)) continue;
          const asked = askedAt.get(r) ?? 0;
          if (best < 0 || asked < bestAsked) {
            best = r;
            bestAsked = asked;
          }
          if (asked === 0) break; // none is asked of fewer: the first such is the one
        }
        if (best < 0) break;
        askedAt.set(best, bestAsked + 1);
        p.late.delete(best);
        p.outstanding.set(best, this.#tick);
        out.push({ type: 'hashRequest', peer, range: this.#runs[best]!.range });
      }
    }
    return out;
  }
}
