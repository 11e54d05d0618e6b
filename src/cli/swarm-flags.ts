/**
 * The flags `download` and `seed` share (who to talk to, how to show it) and what they mean, so
 * both commands read them the same way.
 */
import { DEFAULT_BOOTSTRAP } from '../dht/routers.js';
import type { LsdSettings } from '../lsd/lsd.js';
import { ipv4Number } from '../lsd/lsd-interfaces.js';
import { type PeerAddress, parsePeerAddress } from '../net/address.js';
import { resolveBindAddress } from '../net/bind-address.js';
import { ENCRYPTION_POLICIES, type EncryptionPolicy, isEncryptionPolicy } from '../net/encryption-policy.js';
import { type ProxySettings, ProxyUrlError, parseProxyUrl } from '../net/proxy.js';
import { isUtpMode, UTP_MODES, type UtpMode } from '../net/utp-mode.js';
import { ANNOUNCE_URL } from '../session/announce-tiers.js';
import type { DhtSettings } from '../session/dht-announces.js';
import type { DisplayMode } from './download-display.js';
import { parseCount } from './parse-number.js';
import { UsageError } from './usage-error.js';

export const SWARM_FLAGS = {
  peer: { type: 'string', short: 'p', multiple: true },
  'no-tracker': { type: 'boolean' },
  tracker: { type: 'string', multiple: true },
  bind: { type: 'string' },
  'no-dht': { type: 'boolean' },
  'dht-bootstrap': { type: 'string', multiple: true },
  'no-pex': { type: 'boolean' },
  'no-lsd': { type: 'boolean' },
  'lsd-interface': { type: 'string', multiple: true },
  port: { type: 'string' },
  'max-peers': { type: 'string' },
  encryption: { type: 'string' },
  utp: { type: 'string' },
  proxy: { type: 'string' },
  blocklist: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface SwarmFlagValues {
  readonly peer?: string[] | undefined;
  readonly 'no-tracker'?: boolean | undefined;
  readonly tracker?: string[] | undefined;
  readonly bind?: string | undefined;
  readonly 'no-dht'?: boolean | undefined;
  readonly 'dht-bootstrap'?: string[] | undefined;
  readonly 'no-pex'?: boolean | undefined;
  readonly 'no-lsd'?: boolean | undefined;
  readonly 'lsd-interface'?: string[] | undefined;
  readonly port?: string | undefined;
  readonly 'max-peers'?: string | undefined;
  readonly encryption?: string | undefined;
  readonly utp?: string | undefined;
  readonly proxy?: string | undefined;
  /** Read apart (async: src/cli/blocklist-flag.ts). */
  readonly blocklist?: string | undefined;
  readonly json?: boolean | undefined;
  readonly quiet?: boolean | undefined;
}

/** The session options the shared flags give; a bad value is a UsageError (exit 2). */
export function swarmOptions(values: SwarmFlagValues): {
  peers: PeerAddress[];
  trackers: boolean;
  pex?: boolean;
  port?: number;
  maxPeers?: number;
  dht?: DhtSettings;
  lsd?: LsdSettings;
  encryption?: EncryptionPolicy;
  utp?: UtpMode;
  proxy?: ProxySettings;
  extraTrackers?: string[];
  bind?: string;
} {
  const port = values.port === undefined ? undefined : parseCount('--port', values.port, 0, 65535);
  const maxPeers =
    values['max-peers'] === undefined ? undefined : parseCount('--max-peers', values['max-peers'], 1, 5000);
  const encryption = encryptionOption(values.encryption);
  const utp = utpOption(values.utp);
  const proxy = proxyOption(values.proxy);
  const extraTrackers = values.tracker ?? [];
  if (extraTrackers.length > 0 && values['no-tracker'] === true)
    throw new UsageError('--tracker goes without --no-tracker');
  for (const url of extraTrackers) checkTrackerUrl(url);
  if (values.bind !== undefined && values.bind.trim() === '')
    throw new UsageError('--bind takes an IPv4 address or an interface name');
  const routers = values['dht-bootstrap'];
  if (values['no-dht'] === true && routers !== undefined)
    throw new UsageError('--dht-bootstrap goes without --no-dht');
  // The DHT is on by default, as in the reference clients (never for a private torrent: the
  // session checks); --dht-bootstrap replaces the public routers.
  const dht: DhtSettings | undefined =
    values['no-dht'] === true
      ? undefined
      : { bootstrap: routers === undefined ? DEFAULT_BOOTSTRAP : routers.map((r) => parsePeerAddress(r)) };
  const lsd = lsdOption(values);
  return {
    peers: (values.peer ?? []).map((p) => parsePeerAddress(p)),
    trackers: values['no-tracker'] !== true,
    ...(dht === undefined ? {} : { dht }),
    ...(lsd === undefined ? {} : { lsd }),
    ...(values['no-pex'] === true ? { pex: false } : {}),
    ...(port === undefined ? {} : { port }),
    ...(maxPeers === undefined ? {} : { maxPeers }),
    ...(encryption === undefined ? {} : { encryption }),
    ...(utp === undefined ? {} : { utp }),
    ...(proxy === undefined ? {} : { proxy }),
    ...(extraTrackers.length === 0 ? {} : { extraTrackers }),
    ...(values.bind === undefined ? {} : { bind: values.bind }),
  };
}

/**
 * Local Service Discovery (BEP 14): on by default, as in libtorrent and qBittorrent, on every IPv4
 * interface but loopback; `--lsd-interface ADDR` (repeatable) names the interfaces instead (by
 * their IPv4 address: 127.0.0.1 keeps it on this host), `--no-lsd` turns it off.
 */
export function lsdOption(values: SwarmFlagValues): LsdSettings | undefined {
  const asked = values['lsd-interface'];
  if (values['no-lsd'] === true) {
    if (asked !== undefined) throw new UsageError('--lsd-interface goes without --no-lsd');
    return undefined;
  }
  if (asked === undefined) return {};
  for (const a of asked)
    if (ipv4Number(a) === undefined)
      throw new UsageError(`--lsd-interface wants an interface's IPv4 address, got ${JSON.stringify(a)}`);
  return { interfaces: asked };
}

/** `--proxy URL` (download, seed): socks5://, socks5h://, socks4a:// or http://, or a UsageError (exit 2). */
export function proxyOption(value: string | undefined): ProxySettings | undefined {
  if (value === undefined) return undefined;
  try {
    return parseProxyUrl(value);
  } catch (e) {
    if (e instanceof ProxyUrlError) throw new UsageError(e.message);
    throw e;
  }
}

/** `--tracker URL`: an http(s) or udp tracker's URL (udp with a port), or a UsageError (exit 2). */
export function checkTrackerUrl(url: string): void {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  const bad = (why: string) => new UsageError(`--tracker ${JSON.stringify(url)}: ${why}`);
  if (u === undefined || !ANNOUNCE_URL.test(url)) throw bad('not an http, https or udp URL');
  if (u.hostname === '') throw bad('no host');
  if (u.protocol === 'udp:' && u.port === '') throw bad('a udp tracker needs a port');
}

/**
 * `--bind` resolved to its address (src/net/bind-address.ts) before the session starts, so that an
 * unknown interface or an address not on this machine is one line and exit 2 with nothing written.
 */
export async function resolveBind<T extends { bind?: string }>(options: T): Promise<T> {
  if (options.bind === undefined) return options;
  return { ...options, bind: await resolveBindAddress(options.bind) };
}

/** `--tracker` refused for a private torrent (BEP 27: its peers come from its own trackers only). */
export function checkExtraTrackers(
  options: { extraTrackers?: readonly string[] },
  torrents: readonly { readonly name: string; readonly private: boolean }[],
): void {
  if (options.extraTrackers === undefined) return;
  const closed = torrents.find((t) => t.private);
  if (closed !== undefined)
    throw new UsageError(
      `--tracker: ${closed.name} is a private torrent (BEP 27: its peers come from its own trackers only)`,
    );
}

/** `--utp MODE` (download, seed, demo): a mode, or a UsageError (exit 2). */
export function utpOption(value: string | undefined): UtpMode | undefined {
  if (value !== undefined && !isUtpMode(value))
    throw new UsageError(`--utp wants one of ${UTP_MODES.join(', ')}, got ${JSON.stringify(value)}`);
  return value;
}

/** `--encryption MODE` (download, seed, demo): a policy, or a UsageError (exit 2). */
export function encryptionOption(value: string | undefined): EncryptionPolicy | undefined {
  if (value !== undefined && !isEncryptionPolicy(value))
    throw new UsageError(
      `--encryption wants one of ${ENCRYPTION_POLICIES.join(', ')}, got ${JSON.stringify(value)}`,
    );
  return value;
}

export function displayModeOf(values: SwarmFlagValues): DisplayMode {
  return values.json === true ? 'json' : values.quiet === true ? 'quiet' : 'terminal';
}
