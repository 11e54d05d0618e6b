/**
 * libtorrent 2.0 (Debian's python3-libtorrent) as a seeder or downloader on 127.0.0.1, through
 * libtorrent_client.py. Quirks (docs/testing.md): needs allow_multiple_connections_per_ip since
 * every peer is 127.0.0.1; silently ignores a connect to a peer it already knows as finished (the
 * script repeats connects while it has no peer); its RSS counts the memory-mapped payload. uTP
 * (BEP 29) is off unless `transport` turns it on.
 */
import { HarnessError } from './harness-error.js';
import { SYSTEM_PYTHON } from './info-hash.js';
import { harnessFile } from './paths.js';
import { getFreePort } from './ports.js';
import { type ManagedProcess, runProcess, startProcess, whileRunning } from './processes.js';

export interface LibtorrentClientArgs {
  readonly torrent: string;
  /** libtorrent's save_path: the folder that holds (or will hold) the torrent's file or folder. */
  readonly savePath: string;
  readonly port: number;
  /** The loopback address it listens on and dials from (default 127.0.0.1; any 127.x.y.z is local). */
  readonly host?: string;
  readonly mode: 'seed' | 'download';
  /** Never announce; peers come from `peers`. */
  readonly trackerOff?: boolean;
  /** HOST:PORT strings to dial. */
  readonly peers?: readonly string[];
  /** Gives up after this many seconds (exit 3). */
  readonly timeoutSec?: number;
  /** Seed mode: hash the data first instead of trusting it. */
  readonly recheck?: boolean;
  /** Seconds between status lines (default 1; the loop polls at least every 50 ms). */
  readonly statusIntervalSec?: number;
  /** Bytes per second uploaded at most, loopback peers included (default: no limit). */
  readonly uploadLimit?: number;
  /** Only MSE/PE connections (the obfuscated handshake; plaintext or RC4 after it). */
  readonly encrypt?: boolean;
  /**
   * With `encrypt`: libtorrent's allowed_enc_level — what it offers and accepts after the handshake
   * (default both; 'rc4': RC4 for the whole stream, as a peer that requires encryption).
   */
  readonly encLevel?: 'plaintext' | 'rc4' | 'both';
  /** HOST:PORT DHT nodes to bootstrap from: turns libtorrent's DHT on (on 127.0.0.1). */
  readonly dhtBootstrap?: readonly string[];
  /**
   * Status lines list each connected peer, whether it is over uTP and whether libtorrent learnt it
   * through PEX; one is also printed whenever the connected peers change.
   */
  readonly peerSources?: boolean;
  /**
   * Which transports it accepts and dials (default 'tcp': uTP off). 'both': TCP and uTP (BEP 29),
   * libtorrent's default; 'utp': uTP only — incoming TCP connections are closed, no TCP dial.
   */
  readonly transport?: LibtorrentTransport;
  /** Print each failed dial: its transport and its error (`--connect-failures`). */
  readonly connectFailures?: boolean;
  /**
   * Download mode: seconds between connect requests to `peers` while none is connected (default 1).
   * Each request names the peer uTP-capable again, so with uTP on the next dial is uTP whatever
   * libtorrent learnt from the last.
   */
  readonly connectIntervalSec?: number;
  /** Local Service Discovery (BEP 14) on, on 127.0.0.1 (`--lsd`). */
  readonly lsd?: boolean;
  /** With `lsd`: seconds between its LSD announces (libtorrent's local_service_announce_interval, 300). */
  readonly lsdIntervalSec?: number;
  /** Close every incoming TCP connection: only its own dials connect (`--no-incoming`). */
  readonly noIncoming?: boolean;
  /** Dial no one over TCP: only peers that dial it connect (`--no-outgoing`). */
  readonly noOutgoing?: boolean;
}

/** `libtorrent_client.py --transport`. */
export type LibtorrentTransport = 'tcp' | 'both' | 'utp';

/** One connected peer of a `--peer-sources` status line. */
export interface LibtorrentPeerSource {
  readonly address: string;
  /** The connection is uTP (libtorrent's peer_info::utp_socket). */
  readonly utp: boolean;
  readonly pex: boolean;
  readonly tracker: boolean;
  /** libtorrent learnt it by Local Service Discovery (BEP 14: peer_info.lsd). */
  readonly lsd: boolean;
}

/** A dial of libtorrent's that failed (`--connect-failures`). */
export interface LibtorrentConnectFailure {
  readonly address: string;
  /** It was a uTP dial. */
  readonly utp: boolean;
  /** The system error: ECONNRESET (104) for a SYN answered by ST_RESET, ETIMEDOUT (110) for one never answered. */
  readonly errno: number;
  readonly message: string;
}

/** The command line that runs the script (for wrappers such as the benchmark's meter). */
export function libtorrentClientCommand(a: LibtorrentClientArgs): { command: string; args: string[] } {
  const args = [
    harnessFile('libtorrent_client.py'),
    '--torrent',
    a.torrent,
    '--save-path',
    a.savePath,
    '--port',
    String(a.port),
    '--mode',
    a.mode,
  ];
  if (a.host !== undefined) args.push('--host', a.host);
  if (a.trackerOff) args.push('--tracker-off');
  for (const p of a.peers ?? []) args.push('--peer', p);
  if (a.timeoutSec !== undefined) args.push('--timeout', String(a.timeoutSec));
  if (a.recheck) args.push('--recheck');
  if (a.encrypt) args.push('--encrypt');
  if (a.encLevel !== undefined) args.push('--enc-level', a.encLevel);
  for (const n of a.dhtBootstrap ?? []) args.push('--dht-bootstrap', n);
  if (a.peerSources) args.push('--peer-sources');
  if (a.transport !== undefined) args.push('--transport', a.transport);
  if (a.connectFailures) args.push('--connect-failures');
  if (a.connectIntervalSec !== undefined) args.push('--connect-interval', String(a.connectIntervalSec));
  if (a.uploadLimit !== undefined && a.uploadLimit > 0) args.push('--upload-limit', String(a.uploadLimit));
  if (a.statusIntervalSec !== undefined) args.push('--status-interval', String(a.statusIntervalSec));
  if (a.lsd) args.push('--lsd');
  if (a.lsdIntervalSec !== undefined) args.push('--lsd-interval', String(a.lsdIntervalSec));
  if (a.noIncoming) args.push('--no-incoming');
  if (a.noOutgoing) args.push('--no-outgoing');
  return { command: SYSTEM_PYTHON, args };
}

export interface LibtorrentSeeder {
  readonly port: number;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** Starts a seeder and resolves once it reports `seeding`. `dataDir` is its save_path. */
export async function startLibtorrentSeeder(opts: {
  readonly torrent: string;
  readonly dataDir: string;
  readonly port?: number;
  /** The loopback address it listens on (default 127.0.0.1). */
  readonly host?: string;
  readonly trackerOff?: boolean;
  readonly recheck?: boolean;
  /** Bytes per second uploaded at most, loopback peers included (default: no limit). */
  readonly uploadLimit?: number;
  /** DHT nodes to bootstrap from (libtorrent then announces the torrent in the DHT). */
  readonly dhtBootstrap?: readonly string[];
  /** Only MSE/PE connections (pe_forced both ways), with this allowed_enc_level. */
  readonly encrypt?: 'plaintext' | 'rc4' | 'both';
  /** TCP only (default), TCP and uTP, or uTP only (its TCP port closes every connection). */
  readonly transport?: LibtorrentTransport;
  /** LSD (BEP 14) on 127.0.0.1, announcing every `lsdIntervalSec`; `noOutgoing`: it dials no one. */
  readonly lsd?: { readonly intervalSec?: number; readonly noOutgoing?: boolean };
  /** Hard lifetime (ms). Default 30 min. */
  readonly timeoutMs?: number;
  readonly readyTimeoutMs?: number;
}): Promise<LibtorrentSeeder> {
  const port = opts.port ?? (await getFreePort());
  const { command, args } = libtorrentClientCommand({
    torrent: opts.torrent,
    savePath: opts.dataDir,
    port,
    mode: 'seed',
    ...(opts.host === undefined ? {} : { host: opts.host }),
    trackerOff: opts.trackerOff,
    recheck: opts.recheck,
    uploadLimit: opts.uploadLimit,
    ...(opts.dhtBootstrap === undefined ? {} : { dhtBootstrap: opts.dhtBootstrap }),
    ...(opts.encrypt === undefined ? {} : { encrypt: true, encLevel: opts.encrypt }),
    ...(opts.transport === undefined ? {} : { transport: opts.transport }),
    ...(opts.lsd === undefined
      ? {}
      : {
          lsd: true,
          ...(opts.lsd.intervalSec === undefined ? {} : { lsdIntervalSec: opts.lsd.intervalSec }),
          ...(opts.lsd.noOutgoing ? { noOutgoing: true } : {}),
        }),
  });
  const proc = startProcess(command, args, {
    name: `libtorrent seeder :${port}`,
    timeoutMs: opts.timeoutMs ?? 30 * 60_000,
  });
  const seeder: LibtorrentSeeder = {
    port,
    process: proc,
    stop: async () => {
      await proc.stop(2000);
    },
  };
  try {
    await whileRunning(proc, proc.waitForLine(/"state": "seeding"/, opts.readyTimeoutMs ?? 60_000));
  } catch (err) {
    await seeder.stop();
    throw err;
  }
  return seeder;
}

/**
 * Downloads into `outDir` (libtorrent's save_path); rejects unless it completes in time. With
 * `peerSources`, resolves with every connected peer its status lines showed (the script prints one
 * whenever its connected peers change, seen within its 50 ms poll).
 */
export async function libtorrentDownload(opts: {
  readonly torrent: string;
  readonly outDir: string;
  readonly peers?: readonly string[];
  readonly port?: number;
  /** The loopback address it listens on and dials from (default 127.0.0.1). */
  readonly host?: string;
  /** Default: on when `peers` are given. */
  readonly trackerOff?: boolean;
  readonly encrypt?: boolean;
  /** With `encrypt`: allowed_enc_level (default both). */
  readonly encLevel?: 'plaintext' | 'rc4' | 'both';
  /** DHT nodes to bootstrap from: peers found through the DHT. */
  readonly dhtBootstrap?: readonly string[];
  /** TCP only (default), TCP and uTP, or uTP only. */
  readonly transport?: LibtorrentTransport;
  /** Collect the connected peers of its status lines into the result's `peers`. */
  readonly peerSources?: boolean;
  /** Collect its failed dials into the result's `connectFailures`. */
  readonly connectFailures?: boolean;
  /** Seconds between its connect requests to `peers` while none is connected (default 1). */
  readonly connectIntervalSec?: number;
  readonly timeoutMs: number;
}): Promise<{
  elapsedMs: number;
  peers: LibtorrentPeerSource[];
  connectFailures: LibtorrentConnectFailure[];
}> {
  const port = opts.port ?? (await getFreePort());
  const peers = opts.peers ?? [];
  const { command, args } = libtorrentClientCommand({
    torrent: opts.torrent,
    savePath: opts.outDir,
    port,
    mode: 'download',
    ...(opts.host === undefined ? {} : { host: opts.host }),
    trackerOff: opts.trackerOff ?? peers.length > 0,
    peers,
    timeoutSec: opts.timeoutMs / 1000,
    ...(opts.encrypt ? { encrypt: true } : {}),
    ...(opts.encLevel === undefined ? {} : { encLevel: opts.encLevel }),
    ...(opts.dhtBootstrap === undefined ? {} : { dhtBootstrap: opts.dhtBootstrap }),
    ...(opts.transport === undefined ? {} : { transport: opts.transport }),
    ...(opts.peerSources ? { peerSources: true } : {}),
    ...(opts.connectFailures ? { connectFailures: true } : {}),
    ...(opts.connectIntervalSec === undefined ? {} : { connectIntervalSec: opts.connectIntervalSec }),
  });
  const seen = new Map<string, LibtorrentPeerSource>();
  const connectFailures: LibtorrentConnectFailure[] = [];
  const r = await runProcess(command, args, {
    name: `libtorrent download :${port}`,
    timeoutMs: opts.timeoutMs + 10_000,
    onLine: (line, stream) => {
      if (stream === 'stdout' && line.includes('"event": "connectFailed"'))
        connectFailures.push(JSON.parse(line) as LibtorrentConnectFailure);
      if (stream !== 'stdout' || !line.includes('"peerSources"')) return;
      const status = JSON.parse(line) as { peerSources: LibtorrentPeerSource[] };
      for (const p of status.peerSources) seen.set(JSON.stringify(p), p);
    },
  });
  if (!r.stdoutTail.includes('"event": "done"')) {
    throw new HarnessError(
      'exited',
      `libtorrent download ended without "done": ${r.stdoutTail.slice(-1500)}`,
    );
  }
  return { elapsedMs: r.elapsedMs, peers: [...seen.values()], connectFailures };
}

export interface LibtorrentDownloader {
  readonly port: number;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * A downloader that dials no one and only waits to be dialled (no trackers, no peers): for a peer
 * that serves it, such as `bitstate probe --data`. Resolves once it listens; stopped by the test.
 * Its status lines (`progress`, `totalDone`) say what it kept of what it was served.
 */
export async function startLibtorrentDownloader(opts: {
  readonly torrent: string;
  readonly outDir: string;
  readonly port?: number;
  /** Hard lifetime (ms). */
  readonly timeoutMs: number;
}): Promise<LibtorrentDownloader> {
  const port = opts.port ?? (await getFreePort());
  const { command, args } = libtorrentClientCommand({
    torrent: opts.torrent,
    savePath: opts.outDir,
    port,
    mode: 'download',
    trackerOff: true,
  });
  const proc = startProcess(command, args, {
    name: `libtorrent downloader :${port}`,
    timeoutMs: opts.timeoutMs,
  });
  const downloader: LibtorrentDownloader = {
    port,
    process: proc,
    stop: async () => {
      await proc.stop(2000);
    },
  };
  try {
    // Listening, and past checking its (empty) files: incoming peers are taken from then on.
    await whileRunning(proc, proc.waitForLine(/"state": "downloading"/, 30_000));
  } catch (err) {
    await downloader.stop();
    throw err;
  }
  return downloader;
}
