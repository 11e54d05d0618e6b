/**
 * What the dashboard shows, rebuilt from TraceRecords alone (so a live download and a replayed
 * trace look the same): every machine actor's state and recent transitions, the torrent's
 * progress and rate, a piece map, and the peers. `view()` is the JSON sent to the page.
 */
import { describePeerId } from '../net/peer-id.js';
import { activeStateIds } from './machine-graph.js';
import type { Summary } from './summarise-event.js';
import type { TraceRecord } from './trace-record.js';

/** Piece map letters: missing, requested, have (blocks arrived, not yet verified), verified, failed. */
export const PIECE = { missing: '.', requested: 'r', have: 'h', verified: 'v', failed: 'x' } as const;
/** Transitions kept per actor for "the recent events that moved it". */
export const RECENT_TRANSITIONS = 8;
/** Closed peers kept in the view. */
export const CLOSED_PEERS_SHOWN = 20;
/** Statechart panels for machines other than the torrent and its peers. */
export const OTHER_CHARTS_SHOWN = 6;
const RATE_WINDOW_MS = 3000;

export interface ActorView {
  readonly id: string;
  readonly name: string;
  readonly machine: string | undefined;
  readonly parent: string | undefined;
  value: Summary;
  status: string;
  context: { [key: string]: Summary } | undefined;
  output: Summary;
  active: string[];
  recent: { t: number; event: string; to: string }[];
  endedAt: number | undefined;
}

export interface PeerView {
  readonly id: string;
  readonly address: string;
  readonly client: string;
  /** What carries the connection: MSE with RC4, MSE then plaintext, or none (docs/encryption.md). */
  readonly encryption: string;
  /** TCP or uTP (docs/utp.md). */
  readonly transport: string;
  readonly state: string;
  readonly amInterested: boolean;
  readonly amChoking: boolean;
  readonly peerChoking: boolean;
  readonly peerInterested: boolean;
  readonly rate: number;
  readonly outstanding: number;
  readonly closed: string | undefined;
}

export class DashboardModel {
  readonly actors = new Map<string, ActorView>();
  t = 0;
  startedAt: string | undefined;
  ended = false;
  /** Counts applied records, so a server sends a view only when something changed. */
  changes = 0;
  #pieces: string[] = [];
  #blocks: { t: number; bytes: number }[] = [];
  #downloaded = 0;

  apply(r: TraceRecord): void {
    this.t = r.t;
    this.changes++;
    switch (r.k) {
      case 'start':
        this.startedAt = r.at;
        return;
      case 'end':
        this.ended = true;
        return;
      case 'actor':
        this.actors.set(r.id, {
          id: r.id,
          name: r.name,
          machine: r.machine,
          parent: r.parent,
          value: null,
          status: 'active',
          context: undefined,
          output: null,
          active: [],
          recent: [],
          endedAt: undefined,
        });
        return;
      case 'state': {
        const a = this.actors.get(r.id);
        if (a === undefined) return;
        const to = JSON.stringify(r.value);
        if (to !== JSON.stringify(a.value)) {
          a.recent.push({ t: r.t, event: r.event, to: stateLabel(r.value) });
          if (a.recent.length > RECENT_TRANSITIONS) a.recent.shift();
          a.active = a.machine === undefined ? [] : activeStateIds(a.machine, r.value);
        }
        a.value = r.value;
        a.status = r.status;
        if (
          r.context !== undefined &&
          r.context !== null &&
          typeof r.context === 'object' &&
          !Array.isArray(r.context)
        )
          a.context = r.context;
        if (r.output !== undefined) a.output = r.output;
        if (r.status !== 'active') a.endedAt = r.t;
        if (a.machine === 'torrent' && a.context !== undefined) this.#sizePieces(a.context);
        return;
      }
      case 'event':
        this.#onEvent(r.event, r.t);
        return;
    }
  }

  #sizePieces(c: { [key: string]: Summary }): void {
    const n = c.pieceCount;
    if (typeof n === 'number' && this.#pieces.length !== n) this.#pieces = new Array(n).fill(PIECE.missing);
  }

  #onEvent(e: { type: string; [key: string]: Summary }, t: number): void {
    const index = typeof e.index === 'number' ? e.index : undefined;
    const set = (i: number | undefined, s: string, unless: readonly string[]) => {
      if (i === undefined || i < 0 || i >= this.#pieces.length) return;
      if (!unless.includes(this.#pieces[i]!)) this.#pieces[i] = s;
    };
    switch (e.type) {
      case 'send': {
        // A request leaving for the wire (peer machine → its connection actor).
        const m = e.message as { type?: Summary; index?: Summary } | null;
        if (m !== null && typeof m === 'object' && m.type === 'request' && typeof m.index === 'number')
          set(m.index, PIECE.requested, [PIECE.have, PIECE.verified]);
        return;
      }
      case 'peer.block': {
        const bytes = (e.block as { bytes?: Summary } | null)?.bytes;
        if (typeof bytes === 'number') {
          this.#downloaded += bytes;
          this.#blocks.push({ t, bytes });
        }
        set(index, PIECE.have, [PIECE.verified]);
        return;
      }
      case 'peer.blocks': {
        // A turn's blocks from one peer (read-batches.ts): each as one peer.block.
        if (!Array.isArray(e.blocks)) return;
        for (const b of e.blocks) {
          if (b === null || typeof b !== 'object' || Array.isArray(b)) continue;
          this.#onEvent({ type: 'peer.block', ...b }, t);
        }
        return;
      }
      case 'piece.verified':
        set(index, PIECE.verified, []);
        return;
      case 'pieces.verified':
        if (Array.isArray(e.indexes))
          for (const i of e.indexes) if (typeof i === 'number') set(i, PIECE.verified, []);
        return;
      case 'piece.hashFailed':
        set(index, PIECE.failed, []);
        return;
    }
  }

  /** Bytes per second over the last few seconds of trace time. */
  rate(): number {
    while (this.#blocks.length > 0 && this.#blocks[0]!.t < this.t - RATE_WINDOW_MS) this.#blocks.shift();
    let sum = 0;
    for (const b of this.#blocks) sum += b.bytes;
    return (sum * 1000) / Math.min(RATE_WINDOW_MS, Math.max(this.t, 1));
  }

  torrent(): ActorView | undefined {
    for (const a of this.actors.values()) if (a.machine === 'torrent') return a;
    return undefined;
  }

  peers(): PeerView[] {
    const live: PeerView[] = [];
    const closed: PeerView[] = [];
    for (const a of this.actors.values()) {
      if (a.machine !== 'peer') continue;
      const c = a.context ?? {};
      const remote = c.remotePeerId as { hex?: Summary } | null | undefined;
      // A peer still open when the torrent machine ended is stopped with it (no close reason of its own).
      const reason =
        a.status === 'active'
          ? undefined
          : a.status === 'stopped' && a.output === null
            ? 'stopped with the torrent'
            : reasonOf(a.output ?? c.closeReason ?? null);
      const p: PeerView = {
        id: a.id,
        address: typeof c.address === 'string' ? c.address : a.name,
        client:
          remote !== null && typeof remote === 'object' && typeof remote.hex === 'string'
            ? describePeerId(Buffer.from(remote.hex, 'hex'))
            : '',
        encryption: typeof c.encryption === 'string' ? c.encryption : 'none',
        transport: typeof c.transport === 'string' ? c.transport : 'tcp',
        state: stateLabel(a.value),
        amInterested: c.amInterested === true,
        amChoking:
          typeof c.amChoking === 'boolean' ? c.amChoking : !JSON.stringify(a.value).includes('"unchoking"'),
        peerChoking: c.peerChoking !== false,
        peerInterested: c.peerInterested === true,
        rate: typeof c.rate === 'number' ? c.rate : 0,
        outstanding: sizeOf(c.outstanding),
        closed: reason,
      };
      (reason === undefined ? live : closed).push(p);
    }
    return [...live, ...closed.slice(-CLOSED_PEERS_SHOWN)];
  }

  view(): object {
    const tor = this.torrent();
    const c = tor?.context ?? {};
    const verified = this.#pieces.filter((p) => p === PIECE.verified).length;
    const pieceCount = typeof c.pieceCount === 'number' ? c.pieceCount : this.#pieces.length;
    const charts: Record<string, object> = {};
    for (const a of this.actors.values())
      if (
        a.machine !== undefined &&
        (a.machine !== 'peer' || a.endedAt === undefined || a.endedAt > this.t - 30_000)
      )
        charts[a.id] = {
          machine: a.machine,
          name: a.name,
          active: a.active,
          recent: a.recent,
          status: a.status,
        };
    return {
      t: this.t,
      startedAt: this.startedAt,
      ended: this.ended,
      torrent:
        tor === undefined
          ? null
          : { id: tor.id, state: stateLabel(tor.value), status: tor.status, context: c },
      progress: { verified, pieceCount, downloaded: this.#downloaded, totalLength: c.totalLength ?? null },
      rate: this.rate(),
      pieces: this.#pieces.join(''),
      peers: this.peers(),
      // Every other machine in the system (trackers, later DHT, metadata…): its own statechart panel.
      others: [...this.actors.values()]
        .filter((a) => a.machine !== undefined && a.machine !== 'torrent' && a.machine !== 'peer')
        .slice(0, OTHER_CHARTS_SHOWN)
        .map((a) => ({
          id: a.id,
          machine: a.machine,
          name: a.name,
          state: stateLabel(a.value),
          status: a.status,
        })),
      charts,
    };
  }
}

/** `{connected:{download:{interested:'requesting'},upload:'choking'}}` → `connected.download.interested.requesting | connected.upload.choking`. */
export function stateLabel(value: Summary): string {
  const leaves: string[] = [];
  const walk = (prefix: string, v: Summary) => {
    if (typeof v === 'string') leaves.push(prefix === '' ? v : `${prefix}.${v}`);
    else if (v !== null && typeof v === 'object' && !Array.isArray(v))
      for (const [k, sub] of Object.entries(v)) walk(prefix === '' ? k : `${prefix}.${k}`, sub);
  };
  walk('', value);
  return leaves.join(' | ');
}

function sizeOf(x: Summary | undefined): number {
  if (x !== null && typeof x === 'object' && !Array.isArray(x) && typeof x.size === 'number') return x.size;
  return 0;
}

function reasonOf(x: Summary): string {
  if (x !== null && typeof x === 'object' && !Array.isArray(x) && typeof x.reason === 'string') {
    const rest = Object.entries(x).filter(([k]) => k !== 'reason');
    return rest.length === 0
      ? x.reason
      : `${x.reason} (${rest.map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')})`;
  }
  return typeof x === 'string' ? x : 'closed';
}
