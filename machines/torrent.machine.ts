/**
 * The supervisor of one torrent's download: spawns a peer machine per connection (up to maxPeers),
 * hands out blocks from the PiecePicker (held by reference), takes back every block of a peer that
 * chokes or goes, sends endgame cancels, writes and verifies pieces through the `storage` actor, and
 * bans peers that send bad data. Ends `complete` when every piece is verified. See docs/machines.md.
 */
import { and, assign, emit, enqueueActions, fromCallback, raise, sendTo, setup } from 'xstate';
import { formatPeerAddress, withPort } from '../src/net/address.js';
import { chokerMachine } from './choker.machine.js';
import { peerMachine } from './peer.machine.js';
import { type CloseReason, isPermanent, type PeerCommand } from './peer.types.js';
import { bytesEqual } from './peer-handshake.js';
import { tickerMachine } from './ticker.machine.js';
import type {
  StorageCommand,
  StorageInput,
  TorrentEmitted,
  TorrentEvent,
  TorrentInput,
  TorrentOutput,
} from './torrent.types.js';
import { TRACKER_GRACE_MS, TRACKER_SILENT_STOP_MS } from './torrent.types.js';
import {
  type AddressRecord,
  compactQueue,
  forgetIncoming,
  isHostBanned,
  noteDialEncryption,
  noteDialTransport,
  noteEarlierDial,
  rememberAddress,
  rememberDeparted,
} from './torrent-address-book.js';
import { blocksJudged, pieceFailed, pieceVerified } from './torrent-ban.js';
import { initialTorrentContext, type TorrentContext, type TorrentEffects } from './torrent-context.js';
import {
  blocksReturned,
  peerBitfield,
  peerHave,
  peerWants,
  releaseSuspects,
  takeBlocks,
  topUp,
} from './torrent-handout.js';
import {
  connectedAt,
  incomingKey,
  newEntry,
  type PeerEntry,
  type PeerRef,
  peerInput,
  takePeerId,
} from './torrent-peers.js';
import { pexSupported, pexSwarm, pexTaken, sendDuePex } from './torrent-pex.js';
import {
  heldForLayers,
  isFetchingLayers,
  layerAnswer,
  layerPeerJoined,
  layerPeerLeft,
  layerTick,
  takePieceLayerTrees,
} from './torrent-piece-layers.js';
import {
  clockTick,
  makeHalfOpenRoom,
  refuseSlot,
  SLOT_TICK_MS,
  slotFor,
  slotsUsed,
  takeSlot,
} from './torrent-slots.js';
import {
  isSuperSeeding,
  revealOpening,
  superSeedBitfield,
  superSeedClosed,
  superSeedHave,
  superSeedInterested,
  superSeedNotInterested,
} from './torrent-super-seed.js';
import {
  closeIfUninterestingUploadOnly,
  closeUninterestingUploadOnlyWith,
  isPartialSeed,
  isUploadOnlyPairAt,
  notePeerUploadOnly,
  tellPeersUploadOnly,
} from './torrent-upload-only.js';
import { dueWebSeeds, isWebSeedKey, webSeedClosed, webSeedDelivered } from './torrent-web-seeds.js';
import { trackerTiersMachine } from './tracker-tiers.machine.js';

/**
 * `address` is where a peer listens (a tracker's answer, `peer.add`): queued to be dialled unless
 * known — queued, connected, banned or given up already. An address first seen as an incoming
 * connection's becomes dialable (and is queued if no connection holds it now). An incoming peer's
 * BEP 10 `p` (listenAddresses) is held by its connection: not queued until that closes. Our own
 * listener's addresses (selfAddresses) are never queued. A full address book makes room first, or
 * (nothing may go) the address is not remembered. True when the address was new to the book (or
 * newly dialable) and queued.
 */
function learnDialable(context: TorrentContext, address: string, swarm?: 'v2'): boolean {
  if (context.selfAddresses.has(address)) return false;
  const rec = context.addresses.get(address);
  const held = connectedAt(context, address) || context.listenAddresses.has(address);
  // A hybrid's v2 swarm (BEP 52): remembered until the address is heard of in the v1 swarm too.
  const v2Swarm = swarm === 'v2' && context.otherInfoHash !== undefined;
  if (rec !== undefined && !v2Swarm) delete rec.v2Swarm;
  let queued = false;
  if (rec === undefined) {
    const fresh = { attempts: 0, banned: false, dialable: true, ...(v2Swarm ? { v2Swarm: true } : {}) };
    queued = rememberAddress(context, address, fresh, false) !== undefined && !held;
  } else if (!rec.dialable) {
    rec.dialable = true;
    queued = !rec.banned && !held;
  }
  if (queued) context.queue.push(address);
  compactQueue(context);
  return queued;
}

/** After a connection closed: its address is dialled again unless banned, permanent or given up. */
function requeue(context: TorrentContext, address: string, reason: CloseReason): void {
  const rec = context.addresses.get(address);
  if (
    rec?.dialable === true &&
    !rec.banned &&
    !isPermanent(reason) &&
    rec.attempts <= context.maxReconnects &&
    !connectedAt(context, address) &&
    !context.listenAddresses.has(address)
  )
    context.queue.push(address);
}

/** An address never dialled (a dial counts an attempt), struck or banned: nothing to remember. */
function neverUsed(rec: AddressRecord): boolean {
  return rec.attempts === 0 && !rec.banned;
}

/**
 * Two connections to the same peer: both handshaken with the same peer id. Peers behind one NAT
 * share an IP, and two of them may both say they listen on the default port.
 */
function samePeer(a: PeerEntry, b: PeerEntry): boolean {
  return a.peerId !== undefined && b.peerId !== undefined && bytesEqual(a.peerId, b.peerId);
}

/**
 * The guard `isBlockedAddress` (the user's IP filter) asked from an action's body for one address.
 * XState types `check` in an action defined within `setup` without the guards beside it: the one
 * cast is here.
 */
function isBlocked(check: (guard: never) => boolean, address: string): boolean {
  return check({ type: 'isBlockedAddress', params: { address } } as never);
}

/** The effects of an action body (TorrentEffects), bound to its enqueue: in order, as it calls them. */
function effects(enqueue: {
  emit(event: TorrentEmitted): void;
  sendTo(to: PeerRef, command: PeerCommand): void;
  sendTo(to: 'storage', command: StorageCommand): void;
}): TorrentEffects {
  return {
    emit: (event) => enqueue.emit(event),
    toPeer: (ref, command) => enqueue.sendTo(ref, command),
    toStorage: (command) => enqueue.sendTo('storage', command),
  };
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
     * A BEP 19 web seed's peer machine: the same machine, its `connection` HTTP range requests
     * (provided by the world: src/net/web-seed-connection.ts; this placeholder's fails at once).
     */
    webSeed: peerMachine,
    /**
     * The announce lifecycle for the torrent's trackers: takes cmd.start / cmd.complete / cmd.stop,
     * reports tracker.peers / tracker.announced / tracker.failed, and finishes after its `stopped`
     * announce. Its own `announce` actor is provided in src/tracker.
     */
    trackers: trackerTiersMachine,
    /** Who we unchoke: regular slots by rate every 10 s, the optimistic one every 30 s, anti-snubbing. */
    choker: chokerMachine,
    /** The machine's clock: `clock.tick` every SLOT_TICK_MS, for the slot policy (torrent-slots.ts). */
    ticker: tickerMachine,
    /** Provided by the world (src/storage or test/sim); this placeholder fails at once. */
    storage: fromCallback<StorageCommand, StorageInput>(({ sendBack }) => {
      sendBack({ type: 'storage.error', message: 'no storage actor provided' });
    }),
  },
  delays: {
    rotatePeers: ({ context }) => context.rotateMs,
    /** How long we wait for trackers to hear `completed` / `stopped` before going on without them. */
    trackerGrace: TRACKER_GRACE_MS,
    /** Closing's wait for `stopped`: shorter when the trackers did not answer `completed` in time. */
    trackerStopGrace: ({ context }) => (context.trackersSilent ? TRACKER_SILENT_STOP_MS : TRACKER_GRACE_MS),
  },
  guards: {
    /**
     * The user's IP filter (`--blocklist`, docs/blocklist.md) blocks this peer address: it is never
     * dialled, and an incoming connection from it is refused. Nothing is blocked unless the world
     * provides it (src/session/session-actors.ts: an IpRangeSet lookup); it is asked once per
     * address learned or accepted, never per dial.
     */
    isBlockedAddress: (_, _params: { address: string }) => false,
    // Every piece verified, and every piece that had failed judged (the ban rule, torrent-ban.ts).
    isDownloadComplete: ({ context }) =>
      context.picker.isComplete() && !context.failedBlocks.awaitingJudgement,
    isSeedWhenComplete: ({ context }) => context.seedWhenComplete,
    /** A hybrid fetched by magnet still fetching its piece layers (torrent-piece-layers.ts). */
    isFetchingLayers: ({ context }) => isFetchingLayers(context),
    hasNoTrackers: ({ context }) => context.trackerTiers.length === 0,
    /** BEP 21: every wanted piece, not every piece: the trackers owe no `completed` (torrent-upload-only.ts). */
    isPartialSeed: ({ context }) => isPartialSeed(context),
    /**
     * The torrent's (v1) swarm heard `completed`. A hybrid's v2 answer, now reported on its own, does
     * not end finishing (closing would abort the v1 swarm's `completed` still under way) unless the
     * v1 swarm's last announce failed (`v1Failing`: a tracker answering the v2 swarm only).
     */
    isCompletedAnnounce: ({ event }) =>
      event.type === 'tracker.announced' &&
      event.event === 'completed' &&
      (event.swarm === undefined || event.v1Failing === true),
    // An incoming peer handshaken while every slot is taken, none held by a useless connection
    // (torrent-slots.ts): it is closed (`tooManyConnections`) and was never connected, for the world
    // or the choker — its `torrent.peerClosed` comes alone, as a failed dial's does.
    isRefusedSlot: ({ context, event }) => {
      const e = event.type === 'peer.handshaken' ? context.peers.get(event.key) : undefined;
      return e !== undefined && slotFor(context, e).slot === 'refused';
    },
  },
  actions: {
    startTrackers: enqueueActions(({ context, enqueue }) => {
      if (context.trackerTiers.length > 0) enqueue.sendTo('trackers', { type: 'cmd.start' });
    }),
    /** Every wanted piece verified: `completed` for a seed, `paused` from now on for a partial one (BEP 21). */
    completeTrackers: sendTo('trackers', ({ context }) => ({
      type: isPartialSeed(context) ? ('cmd.partialSeed' as const) : ('cmd.complete' as const),
    })),
    stopTrackers: sendTo('trackers', { type: 'cmd.stop' }),
    reportTracker: enqueueActions(({ event, enqueue }) => {
      if (event.type === 'tracker.announced')
        enqueue.emit({
          type: 'torrent.trackerAnnounced',
          url: event.url,
          peerCount: event.peerCount,
          interval: event.interval,
          ...(event.warning === undefined ? {} : { warning: event.warning }),
          ...(event.swarm === undefined ? {} : { swarm: event.swarm }),
        });
      else if (event.type === 'tracker.failed')
        enqueue.emit({
          type: 'torrent.trackerFailed',
          url: event.url,
          message: event.message,
          retryInMs: event.retryInMs,
        });
    }),
    queueTrackerPeers: enqueueActions(({ context, event, enqueue, check }) => {
      if (event.type !== 'tracker.peers') return;
      for (const p of event.peers) {
        const address = formatPeerAddress(p);
        if (isBlocked(check, address))
          enqueue.emit({ type: 'torrent.peerBlocked', address, source: 'tracker' });
        else learnDialable(context, address, event.swarm);
      }
    }),
    // `--peer`, the DHT's peers, a magnet's: blocked as a tracker's are (libtorrent's ip_filter
    // applies to every peer it adds, one the user named included).
    queueAddress: enqueueActions(({ context, event, enqueue, check }) => {
      if (event.type !== 'peer.add') return;
      const { address } = event;
      if (isBlocked(check, address)) {
        enqueue.emit({ type: 'torrent.peerBlocked', address, source: event.source ?? 'peer' });
        return;
      }
      learnDialable(context, address, event.swarm);
      if (event.dialled !== undefined) noteEarlierDial(context, address, event.dialled);
    }),
    // BEP 11: the peers a ut_pex message named, as much of it as torrent-pex.ts takes, queued as a
    // tracker's are, in the swarm of the connection that named them (a hybrid's: pexSwarm).
    queuePexPeers: enqueueActions(({ context, event, enqueue, check }) => {
      const e = event.type === 'peer.pex' ? context.peers.get(event.key) : undefined;
      if (e === undefined || event.type !== 'peer.pex') return;
      const taken = pexTaken(context, e, event.added, event.dropped);
      if (taken.length === 0) return;
      let learned = 0;
      const swarm = pexSwarm(e);
      for (const address of taken)
        if (isBlocked(check, address)) enqueue.emit({ type: 'torrent.peerBlocked', address, source: 'pex' });
        else if (learnDialable(context, address, swarm)) learned++;
      context.pexLearned += learned;
      enqueue.emit({
        type: 'torrent.peersExchanged',
        key: e.key,
        address: e.address,
        added: taken.length,
        learned,
      });
    }),
    notePexSupported: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'peer.pexSupported' ? context.peers.get(event.key) : undefined;
      if (e !== undefined) pexSupported(context, e, effects(enqueue));
    }),
    sendDuePex: enqueueActions(({ context, enqueue }) => sendDuePex(context, effects(enqueue))),
    connectQueued: assign(({ context, spawn }) => {
      while (slotsUsed(context) < context.maxPeers && context.queue.length > 0) {
        const address = context.queue.shift()!;
        const rec = context.addresses.get(address);
        if (rec === undefined || rec.banned || connectedAt(context, address)) continue;
        if (context.listenAddresses.has(address)) continue; // that peer is connected to us already
        if (isUploadOnlyPairAt(context, rec)) continue; // BEP 21: nothing to trade (torrent-upload-only.ts)
        rec.attempts++;
        const n = takePeerId(context);
        const input = peerInput(context, address, 'outgoing', undefined);
        const ref = spawn('peer', { id: `peer#${n}`, input });
        const entry = newEntry(address, ref, n, context.pieceCount, 'outgoing', context.nowMs);
        entry.superSeed = input.superSeed === true;
        context.peers.set(address, entry);
      }
      return { serial: context.serial };
    }),
    /**
     * BEP 19: each web seed not connected, not banned and past its back-off gets a peer machine
     * (its connection is HTTP: src/net/web-seed-connection.ts). It holds no slot (torrent-slots.ts).
     */
    connectWebSeeds: assign(({ context, spawn }) => {
      for (const url of dueWebSeeds(context)) {
        if (context.peers.has(url)) continue;
        const n = takePeerId(context);
        const ref = spawn('webSeed', {
          id: `peer#${n}`,
          input: peerInput(context, url, 'outgoing', undefined),
        });
        context.peers.set(url, newEntry(url, ref, n, context.pieceCount, 'outgoing', context.nowMs));
      }
      return { serial: context.serial };
    }),
    /**
     * An accepted socket: refused when its host is banned (whatever its source port: see
     * torrent-address-book.ts) or it duplicates a connection; else adopted as half-open — it holds
     * no slot until its handshake, the oldest half-open connection making room when the allowance
     * is full (torrent-slots.ts). Its address is remembered while the connection lives. One from an
     * address we are dialling (a uTP peer dialling us as we dial it) is adopted under a key of its
     * own (torrent-peers.ts incomingKey): onListening keeps one of the two.
     */
    adoptIncoming: enqueueActions(({ context, event, enqueue, check }) => {
      if (event.type !== 'peer.incoming') return;
      const { address, handle } = event;
      // The world refuses a blocked peer as it accepts it, before reading a byte (download.ts);
      // one that reaches the machine anyway (a shared port's router read its handshake first) is
      // refused here.
      if (isBlocked(check, address)) {
        enqueue.emit({ type: 'torrent.incomingRejected', address, handle, why: 'blocked' });
        enqueue.emit({ type: 'torrent.peerBlocked', address, source: 'incoming' });
        return;
      }
      const banned = isHostBanned(context, address) || context.addresses.get(address)?.banned === true;
      const key = banned ? undefined : incomingKey(context, address);
      if (key === undefined) {
        enqueue.emit({
          type: 'torrent.incomingRejected',
          address,
          handle,
          why: banned ? 'banned' : 'duplicate',
        });
        return;
      }
      makeHalfOpenRoom(context, effects(enqueue));
      if (!context.addresses.has(address))
        rememberAddress(context, address, { attempts: 1, banned: false, dialable: false }, true);
      enqueue.assign(({ spawn }) => {
        const n = takePeerId(context);
        const input = peerInput(context, address, 'incoming', handle, key);
        const ref = spawn('peer', { id: `peer#${n}`, input });
        const entry = newEntry(address, ref, n, context.pieceCount, 'incoming', context.nowMs, key);
        entry.superSeed = input.superSeed === true;
        context.peers.set(key, entry);
        context.halfOpen.add(key);
        return { serial: context.serial };
      });
    }),
    rejectIncoming: emit(({ event }) => ({
      type: 'torrent.incomingRejected' as const,
      address: event.type === 'peer.incoming' ? event.address : '',
      handle: event.type === 'peer.incoming' ? event.handle : undefined,
      why: 'closing' as const,
    })),
    noteHandshaken: ({ context, event }) => {
      const e = event.type === 'peer.handshaken' ? context.peers.get(event.key) : undefined;
      if (e === undefined || event.type !== 'peer.handshaken') return;
      e.handshaken = true;
      e.peerId = event.peerId;
      noteDialEncryption(context, e.address, e.direction, event.encryption);
      noteDialTransport(context, e.address, e.direction, event.transport);
      e.transport = event.transport;
      // A hybrid (BEP 52): the connection is in the v2 swarm when its handshake's hash is that one.
      if (
        event.infoHash !== undefined &&
        context.otherInfoHash !== undefined &&
        bytesEqual(event.infoHash, context.otherInfoHash)
      )
        e.v2Swarm = true;
      e.bitfield = event.bitfield;
      e.idleSinceMs = context.nowMs;
    },
    // An incoming peer takes its slot now (a useless connection closed to make room when none is
    // free); a dial holds one from the dial. Either is connected for the world from here. So is a
    // half-open one makeHalfOpenRoom closed after its peer.handshaken was queued (slotFor: held,
    // in `leaving`, no slot): torrent.peerConnected, then torrent.peerClosed as its close comes.
    takeSlot: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'peer.handshaken' ? context.peers.get(event.key) : undefined;
      if (e === undefined || event.type !== 'peer.handshaken') return;
      takeSlot(context, e, effects(enqueue));
      enqueue.emit({
        type: 'torrent.peerConnected',
        key: e.key,
        address: e.address,
        fast: event.fast,
        encryption: event.encryption,
        transport: event.transport,
      });
    }),
    refuseSlot: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'peer.handshaken' ? context.peers.get(event.key) : undefined;
      if (e !== undefined) refuseSlot(context, e, effects(enqueue));
    }),
    onBitfield: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'peer.bitfield' ? context.peers.get(event.key) : undefined;
      if (e === undefined || event.type !== 'peer.bitfield') return;
      const fx = effects(enqueue);
      peerBitfield(context, e, event.bitfield, fx);
      e.bitfieldCame = true;
      closeIfUninterestingUploadOnly(context, e, fx.toPeer); // BEP 21: nothing we want
      superSeedBitfield(context, e, fx);
    }),
    onHave: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'peer.have' ? context.peers.get(event.key) : undefined;
      if (e === undefined || event.type !== 'peer.have') return;
      const fx = effects(enqueue);
      peerHave(context, e, event.index, fx);
      superSeedHave(context, e, event.index, fx);
    }),
    // BEP 16: a super-seeded connection's first pieces (torrent-super-seed.ts).
    revealOpening: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'peer.handshaken' ? context.peers.get(event.key) : undefined;
      if (e !== undefined) revealOpening(context, e, effects(enqueue));
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
      peerWants(context, e, event.count, event.allowedFast, effects(enqueue));
    }),
    onBlock: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'peer.block') return;
      const toStorage = (c: StorageCommand) => enqueue.sendTo('storage', c);
      takeBlocks(context, event.key, [event], toStorage, enqueue.sendTo);
    }),
    // One event per socket read (peer.blocks), each block decided exactly as a peer.block.
    onBlocks: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'peer.blocks') return;
      const toStorage = (c: StorageCommand) => enqueue.sendTo('storage', c);
      takeBlocks(context, event.key, event.blocks, toStorage, enqueue.sendTo);
    }),
    onReturned: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'peer.choked' && event.type !== 'peer.returned') return;
      blocksReturned(context, event.key, event.returned, event.type === 'peer.choked', effects(enqueue));
    }),
    onClosed: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'peer.closed') return;
      const e = context.peers.get(event.key);
      if (e === undefined) return;
      context.peers.delete(event.key);
      if (e.layerSource === true) layerPeerLeft(context, effects(enqueue), event.key);
      context.freeIds.push(e.idNumber);
      context.halfOpen.delete(event.key);
      context.leaving.delete(event.key);
      context.picker.peerGone(event.key);
      context.picker.removeAvailability(e.bitfield);
      releaseSuspects(context, e);
      superSeedClosed(context, e);
      enqueue.stopChild(e.ref);
      enqueue.emit({ type: 'torrent.peerClosed', key: e.key, address: e.address, reason: event.reason });
      if (isWebSeedKey(context, e.key)) {
        // A web seed is tried again after its back-off (connectWebSeeds), never queued as an address.
        const retryAt = webSeedClosed(context, e.key, event.reason);
        const seed = context.webSeeds.get(e.key);
        enqueue.emit({
          type: 'torrent.webSeedClosed',
          url: e.key,
          reason: event.reason,
          failures: seed?.failuresTotal ?? 0,
          ...(retryAt === undefined ? {} : { retryInMs: retryAt - context.nowMs }),
        });
        for (const c of topUp(context)) enqueue.sendTo(c.ref, c.cmd);
        return;
      }
      // Two seeds have nothing to trade (dropSeeds): once complete, a seed is not dialled again;
      // nor is a peer that said it is upload only (BEP 21), nor, while we download, one that is and
      // had nothing we want (torrent-upload-only.ts).
      const pointless =
        (context.picker.isComplete() && (e.bitfield.isComplete() || e.uploadOnly)) ||
        event.reason.reason === 'uninterestingUploadOnly';
      if (!pointless) requeue(context, e.address, event.reason);
      forgetIncoming(context, e.address);
      const listen = e.listenAddress;
      if (listen !== undefined) {
        rememberDeparted(context, e.key, listen);
        // It is dialled where it listens only if the network failed it: a peer that hung up, or
        // that we closed, chose (or was chosen) to go. (A ban follows it there: see banPeer.)
        const rec = context.addresses.get(listen);
        if (context.listenAddresses.get(listen) === e.key) context.listenAddresses.delete(listen);
        if (event.reason.reason === 'socketError') {
          if (!pointless) requeue(context, listen, event.reason);
        } else if (!pointless && rec !== undefined && neverUsed(rec) && !context.listenAddresses.has(listen))
          context.addresses.delete(listen); // forgotten, so a tracker naming it later is heard
      }
      for (const c of topUp(context)) enqueue.sendTo(c.ref, c.cmd);
    }),
    /**
     * BEP 10 `p` from an incoming peer: where it accepts connections. Recorded as dialable, held by
     * this connection (not dialled while it lives: one connection per peer), queued if a network
     * error closes it.
     * A peer listening at a banned address is closed as banned; a peer we also dialled keeps one of
     * the two connections. Only the first `p` of a connection counts: a peer repeating its
     * extension handshake with new ports cannot grow `addresses`.
     */
    onListening: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'peer.listening' ? context.peers.get(event.key) : undefined;
      if (e === undefined || event.type !== 'peer.listening' || e.listenAddress !== undefined) return;
      const address = withPort(e.address, event.port);
      e.listenAddress = address;
      const rec = context.addresses.get(address);
      if (rec?.banned === true) {
        enqueue.sendTo(e.ref, { type: 'cmd.close', reason: { reason: 'banned' } } satisfies PeerCommand);
        return;
      }
      // A hybrid's connection in the v2 swarm (BEP 52) is dialled back there with the v2 hash, as a
      // tracker's v2 peer is: it showed it takes that one, perhaps only that one (a v2 magnet).
      if (rec === undefined)
        rememberAddress(
          context,
          address,
          { attempts: 0, banned: false, dialable: true, ...(e.v2Swarm === true ? { v2Swarm: true } : {}) },
          false,
        );
      else rec.dialable = true;
      enqueue.emit({ type: 'torrent.peerListening', key: e.key, address: e.address, listenAddress: address });
      // A uTP peer dials from the port it listens on: its own entry is keyed by that address too —
      // or, dialling us while we dialled it there, by incomingKeyAt(address), and `found` is ours.
      const found = context.peers.get(address);
      const dialled = found === e ? undefined : found;
      if (dialled !== undefined && context.listenPort !== undefined && samePeer(dialled, e)) {
        // We dialled the peer as it dialled us. One connection per peer, and both ends must close
        // the same one: as libtorrent decides (peer_list.cpp), the end listening on the lower port
        // keeps the connection it dialled.
        const duplicate = context.listenPort < event.port ? e : dialled;
        const reason: CloseReason = { reason: 'duplicateConnection' };
        enqueue.sendTo(duplicate.ref, { type: 'cmd.close', reason } satisfies PeerCommand);
        if (duplicate === e) return;
        context.listenAddresses.set(address, e.key); // ours goes: this one holds the address now
      } else if (dialled === undefined && !context.listenAddresses.has(address))
        context.listenAddresses.set(address, e.key);
      // Otherwise another connection holds the address (a second incoming one, or the one we
      // dialled there, to a peer with another id or not handshaken yet): both stay.
    }),
    // Each verified piece: haves, then (BEP 21) an upload-only peer left with nothing we want closed.
    onVerified: enqueueActions(({ context, event, enqueue }) => {
      const fx = effects(enqueue);
      const indexes =
        event.type === 'piece.verified'
          ? [event.index]
          : event.type === 'pieces.verified'
            ? event.indexes
            : [];
      for (const index of indexes) {
        pieceVerified(context, index, fx);
        closeUninterestingUploadOnlyWith(context, index, fx.toPeer);
      }
    }),
    onHashFailed: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'piece.hashFailed')
        pieceFailed(context, event.index, event.blockHashes, effects(enqueue));
    }),
    onBlockHashes: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'piece.blockHashes')
        blocksJudged(context, event.index, event.hashes, effects(enqueue));
    }),
    dropUselessPeers: enqueueActions(({ context, enqueue }) => {
      // At the cap with addresses waiting, a peer with nothing we want only holds a slot: let it go.
      let waiting = context.queue.length;
      if (waiting === 0 || slotsUsed(context) < context.maxPeers) return;
      for (const e of context.peers.values()) {
        if (waiting === 0) break;
        if (!e.handshaken || e.interested || context.picker.isInterested(e.bitfield)) continue;
        waiting--;
        enqueue.sendTo(e.ref, { type: 'cmd.close', reason: { reason: 'notNeeded' } } satisfies PeerCommand);
      }
    }),
    onClockTick: ({ context }) => clockTick(context),
    // BEP 52, a hybrid fetched by magnet fetching its piece layers (torrent-piece-layers.ts).
    joinLayerFetch: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'peer.handshaken' ? context.peers.get(event.key) : undefined;
      if (e === undefined || event.type !== 'peer.handshaken' || !isFetchingLayers(context)) return;
      // Only a connection in the v2 swarm: libtorrent 2.0 closes one that sends a hash request on a
      // connection it took as v1 (bt_peer_connection::on_hash_request, seen against 2.0.8).
      if (e.v2Swarm !== true) return;
      e.layerSource = true;
      layerPeerJoined(context, effects(enqueue), e.key);
    }),
    onLayerAnswer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'peer.hashes')
        layerAnswer(context, effects(enqueue), event.key, event.range, event.proved);
      else if (event.type === 'peer.hashReject')
        layerAnswer(context, effects(enqueue), event.key, event.range, 'rejected');
    }),
    tickLayerFetch: enqueueActions(({ context, enqueue }) => layerTick(context, effects(enqueue))),
    takePieceLayerTrees: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'pieceLayers.trees')
        takePieceLayerTrees(context, effects(enqueue), event.trees, event.partial === true);
    }),
    // BEP 21: the peer will (not) download from us (torrent-upload-only.ts); upload only and with
    // nothing we want, it is closed.
    onUploadOnly: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'peer.uploadOnly' ? context.peers.get(event.key) : undefined;
      if (e === undefined || event.type !== 'peer.uploadOnly') return;
      notePeerUploadOnly(context, e, event.uploadOnly);
      closeIfUninterestingUploadOnly(context, e, effects(enqueue).toPeer);
    }),
    tellPeersUploadOnly: enqueueActions(({ context, enqueue }) =>
      tellPeersUploadOnly(context, effects(enqueue)),
    ),
    tellLayerSourcesUploadOnly: enqueueActions(({ context, enqueue }) =>
      tellPeersUploadOnly(context, effects(enqueue), 'layerSources'),
    ),
    notePeerInterest: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'peer.interest' ? context.peers.get(event.key) : undefined;
      if (e === undefined || event.type !== 'peer.interest') return;
      e.peerInterested = event.interested;
      // BEP 16: not interested in the pieces it was shown: the next (torrent-super-seed.ts).
      if (event.interested) superSeedInterested(e);
      else superSeedNotInterested(context, e, effects(enqueue));
    }),
    noteRates: ({ context, event }) => {
      const e = event.type === 'peer.rate' ? context.peers.get(event.key) : undefined;
      if (e === undefined || event.type !== 'peer.rate') return;
      e.downloadRate = event.downloadRate;
      e.uploadRate = event.uploadRate;
      if (event.downloadRate > 0) webSeedDelivered(context, e.key);
    },
    // A refused newcomer never gets here (isRefusedSlot). One told to leave before its handshake
    // was read (a half-open connection closed to make room) is on its way out: not counted.
    tellChokerJoined: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'peer.handshaken' && !context.leaving.has(event.key))
        enqueue.sendTo('choker', { type: 'choker.peerJoined', key: event.key });
    }),
    tellChokerLeft: sendTo('choker', ({ event }) => ({
      type: 'choker.peerLeft' as const,
      key: event.type === 'peer.closed' ? event.key : '',
    })),
    tellChokerInterest: sendTo('choker', ({ event }) => ({
      type: 'choker.peerUpdate' as const,
      key: event.type === 'peer.interest' ? event.key : '',
      interested: event.type === 'peer.interest' && event.interested,
    })),
    tellChokerUploadOnly: sendTo('choker', ({ event }) => ({
      type: 'choker.peerUpdate' as const,
      key: event.type === 'peer.uploadOnly' ? event.key : '',
      uploadOnly: event.type === 'peer.uploadOnly' && event.uploadOnly,
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
    emitSeeding: enqueueActions(({ context, enqueue }) =>
      enqueue.emit({
        type: 'torrent.seeding',
        ...(isSuperSeeding(context) ? { superSeed: true as const } : {}),
      }),
    ),
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
      // A seed still asked for a hybrid's piece layers stays until they are in (pieceLayers.trees),
      // or until it rejected every run still missing (heldForLayers).
      for (const e of context.peers.values())
        if (e.handshaken && e.bitfield.count === context.pieceCount && !heldForLayers(context, e))
          enqueue.sendTo(e.ref, { type: 'cmd.close', reason: { reason: 'notNeeded' } } satisfies PeerCommand);
    }),
    noteTrackersSilent: assign({ trackersSilent: true }),
    recordStorageError: assign(({ event }) => ({
      storageError: event.type === 'storage.error' ? event.message : 'storage error',
    })),
  },
}).createMachine({
  id: 'torrent',
  context: ({ input }) => initialTorrentContext(input),
  invoke: [
    {
      id: 'storage',
      src: 'storage',
      input: ({ context }) => ({
        infoHash: context.infoHash,
        pieceCount: context.pieceCount,
        pieceLength: context.pieceLength,
        totalLength: context.totalLength,
        blockLength: context.picker.geometry.blockLength,
      }),
    },
    {
      id: 'trackers',
      src: 'trackers',
      input: ({ context }) => ({
        url: context.trackerTiers[0]?.[0] ?? '',
        tiers: context.trackerTiers,
        infoHash: context.infoHash,
        ...(context.otherInfoHash === undefined ? {} : { otherInfoHash: context.otherInfoHash }),
        peerId: context.peerId,
        port: context.port,
        seed: context.seed,
        // BEP 21: a partial seed from the start says `paused` from its first announce.
        ...(isPartialSeed(context) ? { partialSeed: true } : {}),
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
    { id: 'ticker', src: 'ticker', input: { everyMs: SLOT_TICK_MS } },
  ],
  // The machine's output is its final state's output (XState v5 needs the root to pass it on).
  output: ({ event }) => event.output as TorrentOutput,
  initial: 'checking',
  on: {
    // Outside `active` (which adopts them) an incoming peer is turned away for the world to close.
    'peer.incoming': { actions: 'rejectIncoming' },
    'cmd.stop': '.stopping',
    'storage.error': { target: '.failed', actions: 'recordStorageError' },
    'tracker.announced': { actions: 'reportTracker' },
    'tracker.failed': { actions: 'reportTracker' },
    'clock.tick': { actions: ['onClockTick', 'sendDuePex', 'tickLayerFetch'] },
    'peer.hashes': { actions: 'onLayerAnswer' },
    'peer.hashReject': { actions: 'onLayerAnswer' },
    'pieceLayers.trees': { actions: 'takePieceLayerTrees' },
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
        'peer.handshaken': [
          { guard: 'isRefusedSlot', actions: ['noteHandshaken', 'refuseSlot'] },
          { actions: ['noteHandshaken', 'takeSlot', 'tellChokerJoined', 'joinLayerFetch', 'revealOpening'] },
        ],
        'peer.bitfield': { actions: 'onBitfield' },
        'peer.have': { actions: 'onHave' },
        'peer.unchoked': { actions: 'onUnchoked' },
        'peer.wantBlocks': { actions: 'onWantBlocks' },
        'peer.block': { actions: 'onBlock' },
        'peer.blocks': { actions: 'onBlocks' },
        'peer.choked': { actions: 'onReturned' },
        'peer.returned': { actions: 'onReturned' },
        'peer.closed': { actions: ['onClosed', 'tellChokerLeft', 'connectQueued'] },
        'peer.interest': { actions: ['notePeerInterest', 'tellChokerInterest'] },
        'peer.listening': { actions: 'onListening' },
        'peer.pexSupported': { actions: 'notePexSupported' },
        'peer.uploadOnly': { actions: ['onUploadOnly', 'tellChokerUploadOnly'] },
        'peer.pex': { actions: ['queuePexPeers', 'connectQueued'] },
        'peer.rate': { actions: ['noteRates', 'tellChokerRates'] },
        'choker.decision': { actions: 'applyChokerDecision' },
        'piece.verified': { actions: 'onVerified' },
        'pieces.verified': { actions: 'onVerified' },
        'piece.hashFailed': { actions: 'onHashFailed' },
        'piece.blockHashes': { actions: 'onBlockHashes' },
        'tracker.peers': { actions: ['queueTrackerPeers', 'connectQueued'] },
      },
      states: {
        downloading: {
          // Web seeds are connected while we download (and again after a back-off, on the clock).
          entry: 'connectWebSeeds',
          // The root's tick actions, then the web seeds due (this handler replaces the root's here).
          on: {
            'clock.tick': { actions: ['onClockTick', 'sendDuePex', 'tickLayerFetch', 'connectWebSeeds'] },
          },
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
          entry: ['emitSeeding', 'tellChokerSeeding', 'dropSeeds', 'tellPeersUploadOnly'],
          on: {
            'cmd.stop': '#torrent.closing',
            'peer.bitfield': { actions: ['onBitfield', 'dropSeeds'] },
            // The seeds kept for the piece layers have nothing more to give.
            'pieceLayers.trees': {
              actions: ['takePieceLayerTrees', 'tellLayerSourcesUploadOnly', 'dropSeeds'],
            },
            // An answer may leave a seed kept for them nothing to give (it rejected every run left).
            'peer.hashes': {
              guard: 'isFetchingLayers',
              actions: ['onLayerAnswer', 'tellLayerSourcesUploadOnly', 'dropSeeds'],
            },
            'peer.hashReject': {
              guard: 'isFetchingLayers',
              actions: ['onLayerAnswer', 'tellLayerSourcesUploadOnly', 'dropSeeds'],
            },
          },
        },
      },
    },
    /**
     * Every piece verified: trackers hear `completed` (bounded wait), then `stopped`. A partial seed
     * (BEP 21) owes no `completed`: on to `stopped` at once.
     */
    finishing: {
      entry: 'completeTrackers',
      always: [
        { guard: 'hasNoTrackers', target: 'closing' },
        { guard: 'isPartialSeed', target: 'closing' },
      ],
      after: { trackerGrace: { target: 'closing', actions: 'noteTrackersSilent' } },
      on: {
        'tracker.announced': { guard: 'isCompletedAnnounce', target: 'closing', actions: 'reportTracker' },
        'tracker.failed': { target: 'closing', actions: 'reportTracker' },
        // Every tracker failed and waits for its retry: no `completed` can come within the grace.
        'trackers.idle': 'closing',
        'cmd.stop': 'closing',
      },
    },
    closing: {
      entry: 'stopTrackers',
      always: { guard: 'hasNoTrackers', target: 'complete' },
      after: { trackerStopGrace: 'complete' },
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
