/**
 * The torrent machine's address book (docs/machines.md, "The address book"): what we remember of
 * each peer address — where we may dial, attempts, bans — and which hosts are banned.
 * Both are bounded: `maxAddresses` records (libtorrent's max_peerlist_size, 3,000) and
 * MAX_BANNED_HOSTS banned hosts, each evicting in a fixed order, so memory does not grow with the
 * number of peers that ever connected.
 *
 * What a ban covers, and why (libtorrent's peer_list.cpp decides the same two ways):
 * - Incoming connections from the banned peer's host, from any source port: an incoming peer's
 *   port is its ephemeral source port, so host:port names one connection, not a peer, and a
 *   banned peer would just dial in again. libtorrent (one peer per IP, its default) refuses a banned
 *   IP when it connects; so do we, at admission (`isHostBanned`). A host is an IPv4 address, or an
 *   IPv6 /64, which one host can rotate its addresses through (src/net/ban-key.ts says why and the
 *   exceptions).
 * - Dials only to the banned endpoints themselves: the address we dialled it at and the address it
 *   said it listens at (BEP 10 `p`), never other ports of the same host. A dialable address is a
 *   listening endpoint a tracker or the user named; distinct peers share a host (NAT, carrier-grade
 *   NAT, and every peer of a local swarm — tests, the demo, benchmarks — on 127.0.0.1), and
 *   libtorrent with allow_multiple_connections_per_ip (how local swarms run) keeps bans per
 *   endpoint the same way. A bad peer listening on several ports is banned at each as it sends
 *   bad data (the sole contributor of a failed piece is banned at once).
 */
import { banKey } from '../src/net/ban-key.js';
import type { CloseReason, PeerCommand, PeerEncryption, PeerKey, PeerTransport } from './peer.types.js';
import type { TorrentEmitted } from './torrent.types.js';
import type { TorrentContext, TorrentEffects } from './torrent-context.js';
import { addressOfKey, connectedAt } from './torrent-peers.js';

/** What we remember of an address across connections. */
export interface AddressRecord {
  attempts: number;
  /** Never dialled or accepted at this address again (see `banPeer`; the host is banned too). */
  banned: boolean;
  /**
   * Where the peer listens, so it may be dialled (again): true for addresses from trackers,
   * `peer.add` and an incoming peer's BEP 10 `p`; false for an incoming connection's address, whose
   * port is the remote's ephemeral source port — dialled back, it refuses (or, behind a NAT,
   * reaches whoever holds that port now). Such a record lives only as long as its connection.
   */
  dialable: boolean;
  /**
   * Our last dial here came up over Message Stream Encryption (docs/encryption.md): the next dial
   * starts with MSE. Under the default policy (`allowed`: plain first) a dial comes up over MSE only
   * through its retry after the peer closed the plain handshake, so this spares every later dial
   * that refused connect — libtorrent remembers the same per peer (`pe_support`). A dial that comes
   * up plain clears it. Absent: false. Bounded with the record.
   */
  mseFirst?: boolean;
  /**
   * Our last dial here came up over uTP (docs/utp.md): the next dial tries uTP first. Under the
   * default mode (`on`: TCP first) that happens only after the TCP dial failed — a peer reachable
   * only over uTP (behind a NAT that forwards UDP only, or with TCP off). A dial that comes up over
   * TCP clears it. Absent: false.
   */
  utpFirst?: boolean;
  /**
   * Learnt only in a hybrid's v2 swarm (BEP 52: a tracker's or the DHT's answer for its v2 hash, or
   * PEX from a connection in the v2 swarm: torrent-pex.ts pexSwarm):
   * dialled with that hash, as libtorrent dials the peers its v2 announces found (a peer added from
   * a v2-only magnet may know no other hash). Heard of in the v1 swarm too, it is dialled with the v1
   * hash, which every hybrid client takes. Absent: false.
   */
  v2Swarm?: boolean;
  /**
   * BEP 21: the peer listening here said it will not download (upload_only), as libtorrent's
   * peer list remembers it (`maybe_upload_only`): not dialled while we are upload only too
   * (machines/torrent-upload-only.ts). Cleared when it says it downloads again. Absent: false.
   */
  uploadOnly?: boolean;
  /**
   * BEP 21: the upload-only peer listening here had no piece we want, and its connection was closed
   * for it (`uninterestingUploadOnly`): not dialled again while we download — an upload-only peer
   * gets no new pieces and what we want only shrinks, so a dial could only find the same
   * (machines/torrent-upload-only.ts says how this differs from libtorrent). Cleared with
   * `uploadOnly`. Absent: false.
   */
  nothingWanted?: boolean;
}

/** Records at most in the book by default: libtorrent's max_peerlist_size. */
export const DEFAULT_MAX_ADDRESSES = 3_000;

/** Banned hosts remembered at most; past it the oldest ban is forgotten. */
export const MAX_BANNED_HOSTS = 10_000;

/** Its host is banned: the same IPv4 address, or (IPv6) the same /64 (src/net/ban-key.ts). */
export function isHostBanned(context: TorrentContext, address: string): boolean {
  return context.bannedHosts.has(banKey(address));
}

/**
 * The peer at `key` (its address, or torrent-peers.ts incomingKeyAt's) is banned already: its
 * record says so, or (no record: an incoming peer gone) its host is. A web seed (BEP 19), whose key
 * is a URL and has no host:port, by its own record only.
 */
export function isBanned(context: TorrentContext, key: PeerKey): boolean {
  const seed = context.webSeeds.get(key);
  if (seed !== undefined) return seed.banned;
  const address = addressOfKey(key);
  const rec = context.addresses.get(address);
  return rec !== undefined ? rec.banned : isHostBanned(context, address);
}

/** An address some connection holds now: its own, or the listening address of an incoming one. */
function held(context: TorrentContext, address: string): boolean {
  return connectedAt(context, address) || context.listenAddresses.has(address);
}

/** The eviction class of banned records: the last to go. */
const BANNED_CLASS = 3;

/**
 * Which record goes first when the book is full (lower first): given up (dialled past
 * maxReconnects: never dialled again), then dialled before, then never dialled (queued), and banned
 * ones last (they keep us from dialling a bad endpoint again). Oldest first within a class. A
 * record a live connection holds is never evicted.
 */
function evictionClass(context: TorrentContext, rec: AddressRecord): number {
  if (rec.banned) return BANNED_CLASS;
  if (rec.attempts > context.maxReconnects) return 0;
  return rec.attempts > 0 ? 1 : 2;
}

/**
 * Records evicted at once when the book is full: a sixteenth of it. Finding what goes first is a
 * pass over the book, so evicting one record per address learned cost a pass per address (~0.26 ms
 * each at 3,000 records: a tracker's 1 MiB answer of peers held the main thread ~48 s, found by the
 * hostile-tracker review); a batch makes it one pass per `maxAddresses / 16` addresses.
 */
function evictionBatch(context: TorrentContext): number {
  return Math.max(1, Math.ceil(context.maxAddresses / 16));
}

/**
 * Makes room: evicts up to evictionBatch records, the first in eviction order, in one pass over the
 * book; a banned record only when nothing else may go, and then one (a ban forgotten lets a tracker
 * name that endpoint again). False when none may go.
 */
function makeRoom(context: TorrentContext): boolean {
  const want = evictionBatch(context);
  /** Candidates by eviction class, oldest first: at most `want` of classes 0–2, one banned. */
  const byClass: string[][] = [[], [], [], []];
  for (const [address, rec] of context.addresses) {
    if (held(context, address)) continue;
    const c = evictionClass(context, rec);
    if (byClass[c]!.length < (c === BANNED_CLASS ? 1 : want)) byClass[c]!.push(address);
    if (byClass[0]!.length >= want) break;
  }
  let evicted = 0;
  for (const candidates of byClass.slice(0, BANNED_CLASS))
    for (const address of candidates) {
      if (evicted >= want) return true;
      context.addresses.delete(address);
      evicted++;
    }
  if (evicted > 0) return true;
  const [banned] = byClass[BANNED_CLASS]!;
  if (banned === undefined) return false;
  context.addresses.delete(banned);
  return true;
}

/**
 * A new record for `address`, room made first when the book is full. A live connection's own
 * address always gets one, and never at another record's expense: there are at most as many as
 * connections, and evicting for them let sockets that connect and hang up empty the book of the
 * addresses a tracker gave (review of this change). An address merely learned is not remembered
 * when no record may go (libtorrent drops it too).
 */
export function rememberAddress(
  context: TorrentContext,
  address: string,
  rec: AddressRecord,
  connected: boolean,
): AddressRecord | undefined {
  if (!connected && context.addresses.size >= context.maxAddresses && !makeRoom(context)) return undefined;
  context.addresses.set(address, rec);
  return rec;
}

/**
 * A dialled connection's handshake came, carried by `encryption` (the connection's, PeerEncryption):
 * its address is dialled with MSE first from now on if that was MSE, plain first if not. The
 * machine need not know the policy: under `allowed` an MSE connection means the plain one was
 * refused; under `preferred` and `required` every dial starts with MSE anyway, and under
 * `plaintext` none does. An incoming connection says nothing of how its address takes dials.
 */
export function noteDialEncryption(
  context: TorrentContext,
  address: string,
  direction: 'outgoing' | 'incoming',
  encryption: PeerEncryption,
): void {
  const rec = direction === 'outgoing' ? context.addresses.get(address) : undefined;
  if (rec === undefined) return;
  if (encryption === 'none') delete rec.mseFirst;
  else rec.mseFirst = true;
}

/**
 * A dialled connection's handshake came over `transport`: its address is dialled over uTP first from
 * now on if that was uTP, TCP first if not. As for the encryption, the machine need not know the mode:
 * under `on` a uTP connection means the TCP dial failed; under `prefer` every dial starts with uTP
 * anyway, and under `off` none does.
 */
export function noteDialTransport(
  context: TorrentContext,
  address: string,
  direction: 'outgoing' | 'incoming',
  transport: PeerTransport,
): void {
  const rec = direction === 'outgoing' ? context.addresses.get(address) : undefined;
  if (rec === undefined) return;
  if (transport === 'utp') rec.utpFirst = true;
  else delete rec.utpFirst;
}

/** How a dial came up: with the peer's handshake, the encryption and the transport carrying it. */
export interface DialOutcome {
  readonly encryption: PeerEncryption;
  readonly transport: PeerTransport;
}

/**
 * A dial to `address` made before this torrent machine existed — a magnet link's metadata fetch
 * (src/session/fetch-metadata.ts) — came up as `outcome`: remembered as this torrent's own dial's
 * would be (`mseFirst`, `utpFirst`), so the download's first dial there goes the way that worked.
 */
export function noteEarlierDial(context: TorrentContext, address: string, outcome: DialOutcome): void {
  noteDialEncryption(context, address, 'outgoing', outcome.encryption);
  noteDialTransport(context, address, 'outgoing', outcome.transport);
}

/** Remembers where a departing peer listened (departedListen), the oldest forgotten past maxAddresses. */
export function rememberDeparted(context: TorrentContext, key: PeerKey, listen: string): void {
  const { departedListen } = context;
  departedListen.delete(key);
  departedListen.set(key, listen);
  if (departedListen.size > context.maxAddresses) {
    const oldest = departedListen.keys().next().value;
    if (oldest !== undefined) departedListen.delete(oldest);
  }
}

/**
 * The dial queue holds addresses whose records may have been evicted or banned since, and an
 * address queued twice: past twice the book's size it is filtered down to what connectQueued would
 * dial. Twice, not once: a full book of queued addresses filtered back to its size would be filtered
 * again at the next address learned, a pass over the queue per address.
 */
export function compactQueue(context: TorrentContext): void {
  const { queue } = context;
  if (queue.length <= 2 * context.maxAddresses) return;
  const keep = [...new Set(queue)].filter((a) => {
    const rec = context.addresses.get(a);
    return rec?.dialable === true && !rec.banned && !held(context, a);
  });
  queue.length = 0;
  queue.push(...keep);
}

/**
 * A connection at `address` ended: an incoming-only (not dialable) address is forgotten — its port
 * was the remote's source port, it will never be dialled, and a ban lives on its host.
 */
export function forgetIncoming(context: TorrentContext, address: string): void {
  const rec = context.addresses.get(address);
  if (rec !== undefined && !rec.dialable && !connectedAt(context, address)) context.addresses.delete(address);
}

function banHost(context: TorrentContext, host: string): void {
  const { bannedHosts } = context;
  bannedHosts.delete(host); // a ban again is the newest
  if (bannedHosts.size >= MAX_BANNED_HOSTS) {
    const oldest = bannedHosts.values().next().value;
    if (oldest !== undefined) bannedHosts.delete(oldest);
  }
  bannedHosts.add(host);
}

/**
 * The one place a peer is banned (the ban rule in torrent-ban.ts calls it, with the peer's key:
 * its address, or torrent-peers.ts incomingKeyAt's, which names the same address): its address and where
 * it listens (its BEP 10 `p`) are never dialled again, its host never accepted again,
 * `torrent.peerBanned` is emitted, and its connection — and every other connection its host opened
 * to us — is closed as `banned`. Those others lose only the connection: where they listen stays
 * dialable (another peer of a local swarm or behind the same NAT). Works for a peer already gone.
 */
export function banPeer(
  context: TorrentContext,
  key: PeerKey,
  why: Extract<TorrentEmitted, { type: 'torrent.peerBanned' }>['why'],
  index: number,
  fx: TorrentEffects,
): void {
  const reason: CloseReason = { reason: 'banned' };
  const seed = context.webSeeds.get(key);
  if (seed !== undefined) {
    // A web seed: its URL read as host:port would be host `http` (or `http://h` with a port),
    // shared by every web seed of that form; no peer's host is banned for it, only the seed itself.
    seed.banned = true;
    fx.emit({ type: 'torrent.peerBanned', address: key, why, index });
    const e = context.peers.get(key);
    if (e !== undefined) fx.toPeer(e.ref, { type: 'cmd.close', reason } satisfies PeerCommand);
    return;
  }
  const address = addressOfKey(key);
  const rec = context.addresses.get(address);
  if (rec !== undefined) rec.banned = true;
  // Where it listens: known from its connection, or remembered after it left (a smart-ban verdict
  // comes when the piece passes, often after the culprit is gone). Without a record, one is made
  // banned, so a tracker naming that address later does not get it dialled.
  const listen = context.peers.get(key)?.listenAddress ?? context.departedListen.get(key);
  if (listen !== undefined) {
    const listenRec =
      context.addresses.get(listen) ??
      rememberAddress(context, listen, { attempts: 0, banned: true, dialable: true }, false);
    if (listenRec !== undefined) listenRec.banned = true;
  }
  const host = banKey(address);
  banHost(context, host);
  fx.emit({ type: 'torrent.peerBanned', address, why, index });
  for (const e of context.peers.values())
    if (e.address === address || (e.direction === 'incoming' && e.host === host))
      fx.toPeer(e.ref, { type: 'cmd.close', reason } satisfies PeerCommand);
}
