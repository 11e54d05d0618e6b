/**
 * `bitstate download <torrent> [--out DIR] [--peer HOST:PORT ...] [--port N] [--max-peers N] [--encryption MODE] [--utp MODE] [--proxy URL] [--blocklist FILE]
 *  [--timeout S] [--no-tracker] [--tracker URL ...] [--bind ADDR|IFACE] [--no-dht] [--dht-bootstrap HOST:PORT ...] [--no-pex] [--no-lsd] [--lsd-interface ADDR ...] [--no-web-seeds] [--web-seed-connections N] [--select LIST] [--only GLOB] [--sequential] [--recheck] [--no-preallocate] [--write-mode MODE] [--on-complete CMD [--on-complete-timeout S]] [--json] [--quiet]
 *  [--peers] [--inspect] [--ui [--ui-port N]] [--trace FILE]`
 */
import { parseArgs } from 'node:util';
import type { InspectionOptions, InspectionSession } from '../../inspect/inspection-session.js';
import { parseMagnet } from '../../metainfo/magnet.js';
import { readTorrentFile } from '../../metainfo/read-torrent-file.js';
import type { IpRangeSet } from '../../net/ip-range-set.js';
import { DEFAULT_WEB_SEED_CONNECTIONS, MAX_WEB_SEED_CONNECTIONS } from '../../net/web-seed-requests.js';
import { download } from '../../session/download.js';
import { downloadMagnet } from '../../session/download-magnet.js';
import { downloadMany } from '../../session/download-many.js';
import { checkSelectionSyntax, fileSelection } from '../../session/file-selection.js';
import { DEFAULT_HOOK_TIMEOUT_MS, MAX_HOOK_TIMEOUT_MS } from '../../session/on-complete-hook.js';
import { dhtStatePathOf } from '../../storage/store-files.js';
import type { WriteModeSetting } from '../../storage/write-mode.js';
import { blocklistOption } from '../blocklist-flag.js';
import { createDownloadDisplay } from '../download-display.js';
import { createDownloadManyDisplay } from '../download-many-display.js';
import { ExitCode } from '../exit-code.js';
import { parseCount, parseRate, parseSeconds } from '../parse-number.js';
import { isMagnetLink, readTorrentsAndMagnets } from '../read-torrents.js';
import { describeError } from '../report-error.js';
import { heapForWebSeeds } from '../small-heap.js';
import { onStopSignal } from '../stop-signal.js';
import {
  checkExtraTrackers,
  displayModeOf,
  resolveBind,
  SWARM_FLAGS,
  type SwarmFlagValues,
  swarmOptions,
} from '../swarm-flags.js';
import { UsageError } from '../usage-error.js';

export const usage = `Usage: bitstate download <FILE.torrent | MAGNET> [options]
       bitstate download <FILE.torrent | MAGNET> <FILE.torrent | MAGNET> ... [options]

Downloads every piece of the torrent into DIR/<name>, verifying each piece's hash (SHA-1, or
BitTorrent v2's SHA-256 merkle root, BEP 52).
A magnet link ('magnet:?xt=urn:btih:…&tr=…&x.pe=HOST:PORT&ws=URL') first fetches the torrent's
metadata from its peers (BEP 9: x.pe, --peer, trackers, the DHT, LSD) and keeps it in
DIR/.bitstate/<info-hash>.torrent; its ws= web seeds (BEP 19) are downloaded from after it.
Its so=0,2,4-6 (BEP 53, select only) fetches only those files, numbered as --select numbers
them, unless --select or --only is given: they win over so=.
A v2 link ('xt=urn:btmh:1220<64 hex>', BEP 52) also fetches the piece layers (hash requests).
With no torrent, runs the local demo swarm (bitstate demo).

Several torrents (.torrent files and magnet links, in any mix) are downloaded by one process,
each into DIR/<its name>, on one port (TCP, and UDP for uTP and the DHT: a peer's handshake says
which torrent it wants), --max-up and --max-down shared by all, --max-peers per torrent and
--max-peers-global for all together. A magnet link fetches its metadata while the others
download (its row says metadata… until then; --metadata-timeout applies to each).
Every .torrent must load and no two torrents be the same (by info-hash) or share a name, or
nothing starts (exit 2); a magnet link's torrent found, once its metadata comes, to have the name
of one before it fails alone (its files untouched). A torrent that fails later (a magnet whose
metadata never came too) stops alone, the others go on. --seed keeps each torrent seeding once
complete, until Ctrl-C (exit 0), its own --seed-ratio or --seed-time. Exit 0 when all complete,
1 if any failed, 130 on Ctrl-C while downloading. --json events carry each torrent's infoHash
(a magnet link's from its first). Options that name one torrent's files or machines (--select,
--only, --super-seed, --peers, --inspect, --ui, --trace) are refused with several (exit 2).

Options:
  -o, --out DIR          where to save (default: the current directory)
  -p, --peer HOST:PORT   a peer to connect to (repeatable); trackers are asked too
      --no-tracker       do not announce to trackers
      --tracker URL      a tracker (http, https, udp) to announce to besides the torrent's own
                         (repeatable; each in a tier of its own after the torrent's, one it has
                         already not twice; a magnet's metadata fetch asks it too); not with
                         --no-tracker, nor for a private torrent (BEP 27: exit 2)
      --bind ADDR|IFACE  every socket on this IPv4 address, or on this interface's (e.g. tun0,
                         resolved at the start): listening (TCP, UDP for uTP and the DHT) and
                         dialling peers, trackers and web seeds from it, never from another (a
                         kill switch: if it goes away, connections fail until it is back). An
                         interface or address not on this machine: exit 2
      --no-dht           do not use the DHT (BEP 5; on by default, never for a private torrent;
                         its node id and nodes are kept in DIR/.bitstate/dht.dat between runs)
      --dht-bootstrap HOST:PORT  a DHT node to bootstrap from (repeatable; replaces the public
                         routers router.bittorrent.com, dht.transmissionbt.com, router.utorrent.com,
                         dht.libtorrent.org)
      --no-pex           no peer exchange (BEP 11): neither tell peers of each other nor dial
                         the peers they tell of (private torrents never exchange peers)
      --no-lsd           no Local Service Discovery (BEP 14; on by default, never for a private
                         torrent): announce the torrent by multicast to 239.192.152.143:6771 at
                         start and every 5 minutes, and dial the peers that announce it there
      --lsd-interface ADDR  run LSD only on the interface with this IPv4 address (repeatable;
                         default: every IPv4 interface but loopback; 127.0.0.1: this host only)
      --no-web-seeds     do not download from the torrent's web seeds (BEP 19 url-list:
                         HTTP(S) servers with the files; used by default beside the peers)
      --web-seed-connections N  range GETs in flight per web seed, each on its own connection
                         (1-${MAX_WEB_SEED_CONNECTIONS}, default ${DEFAULT_WEB_SEED_CONNECTIONS}; servers often limit each connection's speed)
      --port N           port to listen on for incoming peers, TCP and UDP (default 6881, or
                         the next number free for both; 0 = any)
      --blocklist FILE   an IP filter: peers whose IPv4 address is in one of its ranges are
                         never dialled (trackers, DHT, LSD, PEX, --peer) and their incoming
                         connections are closed unread. P2P (desc:1.2.3.4-1.2.3.255), eMule
                         DAT (level <= 127 blocks), CIDR or single addresses; gzipped or not.
                         Trackers and web seeds there are not contacted.
                         See docs/blocklist.md
      --encryption MODE  Message Stream Encryption (MSE/PE): plaintext, allowed (default:
                         plain first, MSE if a peer closes a plain handshake unanswered),
                         preferred (MSE first, RC4 chosen when offered), required (RC4 only,
                         both ways; plain peers refused). See docs/encryption.md
      --utp MODE         uTP (BEP 29, over UDP on the --port number): on (default: accept it,
                         dial TCP and uTP when TCP fails), prefer (dial uTP first, as
                         libtorrent), off. See docs/utp.md
      --proxy URL        every connection we make through this proxy (docs/proxy.md):
                         socks5://[USER:PASS@]HOST:PORT (names resolved here), socks5h://
                         (names resolved by the proxy), socks4a://, http:// (CONNECT). Peers,
                         http(s) trackers, web seeds, a magnet's metadata; uTP, the DHT, LSD
                         and udp:// trackers are off under it (no UDP through the proxy,
                         nothing around it). Incoming peers are still taken (as libtorrent)
      --max-peers N      connections at most (default 50); an incoming one counts from its
                         handshake (as many again may wait for theirs), and when all are
                         taken a useless one makes room for a newcomer
      --max-peers-global N  several torrents: connections at most on the shared port, every
                         torrent's together (default 200, or twice --max-peers when more)
      --timeout S        give up (exit 1) when no data has arrived for S seconds (default: wait)
      --metadata-timeout S  a magnet: give up (exit 1) when no peer has given the metadata
                         within S seconds (default 120; several: each magnet's own)
      --seed             keep seeding once complete (until Ctrl-C, --seed-ratio or --seed-time)
      --seed-ratio R     with --seed: stop once uploaded ≥ R × the torrent's size (several:
                         each torrent once it has)
      --seed-time S      with --seed: stop after seeding S seconds (several: each its own S)
      --super-seed       with --seed: once complete, super-seed (BEP 16): each peer that connects
                         is told of one or two pieces at a time, not all, the next when it has
                         one, so each piece leaves us about once; not with --select / --only
                         (a partial seed can never super-seed: exit 2)
      --max-up RATE      upload limit in bytes/s (e.g. 512K, 2M), all peers together
      --max-down RATE    download limit in bytes/s
      --select LIST      fetch only these files: indexes as \`bitstate info --json\` lists them
                         (padding files counted), e.g. 0,2-4 (with a magnet link, applied once
                         its metadata is fetched, in place of the link's so=)
      --only GLOB        fetch only files whose path matches (e.g. '*.mkv', 'docs/**'); repeatable;
                         with a magnet link, in place of its so= too
      --sequential       fetch pieces in order, lowest first (for streaming)
      --recheck          hash the data on disk again instead of trusting the resume file
      --no-preallocate   leave new files sparse (default: their disk space is reserved at
                         once with fallocate, as aria2 and Transmission do)
      --write-mode MODE  auto (default: writes on the main thread while the disk keeps up),
                         pool (always on libuv's threads: a network file system), or sync
      --on-complete CMD  run CMD with /bin/sh -c once the torrent completes (every piece verified
                         and synced; several: each torrent's own run), its files closed, or with
                         --seed as seeding begins. Not for a torrent already complete at the
                         start. The torrent is told by environment only, never in CMD:
                         BITSTATE_NAME, BITSTATE_INFO_HASH, BITSTATE_INFO_HASH_V2 (v2, hybrid),
                         BITSTATE_DIR, BITSTATE_PATH (DIR/<name>), BITSTATE_FILES, BITSTATE_SIZE.
                         Its output goes to stderr; one that fails is reported, the exit status
                         stays ours. We wait for it before exiting (Ctrl-C kills it: exit 130).
                         See docs/on-complete.md
      --on-complete-timeout S  kill CMD (its process group) after S seconds (default ${DEFAULT_HOOK_TIMEOUT_MS / 1000};
                         at most ${Math.floor(MAX_HOOK_TIMEOUT_MS / 1000)})
      --json             NDJSON events on stdout instead of the progress display
  -q, --quiet            print nothing but errors
      --peers            show per-peer detail under the progress bar
      --inspect          live inspection in Stately's inspector (local relay on 127.0.0.1:7882)
      --ui               serve a live dashboard on 127.0.0.1 (offline; see docs/inspect.md)
      --ui-port N        the dashboard's port (default 7881; 0 = any)
      --trace FILE       write every machine event and state change to FILE (NDJSON; see replay)
  -h, --help             this text

A restarted download resumes: verified pieces are kept in DIR/.bitstate/<info-hash>.resume and
never fetched again (see docs/resume.md).

Exit status: 0 when every piece is verified and on disk (several: of every torrent), 1 when the
download cannot finish (a disk error too; several: when any torrent failed), 2 for bad input,
130 when interrupted (Ctrl-C stops cleanly: trackers told,
files closed, resume file saved).`;

/** No --inspect, --ui or --trace: nothing to attach, and nothing of src/inspect is loaded. */
const NO_INSPECTION: InspectionSession = {
  inspect: undefined,
  notes: [],
  finish: async () => {},
  close: async () => {},
};

/** The inspection modules are imported only when asked for (start-up time, docs/performance.md §6). */
async function startInspectionIfAsked(o: InspectionOptions): Promise<InspectionSession> {
  if (o.stately !== true && o.ui !== true && o.trace === undefined) return NO_INSPECTION;
  const { startInspection } = await import('../../inspect/inspection-session.js');
  return startInspection(o);
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      ...SWARM_FLAGS,
      out: { type: 'string', short: 'o' },
      timeout: { type: 'string' },
      'metadata-timeout': { type: 'string' },
      seed: { type: 'boolean' },
      'seed-ratio': { type: 'string' },
      'seed-time': { type: 'string' },
      'super-seed': { type: 'boolean' },
      'max-up': { type: 'string' },
      'max-down': { type: 'string' },
      select: { type: 'string', multiple: true },
      only: { type: 'string', multiple: true },
      sequential: { type: 'boolean' },
      recheck: { type: 'boolean' },
      'no-preallocate': { type: 'boolean' },
      'no-web-seeds': { type: 'boolean' },
      'web-seed-connections': { type: 'string' },
      'write-mode': { type: 'string' },
      peers: { type: 'boolean' },
      inspect: { type: 'boolean' },
      ui: { type: 'boolean' },
      'ui-port': { type: 'string' },
      trace: { type: 'string' },
      'max-peers-global': { type: 'string' },
      'on-complete': { type: 'string' },
      'on-complete-timeout': { type: 'string' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return ExitCode.ok;
  }
  if (positionals.length === 0) {
    // No torrent: the built-in local demo swarm (bitstate demo), with the flags it shares.
    const demo = await import('./demo.js');
    return demo.run([
      ...(values.out === undefined ? [] : ['--out', values.out]),
      ...(values.json === true ? ['--json'] : []),
      ...(values.quiet === true ? ['--quiet'] : []),
    ]);
  }
  // --bind resolved now: a bad one is exit 2 before anything is read or written.
  const swarm = await resolveBind({
    ...swarmOptions(values),
    ...(await blocklistOption(values.blocklist, displayModeOf(values))),
  });
  if (positionals.length > 1) return runMany(values, positionals, swarm);
  const transfer = transferFlags(values);
  const seeding = seedingOptions(values);
  const uiPort =
    values['ui-port'] === undefined ? undefined : parseCount('--ui-port', values['ui-port'], 0, 65535);
  const metadataTimeoutMs =
    values['metadata-timeout'] === undefined
      ? undefined
      : parseSeconds('--metadata-timeout', values['metadata-timeout']) * 1000;
  if (values['max-peers-global'] !== undefined)
    throw new UsageError('--max-peers-global goes with several torrents (one torrent: --max-peers)');
  const source = positionals[0]!;
  const magnet = /^magnet:/i.test(source) ? parseMagnet(source) : undefined;
  if (magnet === undefined && metadataTimeoutMs !== undefined)
    throw new UsageError('--metadata-timeout goes with a magnet link');
  const torrent = magnet === undefined ? await readTorrentFile(source) : undefined;
  checkExtraTrackers(swarm, torrent === undefined ? [] : [torrent]);
  const select = values.select ?? [];
  const only = values.only ?? [];
  // BEP 16 needs every piece: a selection (a partial seed) would never super-seed.
  if (values['super-seed'] === true && select.length + only.length > 0)
    throw new UsageError('--super-seed is for a full seed: not with --select or --only');
  // A magnet's files are known once its metadata is: the syntax is checked now, the rest then.
  if (magnet !== undefined) checkSelectionSyntax(select, only);
  const selected = torrent === undefined ? undefined : fileSelection(torrent, select, only);
  const inspection = await startInspectionIfAsked({
    stately: values.inspect === true,
    ui: values.ui === true || uiPort !== undefined,
    ...(uiPort === undefined ? {} : { uiPort }),
    ...(values.trace === undefined ? {} : { trace: values.trace }),
    title: `bitstate — ${torrent?.name ?? magnet?.name ?? magnet?.infoHashHex}`,
  });
  for (const note of inspection.notes) process.stderr.write(`${note}\n`);

  const webSeeds = torrent?.urlList.length ?? magnet?.webSeeds.length ?? 0;
  if (webSeeds > 0 && values['no-web-seeds'] !== true) heapForWebSeeds();
  const display = createDownloadDisplay(displayModeOf(values), { peers: values.peers === true });
  const out = values.out ?? '.';
  const options = {
    ...transferOptions(out, swarm, transfer),
    peerDetail: values.peers === true,
    ...(selected === undefined ? {} : { selected }),
    ...seeding,
    ...(inspection.inspect === undefined ? {} : { inspect: inspection.inspect }),
  };
  const job =
    torrent !== undefined
      ? download(torrent, options)
      : downloadMagnet(magnet!, {
          ...options,
          ...(metadataTimeoutMs === undefined ? {} : { metadataTimeoutMs }),
          ...(select.length + only.length === 0
            ? {}
            : { selectFiles: (t) => fileSelection(t, select, only) }),
        });
  const hookKilled = hookStoppedBy(job.events$);
  const sub = job.events$.subscribe((e) => display.event(e));
  const signal = onStopSignal(() => void job.stop('interrupted'));
  try {
    const result = await job.done.catch((err: unknown) => {
      display.end(); // the live line closed before the one-line error (bad input found mid-run)
      throw err;
    });
    display.end();
    await inspection.finish();
    if (values.ui === true || uiPort !== undefined) await lingerForDashboard(() => signal.received);
    // Complete, but Ctrl-C killed the --on-complete command: interrupted all the same.
    if (result.result === 'complete') return hookKilled() ? ExitCode.interrupted : ExitCode.ok;
    if (signal.received) return ExitCode.interrupted;
    process.stderr.write(`bitstate download: ${describeError(result.message)}\n`);
    return ExitCode.failed;
  } finally {
    await inspection.close();
    sub.unsubscribe();
    signal.dispose();
  }
}

/** --seed, --seed-ratio, --seed-time, --super-seed, --max-up, --max-down as DownloadOptions. */
function seedingOptions(values: {
  seed?: boolean;
  'seed-ratio'?: string;
  'seed-time'?: string;
  'super-seed'?: boolean;
  'max-up'?: string;
  'max-down'?: string;
}) {
  if ((values['seed-ratio'] !== undefined || values['seed-time'] !== undefined) && values.seed !== true)
    throw new UsageError('--seed-ratio and --seed-time go with --seed');
  if (values['super-seed'] === true && values.seed !== true)
    throw new UsageError('--super-seed goes with --seed (it applies once the download is complete)');
  const ratio = values['seed-ratio'];
  if (ratio !== undefined && !(/^\d+(\.\d+)?$/.test(ratio) && Number(ratio) > 0))
    throw new UsageError(`--seed-ratio takes a positive number, not '${ratio}'`);
  return {
    ...(values.seed === true ? { keepSeeding: true } : {}),
    ...(values['super-seed'] === true ? { superSeed: true } : {}),
    ...(ratio === undefined ? {} : { seedRatio: Number(ratio) }),
    ...(values['seed-time'] === undefined
      ? {}
      : { seedTimeMs: parseSeconds('--seed-time', values['seed-time']) * 1000 }),
    ...(values['max-up'] === undefined ? {} : { maxUploadRate: parseRate('--max-up', values['max-up']) }),
    ...(values['max-down'] === undefined
      ? {}
      : { maxDownloadRate: parseRate('--max-down', values['max-down']) }),
  };
}

/** The dashboard shows the end state: until Ctrl-C on a terminal, for a second otherwise. */
async function lingerForDashboard(interrupted: () => boolean): Promise<void> {
  if (interrupted()) return;
  if (process.stdin.isTTY !== true) {
    await new Promise((r) => setTimeout(r, 1000));
    return;
  }
  process.stderr.write('download finished; the dashboard stays up until Ctrl-C\n');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
  });
}

/** Whether a `hook.exited` said the session's stop (Ctrl-C) killed an --on-complete command. */
function hookStoppedBy(events$: {
  subscribe(f: (e: { type: string; killed?: string }) => void): unknown;
}): () => boolean {
  let killed = false;
  events$.subscribe((e) => {
    if (e.type === 'hook.exited' && e.killed === 'stopped') killed = true;
  });
  return () => killed;
}

/** `--on-complete CMD` and `--on-complete-timeout S` as the `onComplete` option. */
function onCompleteOption(values: DownloadValues) {
  const command = values['on-complete'];
  const timeout = values['on-complete-timeout'];
  if (command === undefined) {
    if (timeout !== undefined) throw new UsageError('--on-complete-timeout goes with --on-complete');
    return undefined;
  }
  if (command.trim().length === 0) throw new UsageError('--on-complete takes a command, not an empty one');
  if (timeout === undefined) return { command };
  const timeoutMs = parseSeconds('--on-complete-timeout', timeout) * 1000;
  // A timer holds 2^31-1 ms (about 24.8 days); Node fires a longer one at once.
  if (timeoutMs > MAX_HOOK_TIMEOUT_MS)
    throw new UsageError(
      `--on-complete-timeout must be at most ${Math.floor(MAX_HOOK_TIMEOUT_MS / 1000)} seconds, not ${timeout}`,
    );
  return { command, timeoutMs };
}

/**
 * The flags one torrent and several share, checked before anything is read: `--timeout`,
 * `--write-mode`, `--web-seed-connections` (not with `--no-web-seeds`), `--on-complete`.
 */
function transferFlags(values: DownloadValues) {
  const webSeedConnections =
    values['web-seed-connections'] === undefined
      ? undefined
      : parseCount('--web-seed-connections', values['web-seed-connections'], 1, MAX_WEB_SEED_CONNECTIONS);
  if (webSeedConnections !== undefined && values['no-web-seeds'] === true)
    throw new UsageError('--web-seed-connections goes without --no-web-seeds');
  return {
    stallTimeoutMs:
      values.timeout === undefined ? undefined : parseSeconds('--timeout', values.timeout) * 1000,
    writeMode: writeModeOf(values['write-mode']),
    webSeedConnections,
    sequential: values.sequential === true,
    recheck: values.recheck === true,
    noPreallocate: values['no-preallocate'] === true,
    noWebSeeds: values['no-web-seeds'] === true,
    onComplete: onCompleteOption(values),
  };
}

/** The options of a download, one torrent or several, that the shared flags and `--out` give. */
function transferOptions(
  out: string,
  swarm: ReturnType<typeof swarmOptions> & { blocklist?: IpRangeSet },
  flags: ReturnType<typeof transferFlags>,
) {
  return {
    out,
    ...swarm,
    // The DHT's node id and nodes are kept in the output folder between runs (docs/dht.md).
    ...(swarm.dht === undefined ? {} : { dht: { ...swarm.dht, statePath: dhtStatePathOf(out) } }),
    ...(flags.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: flags.stallTimeoutMs }),
    ...(flags.sequential ? { sequential: true } : {}),
    ...(flags.recheck ? { recheck: true } : {}),
    ...(flags.writeMode === undefined ? {} : { writeMode: flags.writeMode }),
    ...(flags.noPreallocate ? { preallocate: false } : {}),
    ...(flags.noWebSeeds ? { webSeeds: false } : {}),
    ...(flags.webSeedConnections === undefined ? {} : { webSeedConnections: flags.webSeedConnections }),
    ...(flags.onComplete === undefined ? {} : { onComplete: flags.onComplete }),
  };
}

/** `--write-mode auto|pool|sync` (src/storage/write-mode.ts). */
function writeModeOf(value: string | undefined): WriteModeSetting | undefined {
  if (value === undefined) return undefined;
  if (value === 'auto' || value === 'pool' || value === 'sync') return value;
  throw new UsageError(`--write-mode must be auto, pool or sync, not '${value}'`);
}

type DownloadValues = Parameters<typeof seedingOptions>[0] &
  SwarmFlagValues & {
    out?: string | undefined;
    timeout?: string | undefined;
    'metadata-timeout'?: string | undefined;
    select?: string[] | undefined;
    only?: string[] | undefined;
    sequential?: boolean | undefined;
    recheck?: boolean | undefined;
    'no-preallocate'?: boolean | undefined;
    'no-web-seeds'?: boolean | undefined;
    'web-seed-connections'?: string | undefined;
    'write-mode'?: string | undefined;
    peers?: boolean | undefined;
    inspect?: boolean | undefined;
    ui?: boolean | undefined;
    'ui-port'?: string | undefined;
    trace?: string | undefined;
    'max-peers-global'?: string | undefined;
    'on-complete'?: string | undefined;
    'on-complete-timeout'?: string | undefined;
  };

/**
 * Flags that name one torrent's files or its machines, and super-seeding (BEP 16: one full seed's
 * way to spread a torrent): refused with several.
 */
const ONE_TORRENT_FLAGS = [
  'select',
  'only',
  'super-seed',
  'peers',
  'inspect',
  'ui',
  'ui-port',
  'trace',
] as const;

/**
 * `download A.torrent 'magnet:?…' …`: downloadMany() on one port (src/session/download-many.ts); a
 * magnet link fetches its metadata while the others download; `--seed` (with its ratio and time,
 * each torrent's own) keeps every torrent seeding once complete.
 */
async function runMany(
  values: DownloadValues,
  positionals: readonly string[],
  swarm: ReturnType<typeof swarmOptions> & { blocklist?: IpRangeSet },
): Promise<number> {
  const flag = ONE_TORRENT_FLAGS.find((f) => values[f] !== undefined);
  if (flag !== undefined) throw new UsageError(`--${flag} goes with one torrent, not several`);
  const magnets = positionals.some(isMagnetLink);
  if (!magnets && values['metadata-timeout'] !== undefined)
    throw new UsageError('--metadata-timeout goes with a magnet link');
  const metadataTimeoutMs =
    values['metadata-timeout'] === undefined
      ? undefined
      : parseSeconds('--metadata-timeout', values['metadata-timeout']) * 1000;
  const transfer = transferFlags(values);
  const maxPeersGlobal =
    values['max-peers-global'] === undefined
      ? undefined
      : parseCount('--max-peers-global', values['max-peers-global'], 1, 65535);
  // --seed, --seed-ratio, --seed-time (each torrent's own), --max-up and --max-down (all together).
  const seeding = seedingOptions(values);
  const sources = await readTorrentsAndMagnets(positionals);
  checkExtraTrackers(
    swarm,
    sources.flatMap((s) => ('urlList' in s ? [s] : [])),
  );
  const webSeeds = (s: (typeof sources)[number]) => ('urlList' in s ? s.urlList : s.webSeeds).length;
  if (values['no-web-seeds'] !== true && sources.some((s) => webSeeds(s) > 0)) heapForWebSeeds();
  const out = values.out ?? '.';
  const display = createDownloadManyDisplay(displayModeOf(values), {
    // A magnet link's row says `metadata…` until its torrent is known.
    magnets: sources.flatMap((s) =>
      'urlList' in s ? [] : [{ infoHash: s.infoHashHex, name: s.name ?? s.infoHashHex }],
    ),
  });
  const job = downloadMany(sources, {
    ...transferOptions(out, swarm, transfer),
    ...(maxPeersGlobal === undefined ? {} : { maxPeersGlobal }),
    ...(metadataTimeoutMs === undefined ? {} : { metadataTimeoutMs }),
    ...seeding,
  });
  const hookKilled = hookStoppedBy(job.events$);
  const sub = job.events$.subscribe((e) => display.event(e));
  const signal = onStopSignal(() => void job.stop('interrupted'));
  try {
    const result = await job.done.catch((err: unknown) => {
      display.end();
      throw err;
    });
    display.end();
    if (result.result === 'complete') return hookKilled() ? ExitCode.interrupted : ExitCode.ok;
    // A torrent that failed is the run's failure, whether or not it was then interrupted.
    if (result.result === 'failed' || !signal.received) {
      process.stderr.write(`bitstate download: ${describeError(result.message)}\n`);
      return ExitCode.failed;
    }
    return ExitCode.interrupted;
  } finally {
    sub.unsubscribe();
    signal.dispose();
  }
}
