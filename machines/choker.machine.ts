/**
 * The choking algorithm (BEP 3, as libtorrent, Transmission and the original client do it), as a
 * machine the torrent machine invokes (id `choker`), so every decision shows in the inspector.
 *
 * - Regular unchoke slots (default 4), recomputed every `rechokeMs` (10 s): the interested peers
 *   with the best rate — what they send us while we download (tit-for-tat), what we send them
 *   while we seed (they take it fastest) — ties by key, so a round is deterministic.
 * - One optimistic unchoke, rotated every `optimisticRounds` rechokes (3 → 30 s), to a random
 *   interested peer outside the regular set (seeded PRNG from input): how a newcomer with nothing
 *   to offer gets its first pieces, and how we find peers better than our current ones.
 * - Anti-snubbing: a peer that sent us nothing for a minute while we were interested (the peer
 *   machine's `snubbed`) gets no regular slot while we download; it may still win the optimistic one.
 * - A free slot is filled at once when a peer becomes interested (no 10 s wait for the first
 *   unchoke) or when an unchoked peer leaves.
 * - A peer that said it will not download (BEP 21 `upload_only`) is not unchoked, regular or
 *   optimistic, nor ranked as interested, whatever it says: it only holds a slot another could use.
 *   Unchoked when it says so, it is choked at once.
 *
 * Talks only to its parent: takes choker.* events, sends `choker.decision {unchoke, choke}`.
 */
import { assign, enqueueActions, setup } from 'xstate';
import { mulberry32 } from '../src/picker/prng.js';
import type { PeerKey } from './peer.types.js';

export const DEFAULT_UNCHOKE_SLOTS = 4;
export const DEFAULT_RECHOKE_MS = 10_000;
/** Rechoke rounds per optimistic rotation: 3 × 10 s = 30 s (BEP 3). */
export const DEFAULT_OPTIMISTIC_ROUNDS = 3;

export interface ChokerInput {
  readonly seed: number;
  readonly slots?: number;
  readonly rechokeMs?: number;
  readonly optimisticRounds?: number;
  readonly seeding?: boolean;
}

/** What the choker knows of a peer (its parent keeps it current). */
export interface ChokerPeer {
  interested: boolean;
  downloadRate: number;
  uploadRate: number;
  snubbed: boolean;
  /** BEP 21: it said `upload_only`, it will not download from us. */
  uploadOnly: boolean;
}

export type ChokerEvent =
  | { type: 'choker.peerJoined'; key: PeerKey }
  | { type: 'choker.peerLeft'; key: PeerKey }
  | {
      type: 'choker.peerUpdate';
      key: PeerKey;
      interested?: boolean;
      downloadRate?: number;
      uploadRate?: number;
      snubbed?: boolean;
      uploadOnly?: boolean;
    }
  | { type: 'choker.seeding'; seeding: boolean };

/** Choker → parent: unchoke these, choke those (each list only holds changes). */
export interface ChokerDecision {
  readonly type: 'choker.decision';
  readonly unchoke: PeerKey[];
  readonly choke: PeerKey[];
}

export interface ChokerContext {
  readonly slots: number;
  readonly rechokeMs: number;
  readonly optimisticRounds: number;
  readonly random: () => number;
  /** By reference, changed only in named actions. */
  readonly peers: Map<PeerKey, ChokerPeer>;
  /** Every peer we unchoke now (regular ∪ optimistic); at most slots + 1. */
  readonly unchoked: Set<PeerKey>;
  optimistic: PeerKey | undefined;
  round: number;
  seeding: boolean;
}

/** The rate that earns a regular slot: theirs to us while downloading, ours to them while seeding. */
function rateOf(c: ChokerContext, p: ChokerPeer): number {
  return c.seeding ? p.uploadRate : p.downloadRate;
}

/** Interested, and downloading from us: an upload-only peer (BEP 21) counts as not interested. */
function wantsUpload(p: ChokerPeer): boolean {
  return p.interested && !p.uploadOnly;
}

function mayHoldRegular(c: ChokerContext, p: ChokerPeer): boolean {
  return wantsUpload(p) && (c.seeding || !p.snubbed);
}

/** Interested, eligible peers, best rate first (ties by key: deterministic). */
function ranked(c: ChokerContext): PeerKey[] {
  const keys: PeerKey[] = [];
  for (const [k, p] of c.peers) if (mayHoldRegular(c, p)) keys.push(k);
  return keys.sort((a, b) => {
    const d = rateOf(c, c.peers.get(b)!) - rateOf(c, c.peers.get(a)!);
    return d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0;
  });
}

/**
 * The unchoked set after a round (`full`: regular slots recomputed, `rotate`: a new optimistic
 * peer) or after a change (only free slots filled). Returns the new set and optimistic peer.
 */
export function chooseUnchoked(
  c: ChokerContext,
  opts: { full: boolean; rotate: boolean },
): { unchoked: Set<PeerKey>; optimistic: PeerKey | undefined } {
  const regular = new Set<PeerKey>();
  if (!opts.full) {
    // Keep the current regular peers that may still hold a slot; fill free slots by rank.
    for (const k of c.unchoked) {
      const p = c.peers.get(k);
      if (k !== c.optimistic && p !== undefined && mayHoldRegular(c, p)) regular.add(k);
    }
  }
  for (const k of ranked(c)) {
    if (regular.size >= c.slots) break;
    if (!opts.full && k === c.optimistic) continue;
    regular.add(k);
  }
  let optimistic = opts.rotate ? undefined : c.optimistic;
  const op = optimistic === undefined ? undefined : c.peers.get(optimistic);
  if (op === undefined || !wantsUpload(op) || (optimistic !== undefined && regular.has(optimistic)))
    optimistic = undefined;
  if (optimistic === undefined) {
    const choices: PeerKey[] = [];
    for (const [k, p] of c.peers) if (wantsUpload(p) && !regular.has(k)) choices.push(k);
    choices.sort();
    // After a rotation, prefer someone new when there is anyone else to choose.
    const fresh = opts.rotate && choices.length > 1 ? choices.filter((k) => k !== c.optimistic) : choices;
    if (fresh.length > 0) optimistic = fresh[Math.floor(c.random() * fresh.length)];
  }
  const unchoked = new Set(regular);
  if (optimistic !== undefined) unchoked.add(optimistic);
  return { unchoked, optimistic };
}

function decide(c: ChokerContext, next: Set<PeerKey>): ChokerDecision | undefined {
  const unchoke = [...next].filter((k) => !c.unchoked.has(k));
  const choke = [...c.unchoked].filter((k) => !next.has(k) && c.peers.has(k));
  if (unchoke.length === 0 && choke.length === 0) return undefined;
  return { type: 'choker.decision', unchoke, choke };
}

export const chokerMachine = setup({
  types: {
    context: {} as ChokerContext,
    events: {} as ChokerEvent,
    input: {} as ChokerInput,
  },
  delays: {
    rechoke: ({ context }) => context.rechokeMs,
  },
  actions: {
    addPeer: ({ context, event }) => {
      if (event.type !== 'choker.peerJoined' || context.peers.has(event.key)) return;
      context.peers.set(event.key, {
        interested: false,
        downloadRate: 0,
        uploadRate: 0,
        snubbed: false,
        uploadOnly: false,
      });
    },
    removePeer: ({ context, event }) => {
      if (event.type !== 'choker.peerLeft') return;
      context.peers.delete(event.key);
      context.unchoked.delete(event.key);
    },
    updatePeer: ({ context, event }) => {
      if (event.type !== 'choker.peerUpdate') return;
      const p = context.peers.get(event.key);
      if (p === undefined) return;
      if (event.interested !== undefined) p.interested = event.interested;
      if (event.downloadRate !== undefined) p.downloadRate = event.downloadRate;
      if (event.uploadRate !== undefined) p.uploadRate = event.uploadRate;
      if (event.snubbed !== undefined) p.snubbed = event.snubbed;
      if (event.uploadOnly !== undefined) p.uploadOnly = event.uploadOnly;
    },
    setSeeding: assign(({ event }) => ({ seeding: event.type === 'choker.seeding' && event.seeding })),
    /** Fill free slots now (a peer became interested, or an unchoked one left). */
    fillSlots: enqueueActions(({ context, enqueue }) => {
      const { unchoked, optimistic } = chooseUnchoked(context, { full: false, rotate: false });
      const d = decide(context, unchoked);
      context.unchoked.clear();
      for (const k of unchoked) context.unchoked.add(k);
      enqueue.assign({ optimistic });
      if (d !== undefined) enqueue.sendParent(d);
    }),
    /** The 10 s round: regular slots by rate, the optimistic one rotated every optimisticRounds. */
    rechoke: enqueueActions(({ context, enqueue }) => {
      const round = context.round + 1;
      const rotate = round % context.optimisticRounds === 0;
      const { unchoked, optimistic } = chooseUnchoked(context, { full: true, rotate });
      const d = decide(context, unchoked);
      context.unchoked.clear();
      for (const k of unchoked) context.unchoked.add(k);
      enqueue.assign({ optimistic, round });
      if (d !== undefined) enqueue.sendParent(d);
    }),
  },
}).createMachine({
  id: 'choker',
  context: ({ input }) => ({
    slots: input.slots ?? DEFAULT_UNCHOKE_SLOTS,
    rechokeMs: input.rechokeMs ?? DEFAULT_RECHOKE_MS,
    optimisticRounds: input.optimisticRounds ?? DEFAULT_OPTIMISTIC_ROUNDS,
    random: mulberry32(input.seed ^ 0x5eed),
    peers: new Map(),
    unchoked: new Set(),
    optimistic: undefined,
    round: 0,
    seeding: input.seeding ?? false,
  }),
  initial: 'running',
  on: {
    'choker.peerJoined': { actions: 'addPeer' },
    'choker.peerLeft': { actions: ['removePeer', 'fillSlots'] },
    'choker.peerUpdate': { actions: ['updatePeer', 'fillSlots'] },
    'choker.seeding': { actions: ['setSeeding', 'rechoke'] },
  },
  states: {
    running: {
      after: { rechoke: { target: 'running', reenter: true, actions: 'rechoke' } },
    },
  },
});
