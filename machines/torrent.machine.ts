/**
 * The supervisor of one torrent's download: spawns a peer machine per connection (up to maxPeers),
 * hands out blocks from the PiecePicker (held by reference), takes back every block of a peer that
 * chokes or goes, sends endgame cancels, writes and verifies pieces through the `storage` actor, and
 * bans peers that send bad data. Ends `complete` when every piece is verified. See docs/machines.md.
 */
import { type ActorRefFrom, and, assign, enqueueActions, fromCallback, raise, sendTo, setup } from 'xstate';
import { Bitfield } from '../src/picker/bitfield.js';
import { PiecePicker } from '../src/picker/piece-picker.js';
import { mulberry32 } from '../src/picker/prng.js';
import { chokerMachine } from './choker.machine.js';
import { peerMachine } from './peer.machine.js';
import {
  type BlockRef,
  type CloseReason,
  DEFAULT_PEER_LIMITS,
  isPermanent,
  type PeerCommand,
  type PeerKey,
  type PeerLimits,
  type PeerTimeouts,
  type ReceivedBlock,
} from './peer.types.js';
import {
  BAN_STRIKES,
  DEFAULT_MAX_RECONNECTS,
  DEFAULT_ROTATE_MS,
  type StorageCommand,
  type StorageInput,
  type TorrentEmitted,
  type TorrentEvent,
  type TorrentInput,
  type TorrentOutput,
  TRACKER_GRACE_MS,
} from './torrent.types.js';
import { trackerTiersMachine } from './tracker-tiers.machine.js';

type PeerRef = ActorRefFrom<typeof peerMachine>;

/** One live connection, by reference in `peers`. */
export interface PeerEntry {
  readonly key: PeerKey;
  readonly address: string;
  readonly ref: PeerRef;
  /** The peer machine's own Bitfield object (counted in the picker's availability). */
  bitfield: Bitfield;
  handshaken: boolean;
  unchoked: boolean;
  /** We told it cmd.interested. */
  interested: boolean;
  /** Requests it still has room for, as it last reported, minus what we gave since. */
  wanted: number;
  /**
   * BEP 6: while it chokes us, the pieces we may still request from it (its allowed fast pieces
   * that it has, as it last reported); undefined when there are none or it does not choke us.
   */
  allowedFast: Bitfield | undefined;
  toJSON(): object;
}

/** What we remember of an address across connections. */
export interface AddressRecord {
  attempts: number;
  strikes: number;
  banned: boolean;
}

export interface TorrentContext {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly maxPeers: number;
  readonly maxReconnects: number;
  readonly peerTimeouts: Partial<PeerTimeouts>;
  readonly peerLimits: Partial<PeerLimits>;
  /** The cap of outstanding requests per peer (peerLimits.maxPipeline). */
  readonly maxPipeline: number;
  readonly picker: PiecePicker;
  /** Announce URLs in BEP 12 tiers; none means the `trackers` actor is never started. */
  readonly trackerTiers: readonly (readonly string[])[];
  /** Port we listen on, for announces. */
  readonly port: number;
  readonly seed: number;
  /** Live connections by key (= address). Changed only in named actions. */
  readonly peers: Map<PeerKey, PeerEntry>;
  /** Addresses waiting for a free slot, and everything known about each address. */
  readonly queue: string[];
  readonly addresses: Map<string, AddressRecord>;
  /** Peers whose accepted blocks are in each incomplete piece (for strikes and forgiveness). */
  readonly contributors: Map<number, Set<PeerKey>>;
  /**
   * Pieces that failed with several contributors: each is fetched again from ONE peer (its owner,
   * '' until a peer claims it), so the next result names the culprit or clears the owner.
   */
  readonly suspects: Map<number, PeerKey>;
  /** Every this many ms, useless peers make room for queued addresses (see dropUselessPeers). */
  readonly rotateMs: number;
  serial: number;
  storageError: string | undefined;
  /** Keep serving once complete (state `seeding`). */
  readonly seedWhenComplete: boolean;
  readonly unchokeSlots: number | undefined;
  readonly rechokeMs: number | undefined;
}

export const torrentMachine = setup({
  types: {
    context: {} as TorrentContext,
    events: {} as TorrentEvent,
    input: {} as TorrentInput,
    output: {} as TorrentOutput,
    emitted: {} as TorrentEmitted,
  },
  actors: {
    peer: peerMachine,
    /**
     * The announce lifecycle for the torrent's trackers: takes cmd.start / cmd.complete / cmd.stop,
     * reports tracker.peers / tracker.announced / tracker.failed, and finishes after its `stopped`
     * announce. Its own `announce` actor is provided in src/tracker.
     */
    trackers: trackerTiersMachine,
    /** Who we unchoke: regular slots by rate every 10 s, the optimistic one every 30 s, anti-snubbing. */
    choker: chokerMachine,
    /** Provided by the world (src/storage or test/sim); this placeholder fails at once. */
    storage: fromCallback<StorageCommand, StorageInput>(({ sendBack }) => {
      sendBack({ type: 'storage.error', message: 'no storage actor provided' });
    }),
  },
  delays: {
    rotatePeers: ({ context }) => context.rotateMs,
    /** How long we wait for trackers to hear `completed` / `stopped` before going on without them. */
    trackerGrace: TRACKER_GRACE_MS,
  },
  guards: {
    isDownloadComplete: ({ context }) => context.picker.isComplete(),
    isSeedWhenComplete: ({ context }) => context.seedWhenComplete,
    hasNoTrackers: ({ context }) => context.trackerTiers.length === 0,
    isCompletedAnnounce: ({ event }) => event.type === 'tracker.announced' && event.event === 'completed',
  },
  actions: {
    startTrackers: enqueueActions(({ context, enqueue }) => {
      if (context.trackerTiers.length > 0) enqueue.sendTo('trackers', { type: 'cmd.start' });
    }),
    completeTrackers: sendTo('trackers', { type: 'cmd.complete' }),
    stopTrackers: sendTo('trackers', { type: 'cmd.stop' }),
    reportTracker: enqueueActions(({ event, enqueue }) => {
      if (event.type === 'tracker.announced')
        enqueue.emit({
          type: 'torrent.trackerAnnounced',
          url: event.url,
          peerCount: event.peerCount,
          interval: event.interval,
          ...(event.warning === undefined ? {} : { warning: event.warning }),
        });
      else if (event.type === 'tracker.failed')
        enqueue.emit({
          type: 'torrent.trackerFailed',
          url: event.url,
          message: event.message,
          retryInMs: event.retryInMs,
        });
    }),
    queueTrackerPeers: ({ context, event }) => {
      if (event.type !== 'tracker.peers') return;
      for (const p of event.peers) {
        const address = p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`;
        if (context.addresses.has(address)) continue;
        context.addresses.set(address, { attempts: 0, strikes: 0, banned: false });
        context.queue.push(address);
      }
    },
    queueAddress: ({ context, event }) => {
      if (event.type !== 'peer.add') return;
      const rec = context.addresses.get(event.address);
      if (rec !== undefined) return; // known: queued, connected, banned or given up
      context.addresses.set(event.address, { attempts: 0, strikes: 0, banned: false });
      context.queue.push(event.address);
    },
    connectQueued: assign(({ context, spawn }) => {
      while (context.peers.size < context.maxPeers && context.queue.length > 0) {
        const address = context.queue.shift()!;
        const rec = context.addresses.get(address);
        if (rec === undefined || rec.banned || context.peers.has(address)) continue;
        rec.attempts++;
        const id = `peer:${address}#${++context.serial}`;
        const ref = spawn('peer', { id, input: peerInput(context, address, 'outgoing', undefined) });
        context.peers.set(address, newEntry(address, ref, context.pieceCount));
      }
      return { serial: context.serial };
    }),
    adoptIncoming: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'peer.incoming') return;
      const { address, handle } = event;
      const why = context.addresses.get(address)?.banned
        ? 'banned'
        : context.peers.has(address)
          ? 'duplicate'
          : context.peers.size >= context.maxPeers
            ? 'full'
            : undefined;
      if (why !== undefined) {
        enqueue.emit({ type: 'torrent.incomingRejected', address, handle, why });
        return;
      }
      if (!context.addresses.has(address))
        context.addresses.set(address, { attempts: 1, strikes: 0, banned: false });
      enqueue.assign(({ spawn }) => {
        const id = `peer:${address}#${++context.serial}`;
        const ref = spawn('peer', { id, input: peerInput(context, address, 'incoming', handle) });
        context.peers.set(address, newEntry(address, ref, context.pieceCount));
        return { serial: context.serial };
      });
    }),
    onHandshaken: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'peer.handshaken' ? context.peers.get(event.key) : undefined;
      if (e === undefined || event.type !== 'peer.handshaken') return;
      e.handshaken = true;
      e.bitfield = event.bitfield;
      enqueue.emit({ type: 'torrent.peerConnected', key: e.key, address: e.address });
    }),
    onBitfield: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'peer.bitfield' ? context.peers.get(event.key) : undefined;
      if (e === undefined || event.type !== 'peer.bitfield') return;
      // A later bitfield (aria2 sends several) replaces the earlier one in the availability counts.
      if (e.bitfield !== event.bitfield && e.bitfield.count > 0)
        context.picker.removeAvailability(e.bitfield);
      context.picker.addAvailability(event.bitfield);
      e.bitfield = event.bitfield;
      if (!e.interested && context.picker.isInterested(e.bitfield)) {
        e.interested = true;
        enqueue.sendTo(e.ref, { type: 'cmd.interested' } satisfies PeerCommand);
      }
    }),
    onHave: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'peer.have' ? context.peers.get(event.key) : undefined;
      if (e === undefined || event.type !== 'peer.have') return;
      context.picker.addHave(event.index);
      if (!e.interested && context.picker.wantsPiece(event.index)) {
        e.interested = true;
        enqueue.sendTo(e.ref, { type: 'cmd.interested' } satisfies PeerCommand);
      } else if (canRequest(e) && e.wanted > 0) {
        for (const c of fill(context, e)) enqueue.sendTo(c.ref, c.cmd);
      }
    }),
    onUnchoked: ({ context, event }) => {
      const e = event.type === 'peer.unchoked' ? context.peers.get(event.key) : undefined;
      if (e === undefined) return;
      e.unchoked = true;
      e.allowedFast = undefined;
    },
    onWantBlocks: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'peer.wantBlocks' ? context.peers.get(event.key) : undefined;
      if (e === undefined || event.type !== 'peer.wantBlocks') return;
      if (event.allowedFast === undefined) {
        e.unchoked = true;
        e.allowedFast = undefined;
      } else {
        // Choked by a fast peer: pick only among its allowed fast pieces (a handful, BEP 6).
        e.unchoked = false;
        e.allowedFast = new Bitfield(context.pieceCount);
        for (const i of event.allowedFast) e.allowedFast.set(i);
      }
      e.wanted = event.count;
      for (const c of fill(context, e)) enqueue.sendTo(c.ref, c.cmd);
    }),
    onBlock: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'peer.block') return;
      takeBlock(context, event.key, event, (c) => enqueue.sendTo('storage', c), enqueue.sendTo);
    }),
    // One event per socket read (peer.blocks), each block decided exactly as a peer.block.
    onBlocks: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'peer.blocks') return;
      const toStorage = (c: StorageCommand) => enqueue.sendTo('storage', c);
      for (const b of event.blocks) takeBlock(context, event.key, b, toStorage, enqueue.sendTo);
    }),
    onReturned: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'peer.choked' && event.type !== 'peer.returned') return;
      const e = context.peers.get(event.key);
      for (const ref of event.returned) context.picker.blockReturned(ref, event.key);
      if (e !== undefined) {
        e.wanted = 0; // it asks again when it has room
        if (event.type === 'peer.choked') {
          e.unchoked = false;
          e.allowedFast = undefined;
          releaseSuspects(context, event.key);
        }
      }
      for (const c of topUp(context)) enqueue.sendTo(c.ref, c.cmd);
    }),
    onClosed: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'peer.closed') return;
      const e = context.peers.get(event.key);
      if (e === undefined) return;
      context.peers.delete(event.key);
      context.picker.peerGone(event.key);
      context.picker.removeAvailability(e.bitfield);
      releaseSuspects(context, event.key);
      enqueue.stopChild(e.ref);
      enqueue.emit({ type: 'torrent.peerClosed', key: e.key, address: e.address, reason: event.reason });
      const rec = context.addresses.get(e.address);
      if (
        rec !== undefined &&
        !rec.banned &&
        !isPermanent(event.reason) &&
        rec.attempts <= context.maxReconnects
      )
        context.queue.push(e.address);
      for (const c of topUp(context)) enqueue.sendTo(c.ref, c.cmd);
    }),
    onVerified: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'piece.verified') return;
      const { index } = event;
      context.picker.pieceVerified(index);
      // A good piece forgives one strike of each contributor.
      for (const key of context.contributors.get(index) ?? []) {
        const rec = context.addresses.get(key);
        if (rec !== undefined && rec.strikes > 0) rec.strikes--;
      }
      context.contributors.delete(index);
      context.suspects.delete(index);
      const { have } = context.picker;
      enqueue.emit({
        type: 'torrent.pieceVerified',
        index,
        have: have.count,
        pieceCount: context.pieceCount,
      });
      // Have suppression: a peer that has the piece gains nothing from our `have`.
      for (const e of context.peers.values())
        if (e.handshaken && !e.bitfield.has(index))
          enqueue.sendTo(e.ref, { type: 'cmd.have', index } satisfies PeerCommand);
    }),
    onHashFailed: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'piece.hashFailed') return;
      const { index } = event;
      const contributors = context.picker.pieceFailed(index);
      context.contributors.delete(index);
      enqueue.emit({ type: 'torrent.pieceFailed', index, contributors });
      // The ban rule (docs/machines.md): the sole contributor of a failed piece is banned at once.
      // Several contributors: the piece becomes a suspect, fetched again from one peer only; on its
      // first failure each contributor also gets a strike, and BAN_STRIKES strikes ban.
      const wasSuspect = context.suspects.has(index);
      const sole = contributors.length === 1;
      if (sole) context.suspects.delete(index);
      else context.suspects.set(index, '');
      for (const key of contributors) {
        const rec = context.addresses.get(key);
        if (rec === undefined || rec.banned || (!sole && wasSuspect)) continue;
        rec.strikes++;
        if (!sole && rec.strikes < BAN_STRIKES) continue;
        rec.banned = true;
        enqueue.emit({
          type: 'torrent.peerBanned',
          address: key,
          why: sole ? 'soleContributor' : 'strikes',
          strikes: rec.strikes,
        });
        const e = context.peers.get(key);
        const reason: CloseReason = { reason: 'banned' };
        if (e !== undefined) enqueue.sendTo(e.ref, { type: 'cmd.close', reason } satisfies PeerCommand);
      }
      // The piece is wanted again: peers that lost interest may have it.
      for (const e of context.peers.values()) {
        if (e.interested || !e.handshaken || !e.bitfield.has(index) || context.addresses.get(e.key)?.banned)
          continue;
        e.interested = true;
        enqueue.sendTo(e.ref, { type: 'cmd.interested' } satisfies PeerCommand);
      }
      for (const c of topUp(context)) enqueue.sendTo(c.ref, c.cmd);
    }),
    dropUselessPeers: enqueueActions(({ context, enqueue }) => {
      // At the cap with addresses waiting, a peer with nothing we want only holds a slot: let it go.
      let waiting = context.queue.length;
      if (waiting === 0 || context.peers.size < context.maxPeers) return;
      for (const e of context.peers.values()) {
        if (waiting === 0) break;
        if (!e.handshaken || e.interested || context.picker.isInterested(e.bitfield)) continue;
        waiting--;
        enqueue.sendTo(e.ref, { type: 'cmd.close', reason: { reason: 'notNeeded' } } satisfies PeerCommand);
      }
    }),
    onRequest: enqueueActions(({ context, event, enqueue }) => {
      // A validated request (the peer machine checked range, length and that we have the piece).
      if (event.type !== 'peer.request' || !context.peers.has(event.key)) return;
      const { key, index, begin, length } = event;
      enqueue.sendTo('storage', { type: 'storage.read', key, index, begin, length } satisfies StorageCommand);
    }),
    onStorageBlock: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'storage.block') return;
      const e = context.peers.get(event.key);
      if (e === undefined) return; // gone meanwhile
      const { index, begin, block } = event;
      enqueue.sendTo(e.ref, { type: 'cmd.piece', index, begin, block } satisfies PeerCommand);
    }),
    tellChokerJoined: sendTo('choker', ({ event }) => ({
      type: 'choker.peerJoined' as const,
      key: event.type === 'peer.handshaken' ? event.key : '',
    })),
    tellChokerLeft: sendTo('choker', ({ event }) => ({
      type: 'choker.peerLeft' as const,
      key: event.type === 'peer.closed' ? event.key : '',
    })),
    tellChokerInterest: sendTo('choker', ({ event }) => ({
      type: 'choker.peerUpdate' as const,
      key: event.type === 'peer.interest' ? event.key : '',
      interested: event.type === 'peer.interest' && event.interested,
    })),
    tellChokerRates: sendTo('choker', ({ event }) =>
      event.type === 'peer.rate'
        ? {
            type: 'choker.peerUpdate' as const,
            key: event.key,
            downloadRate: event.downloadRate,
            uploadRate: event.uploadRate,
            snubbed: event.snubbed,
          }
        : { type: 'choker.peerUpdate' as const, key: '' },
    ),
    tellChokerSeeding: sendTo('choker', { type: 'choker.seeding', seeding: true }),
    emitSeeding: enqueueActions(({ enqueue }) => enqueue.emit({ type: 'torrent.seeding' })),
    applyChokerDecision: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'choker.decision') return;
      for (const key of event.choke) {
        const e = context.peers.get(key);
        if (e !== undefined) enqueue.sendTo(e.ref, { type: 'cmd.choke' } satisfies PeerCommand);
      }
      for (const key of event.unchoke) {
        const e = context.peers.get(key);
        if (e !== undefined) enqueue.sendTo(e.ref, { type: 'cmd.unchoke' } satisfies PeerCommand);
      }
    }),
    dropSeeds: enqueueActions(({ context, enqueue }) => {
      // Two seeds have nothing to trade: close connections to peers that have every piece.
      for (const e of context.peers.values())
        if (e.handshaken && e.bitfield.count === context.pieceCount)
          enqueue.sendTo(e.ref, { type: 'cmd.close', reason: { reason: 'notNeeded' } } satisfies PeerCommand);
    }),
    recordStorageError: assign(({ event }) => ({
      storageError: event.type === 'storage.error' ? event.message : 'storage error',
    })),
  },
}).createMachine({
  id: 'torrent',
  context: ({ input }) => {
    const picker = new PiecePicker({
      pieceCount: input.pieceCount,
      pieceLength: input.pieceLength,
      totalLength: input.totalLength,
      blockLength: input.blockLength,
      random: mulberry32(input.seed),
      endgameMaxRequesters: input.endgameMaxRequesters,
      sequential: input.sequential,
    });
    if (input.wanted !== undefined)
      for (let i = 0; i < input.pieceCount; i++) if (!input.wanted.has(i)) picker.setWanted(i, false);
    if (input.have !== undefined) for (const i of input.have.indexes()) picker.markHave(i);
    return {
      infoHash: input.infoHash,
      peerId: input.peerId,
      pieceCount: input.pieceCount,
      pieceLength: input.pieceLength,
      totalLength: input.totalLength,
      maxPeers: input.maxPeers,
      maxReconnects: input.maxReconnects ?? DEFAULT_MAX_RECONNECTS,
      peerTimeouts: input.peerTimeouts ?? {},
      peerLimits: { blockLength: input.blockLength ?? DEFAULT_PEER_LIMITS.blockLength, ...input.peerLimits },
      maxPipeline: input.peerLimits?.maxPipeline ?? DEFAULT_PEER_LIMITS.maxPipeline,
      picker,
      trackerTiers: input.trackers?.tiers ?? [],
      port: input.trackers?.port ?? 0,
      seed: input.seed,
      peers: new Map(),
      queue: [],
      addresses: new Map(),
      contributors: new Map(),
      suspects: new Map(),
      rotateMs: input.rotateMs ?? DEFAULT_ROTATE_MS,
      serial: 0,
      storageError: undefined,
      seedWhenComplete: input.seedWhenComplete ?? false,
      unchokeSlots: input.unchokeSlots,
      rechokeMs: input.rechokeMs,
    };
  },
  invoke: [
    {
      id: 'storage',
      src: 'storage',
      input: ({ context }) => ({
        infoHash: context.infoHash,
        pieceCount: context.pieceCount,
        pieceLength: context.pieceLength,
        totalLength: context.totalLength,
      }),
    },
    {
      id: 'trackers',
      src: 'trackers',
      input: ({ context }) => ({
        url: context.trackerTiers[0]?.[0] ?? '',
        tiers: context.trackerTiers,
        infoHash: context.infoHash,
        peerId: context.peerId,
        port: context.port,
        seed: context.seed,
      }),
      onDone: { actions: raise({ type: 'trackers.done' }) },
      onError: { actions: raise({ type: 'trackers.done' }) },
    },
    {
      id: 'choker',
      src: 'choker',
      input: ({ context }) => ({
        seed: context.seed,
        slots: context.unchokeSlots,
        rechokeMs: context.rechokeMs,
        seeding: context.picker.isComplete(),
      }),
    },
  ],
  // The machine's output is its final state's output (XState v5 needs the root to pass it on).
  output: ({ event }) => event.output as TorrentOutput,
  initial: 'checking',
  on: {
    'cmd.stop': '.stopping',
    'storage.error': { target: '.failed', actions: 'recordStorageError' },
    'tracker.announced': { actions: 'reportTracker' },
    'tracker.failed': { actions: 'reportTracker' },
  },
  states: {
    checking: {
      entry: 'startTrackers',
      always: [
        { guard: and(['isDownloadComplete', 'isSeedWhenComplete']), target: 'active.seeding' },
        { guard: 'isDownloadComplete', target: 'finishing' },
        { target: 'active' },
      ],
    },
    /** Connected to the swarm: downloading, then (if asked) seeding. Peers are served in both. */
    active: {
      initial: 'downloading',
      on: {
        'peer.add': { actions: ['queueAddress', 'connectQueued'] },
        'peer.incoming': { actions: 'adoptIncoming' },
        'peer.handshaken': { actions: ['onHandshaken', 'tellChokerJoined'] },
        'peer.bitfield': { actions: 'onBitfield' },
        'peer.have': { actions: 'onHave' },
        'peer.unchoked': { actions: 'onUnchoked' },
        'peer.wantBlocks': { actions: 'onWantBlocks' },
        'peer.block': { actions: 'onBlock' },
        'peer.blocks': { actions: 'onBlocks' },
        'peer.choked': { actions: 'onReturned' },
        'peer.returned': { actions: 'onReturned' },
        'peer.closed': { actions: ['onClosed', 'tellChokerLeft', 'connectQueued'] },
        'peer.interest': { actions: 'tellChokerInterest' },
        'peer.rate': { actions: 'tellChokerRates' },
        'peer.request': { actions: 'onRequest' },
        'storage.block': { actions: 'onStorageBlock' },
        'choker.decision': { actions: 'applyChokerDecision' },
        'piece.verified': { actions: 'onVerified' },
        'piece.hashFailed': { actions: 'onHashFailed' },
        'tracker.peers': { actions: ['queueTrackerPeers', 'connectQueued'] },
      },
      states: {
        downloading: {
          always: [
            {
              guard: and(['isDownloadComplete', 'isSeedWhenComplete']),
              target: 'seeding',
              actions: 'completeTrackers',
            },
            { guard: 'isDownloadComplete', target: '#torrent.finishing' },
          ],
          after: { rotatePeers: { target: 'downloading', reenter: true, actions: 'dropUselessPeers' } },
        },
        /** Every piece verified: serve until cmd.stop (the world's seed ratio / time, or the user). */
        seeding: {
          entry: ['emitSeeding', 'tellChokerSeeding', 'dropSeeds'],
          on: {
            'cmd.stop': '#torrent.closing',
            'peer.bitfield': { actions: ['onBitfield', 'dropSeeds'] },
          },
        },
      },
    },
    /** Every piece verified: trackers hear `completed` (bounded wait), then `stopped`. */
    finishing: {
      entry: 'completeTrackers',
      always: { guard: 'hasNoTrackers', target: 'closing' },
      after: { trackerGrace: 'closing' },
      on: {
        'tracker.announced': { guard: 'isCompletedAnnounce', target: 'closing', actions: 'reportTracker' },
        'tracker.failed': { target: 'closing', actions: 'reportTracker' },
        'cmd.stop': 'closing',
      },
    },
    closing: {
      entry: 'stopTrackers',
      always: { guard: 'hasNoTrackers', target: 'complete' },
      after: { trackerGrace: 'complete' },
      on: { 'trackers.done': 'complete', 'cmd.stop': {} },
    },
    /** Stopped before the end: trackers hear `stopped` (bounded wait). */
    stopping: {
      entry: 'stopTrackers',
      always: { guard: 'hasNoTrackers', target: 'stopped' },
      after: { trackerGrace: 'stopped' },
      on: { 'trackers.done': 'stopped', 'cmd.stop': {} },
    },
    complete: { type: 'final', output: { result: 'complete' } },
    stopped: { type: 'final', output: { result: 'stopped' } },
    failed: {
      type: 'final',
      output: ({ context }) => ({ result: 'storageError', message: context.storageError ?? 'storage error' }),
    },
  },
});

function newEntry(address: string, ref: PeerRef, pieceCount: number): PeerEntry {
  const e: PeerEntry = {
    key: address,
    address,
    ref,
    bitfield: new Bitfield(pieceCount),
    handshaken: false,
    unchoked: false,
    interested: false,
    wanted: 0,
    allowedFast: undefined,
    toJSON: () => ({
      address,
      have: e.bitfield.count,
      unchoked: e.unchoked,
      interested: e.interested,
      wanted: e.wanted,
    }),
  };
  return e;
}

function peerInput(c: TorrentContext, address: string, direction: 'outgoing' | 'incoming', handle: unknown) {
  return {
    key: address,
    infoHash: c.infoHash,
    peerId: c.peerId,
    pieceCount: c.pieceCount,
    pieceLength: c.pieceLength,
    totalLength: c.totalLength,
    address,
    direction,
    handle,
    ourBitfield: c.picker.have,
    timeouts: c.peerTimeouts,
    limits: c.peerLimits,
  };
}

/**
 * A block from peer `key`: the picker accepts it (or it is a late endgame duplicate / a block
 * returned meanwhile, dropped), storage writes it, endgame copies elsewhere are cancelled, and a
 * completed piece is verified.
 */
function takeBlock(
  c: TorrentContext,
  key: PeerKey,
  b: ReceivedBlock,
  toStorage: (cmd: StorageCommand) => void,
  toPeer: (ref: PeerRef, cmd: PeerCommand) => void,
): void {
  const { index, begin, block } = b;
  const ref: BlockRef = { index, begin, length: block.length };
  const got = c.picker.blockReceived(ref, key);
  if (!got.accepted) return;
  toStorage({ type: 'storage.write', index, begin, block });
  let set = c.contributors.get(index);
  if (set === undefined) c.contributors.set(index, (set = new Set()));
  set.add(key);
  // Endgame: the same block is outstanding to others; tell them not to bother.
  for (const other of got.otherRequesters) {
    const o = c.peers.get(other);
    if (o !== undefined) toPeer(o.ref, { type: 'cmd.cancel', blocks: [ref] });
  }
  if (got.pieceComplete) toStorage({ type: 'storage.verify', index });
}

interface Send {
  ref: PeerRef;
  cmd: PeerCommand;
}

/** Unchoked, or choked by a fast peer with allowed fast pieces to offer (BEP 6). */
function canRequest(e: PeerEntry): boolean {
  return e.unchoked || e.allowedFast !== undefined;
}

/** Give `e` what the picker has for it, never past the per-peer cap; drop interest when nothing is left. */
function fill(c: TorrentContext, e: PeerEntry): Send[] {
  const n = Math.min(e.wanted, c.maxPipeline - c.picker.outstandingFor(e.key));
  const from = e.unchoked ? e.bitfield : e.allowedFast;
  if (n <= 0 || from === undefined || !e.interested) return [];
  const blocks = onlyOwnSuspects(c, e.key, c.picker.pick(from, n, e.key));
  e.wanted -= blocks.length;
  if (blocks.length > 0) return [{ ref: e.ref, cmd: { type: 'cmd.request', blocks } }];
  if (!e.unchoked) return []; // nothing among the allowed fast pieces: interest is about them all
  if (!c.picker.isInterested(e.bitfield)) {
    e.interested = false;
    e.wanted = 0;
    return [{ ref: e.ref, cmd: { type: 'cmd.notInterested' } }];
  }
  return [];
}

/** Blocks of a suspect piece go only to its owner (the first peer to get one); others hand them back. */
function onlyOwnSuspects(c: TorrentContext, key: PeerKey, blocks: BlockRef[]): BlockRef[] {
  if (c.suspects.size === 0) return blocks;
  return blocks.filter((b) => {
    const owner = c.suspects.get(b.index);
    if (owner === undefined || owner === key) return true;
    if (owner === '') {
      c.suspects.set(b.index, key);
      return true;
    }
    c.picker.blockReturned(b, key);
    return false;
  });
}

/** A suspect's owner that chokes or goes frees the piece for another single owner. */
function releaseSuspects(c: TorrentContext, key: PeerKey): void {
  for (const [index, owner] of c.suspects) if (owner === key) c.suspects.set(index, '');
}

/** After blocks came back (choke, close, failed piece): offer them to every peer with room. */
function topUp(c: TorrentContext): Send[] {
  const out: Send[] = [];
  for (const e of c.peers.values()) if (e.wanted > 0 && canRequest(e)) out.push(...fill(c, e));
  return out;
}
