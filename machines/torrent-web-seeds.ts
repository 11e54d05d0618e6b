/**
 * BEP 19 web seeds (the torrent's `url-list`) as the torrent machine sees them: each is a peer
 * (key and address = its URL) that has every piece and never chokes, spawned as a peer machine
 * whose `connection` the world makes of HTTP range requests (src/net/web-seed-connection.ts).
 * Unlike a peer address it holds no connection slot, is never evicted nor queued, and is never
 * given up: a seed that fails (HTTP error, timeout, a close of any kind but ours) is connected
 * again after a back-off — WEB_SEED_RETRY_MS, doubled per failure in a row up to
 * WEB_SEED_MAX_RETRY_MS, or longer when a 503 said `Retry-After` — as libtorrent retries a web seed
 * after `urlseed_wait_retry`. A seed that sent a piece that failed its hash is banned (by its own
 * record, never a peer host: torrent-address-book.ts `banPeer`; the rule is torrent-ban.ts) and never
 * connected again. Pure: time is the ticker's (`nowMs`).
 */
import type { CloseReason } from './peer.types.js';

/** The first wait before a failed web seed is tried again (libtorrent: 30 s; we say 60 s). */
export const WEB_SEED_RETRY_MS = 60_000;
/**
 * Web seeds connected at once, at most: a torrent may list 256 (MAX_WEB_SEEDS), all on one host
 * it wants to flood; the others wait for one of these to fail or be banned.
 */
export const MAX_LIVE_WEB_SEEDS = 4;
/** The longest back-off, failures in a row or a server's Retry-After. */
export const WEB_SEED_MAX_RETRY_MS = 30 * 60_000;

export interface WebSeedRecord {
  readonly url: string;
  /** A peer machine for it is alive (spawned, not closed). */
  live: boolean;
  /** Failures since it last sent payload: the back-off doubles with each. */
  failures: number;
  /** Failures in all, for the world's display. */
  failuresTotal: number;
  /** Not connected again before this `nowMs`. */
  retryAtMs: number;
  /** It sent bad data (the ban rule): never connected again. */
  banned: boolean;
}

export interface WebSeedState {
  readonly webSeeds: Map<string, WebSeedRecord>;
  readonly webSeedRetryMs: number;
  readonly nowMs: number;
}

/** The records of `urls`, each once, none live, all due at once. */
export function initialWebSeeds(urls: readonly string[] | undefined): Map<string, WebSeedRecord> {
  const seeds = new Map<string, WebSeedRecord>();
  for (const url of urls ?? [])
    if (!seeds.has(url))
      seeds.set(url, { url, live: false, failures: 0, failuresTotal: 0, retryAtMs: 0, banned: false });
  return seeds;
}

/** A web seed's key: its URL. Peer addresses are `host:port`, never a URL, so the two never meet. */
export function isWebSeedKey(state: Pick<WebSeedState, 'webSeeds'>, key: string): boolean {
  return state.webSeeds.has(key);
}

/**
 * The web seeds to connect now: not live, not banned, their back-off over, while fewer than
 * MAX_LIVE_WEB_SEEDS are live (the longest waiting first: a failed one goes to the back). Marked live.
 */
export function dueWebSeeds(state: WebSeedState): string[] {
  const due: string[] = [];
  let room = MAX_LIVE_WEB_SEEDS - liveWebSeeds(state);
  for (const seed of state.webSeeds.values()) {
    if (room <= 0) break;
    if (seed.live || seed.banned || seed.retryAtMs > state.nowMs) continue;
    room--;
    seed.live = true;
    due.push(seed.url);
  }
  return due;
}

/** Web seeds with a live peer machine: they hold no connection slot (torrent-slots.ts). */
export function liveWebSeeds(state: Pick<WebSeedState, 'webSeeds'>): number {
  let n = 0;
  for (const seed of state.webSeeds.values()) if (seed.live) n++;
  return n;
}

/** Payload came from it: its next failure waits the first back-off again. */
export function webSeedDelivered(state: Pick<WebSeedState, 'webSeeds'>, url: string): void {
  const seed = state.webSeeds.get(url);
  if (seed !== undefined) seed.failures = 0;
}

/**
 * Its peer machine closed with `reason`. Banned: for good. Closed by us as not needed (the download
 * has what it has, or we stop): tried again after the first back-off, if still wanted then.
 * Anything else is a failure: the back-off doubles, and a server's Retry-After (carried by a
 * socketError) is honoured up to WEB_SEED_MAX_RETRY_MS. Returns when it is tried again.
 */
export function webSeedClosed(state: WebSeedState, url: string, reason: CloseReason): number | undefined {
  const seed = state.webSeeds.get(url);
  if (seed === undefined) return undefined;
  seed.live = false;
  if (reason.reason === 'banned') {
    seed.banned = true;
    return undefined;
  }
  let wait = state.webSeedRetryMs;
  if (reason.reason !== 'notNeeded' && reason.reason !== 'stopped') {
    seed.failures++;
    seed.failuresTotal++;
    wait = Math.min(WEB_SEED_MAX_RETRY_MS, state.webSeedRetryMs * 2 ** Math.min(seed.failures - 1, 16));
    const after = reason.reason === 'socketError' ? reason.retryAfterMs : undefined;
    if (after !== undefined) wait = Math.max(wait, Math.min(after, WEB_SEED_MAX_RETRY_MS));
  }
  seed.retryAtMs = state.nowMs + wait;
  // To the back of the order: others that wait for a place are tried before it again.
  state.webSeeds.delete(url);
  state.webSeeds.set(url, seed);
  return seed.retryAtMs;
}
