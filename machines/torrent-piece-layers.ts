/**
 * BEP 52 in the torrent machine: a hybrid torrent fetched by magnet link fetching its `piece
 * layers` from the peers it downloads from. Its info dictionary carries every file's `pieces root`
 * but not the layers under them; a hybrid loaded from a .torrent has them and answers v2 peers'
 * hash requests (machines/peer-hashes.ts), one fetched by magnet did not, so its v2 connections
 * rejected every hash request and libtorrent fell back to SHA-1.
 *
 * The v1 download does not wait for them: its SHA-1 piece hashes check every piece, so the layers
 * are fetched alongside, over the same connections (no second connection to a peer, which
 * libtorrent would refuse as a duplicate), with the rules of a v2 magnet's fetch (PieceLayerFetch,
 * machines/piece-layer-fetch.ts): one request per run of 512 piece hashes, at most `maxPerPeer` out
 * per peer, each answer proved up to its file's `pieces root` by the connection (SHA-256, not in a
 * machine: `wire.hashes.proved`), a peer whose hashes do not prove closed (`badHashes`), a
 * rejecting or silent one left alone for a while. Asked: the connections in the v2 swarm
 * (PeerEntry.v2Swarm; libtorrent 2.0 closes a connection that sends a hash request unless it
 * took the handshake's v2 info-hash: bt_peer_connection::on_hash_request) — peers a tracker or the DHT gave for the v2 hash, PEX from a v2 connection, a
 * v2 peer that dialled us, or a `urn:btmh:`-only link's own peers. A hybrid with none of them
 * downloads all the same, without its layers.
 *
 * Once every run is in, `torrent.pieceLayers` hands the layers to the world, which builds the trees
 * (src/metainfo/piece-layer-trees.ts), saves them in the .torrent and sends `pieceLayers.trees`
 * back: from then on every peer, those connected and those to come, answers hash requests. The
 * world may send them first, hashed from the data once it is complete
 * (src/session/computed-piece-layers.ts): every layer ends the fetch, some (`partial`) do not. While
 * the layers are fetched, a seed that is asked for them is not dropped when we become a seed too,
 * unless it rejected every run still missing (heldForLayers).
 */
import type { PieceLayerTrees } from '../src/metainfo/merkle-proof.js';
import type { HashRange } from '../src/wire/messages.js';
import type { PeerCommand, PeerKey } from './peer.types.js';
import { type PieceLayerCommand, PieceLayerFetch, type PieceLayerPlan } from './piece-layer-fetch.js';
import type { TorrentContext, TorrentEffects } from './torrent-context.js';
import type { PeerEntry } from './torrent-peers.js';
import { SLOT_TICK_MS } from './torrent-slots.js';

/** Hash requests out per peer (libtorrent's hash_picker asks as a v2 magnet's fetch does). */
export const LAYER_REQUESTS_PER_PEER = 2;
/** A hash request unanswered this long goes to another peer. */
export const LAYER_REQUEST_TIMEOUT_MS = 10_000;
/** A peer that rejected or let a request time out is not asked again for this long. */
export const LAYER_BACKOFF_MS = 60_000;

/** The fetch of a hybrid's piece layers: the plan (the files to fetch) and its bookkeeping. */
export interface LayerFetchState {
  readonly plan: PieceLayerPlan;
  readonly fetch: PieceLayerFetch;
  /** `torrent.pieceLayers` has been emitted. */
  done: boolean;
}

/** The fetch for `plan` (TorrentInput.pieceLayerPlan), on the torrent machine's clock. */
export function startLayerFetch(plan: PieceLayerPlan): LayerFetchState {
  const ticks = (ms: number) => Math.max(1, Math.ceil(ms / SLOT_TICK_MS));
  return {
    plan,
    fetch: new PieceLayerFetch(plan, {
      maxPerPeer: LAYER_REQUESTS_PER_PEER,
      requestTimeoutTicks: ticks(LAYER_REQUEST_TIMEOUT_MS),
      backoffTicks: ticks(LAYER_BACKOFF_MS),
    }),
    done: false,
  };
}

/** Whether the layers are still being fetched. */
export function isFetchingLayers(context: Pick<TorrentContext, 'layerFetch'>): boolean {
  return context.layerFetch !== undefined && !context.layerFetch.done;
}

/**
 * A seed (or upload-only peer) kept while we seed, and not told we are upload only: it is asked for
 * the piece layers and may still give some (a run not in yet it has not rejected). One that
 * rejected every run left is let go as any seed is: two seeds have nothing to trade.
 */
export function heldForLayers(context: Pick<TorrentContext, 'layerFetch'>, e: PeerEntry): boolean {
  const lf = context.layerFetch;
  return lf !== undefined && !lf.done && e.layerSource === true && lf.fetch.mayAsk(e.key);
}

/** A handshaken peer that speaks v2 joins the fetch: it is asked for runs at once. */
export function layerPeerJoined(context: TorrentContext, fx: TorrentEffects, key: PeerKey): void {
  const lf = context.layerFetch;
  if (lf === undefined || lf.done) return;
  run(context, fx, lf.fetch.addPeer(key));
}

/** A peer left: its requests go to the others. */
export function layerPeerLeft(context: TorrentContext, fx: TorrentEffects, key: PeerKey): void {
  const lf = context.layerFetch;
  if (lf === undefined || lf.done) return;
  run(context, fx, lf.fetch.removePeer(key));
}

/** A peer's `hashes` (with the run the connection found proved) or `hash reject`. */
export function layerAnswer(
  context: TorrentContext,
  fx: TorrentEffects,
  key: PeerKey,
  range: HashRange,
  proved: Uint8Array | undefined | 'rejected',
): void {
  const lf = context.layerFetch;
  if (lf === undefined || lf.done) return;
  run(context, fx, proved === 'rejected' ? lf.fetch.reject(key, range) : lf.fetch.hashes(key, range, proved));
}

/** The machine's clock: requests that waited too long go to another peer. */
export function layerTick(context: TorrentContext, fx: TorrentEffects): void {
  const lf = context.layerFetch;
  if (lf === undefined || lf.done) return;
  run(context, fx, lf.fetch.tick());
}

/**
 * The world built the trees over the layers, fetched or hashed from the data: every peer answers
 * hash requests from now on. All of them (not `partial`): nothing is left to fetch.
 */
export function takePieceLayerTrees(
  context: TorrentContext,
  fx: TorrentEffects,
  trees: PieceLayerTrees,
  partial = false,
): void {
  context.pieceLayerTrees = trees;
  if (!partial && context.layerFetch !== undefined) context.layerFetch.done = true;
  for (const e of context.peers.values())
    fx.toPeer(e.ref, { type: 'cmd.pieceLayerTrees', trees } satisfies PeerCommand);
}

function run(context: TorrentContext, fx: TorrentEffects, commands: readonly PieceLayerCommand[]): void {
  const lf = context.layerFetch!;
  for (const c of commands) {
    const e = context.peers.get(c.peer);
    if (e === undefined) continue;
    if (c.type === 'hashRequest') fx.toPeer(e.ref, { type: 'cmd.hashRequest', range: c.range });
    else if (c.type === 'drop') fx.toPeer(e.ref, { type: 'cmd.close', reason: { reason: 'badHashes' } });
    // 'snubbed': left alone by the fetch for a while; the connection stays for the data.
  }
  if (!lf.fetch.complete) return;
  lf.done = true;
  fx.emit({
    type: 'torrent.pieceLayers',
    layers: lf.plan.files.map((f, i) => ({ piecesRoot: f.piecesRoot, layer: lf.fetch.layers[i]! })),
  });
}
