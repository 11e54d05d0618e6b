/**
 * `bitstate seed <FILE.torrent>... --data DIR [--port N] [--peer HOST:PORT ...] [--no-tracker] [--tracker URL ...] [--bind ADDR|IFACE] [--no-dht] [--no-pex] [--no-lsd] [--lsd-interface ADDR ...]
 *  [--super-seed] [--max-up RATE] [--max-peers N] [--max-peers-global N] [--encryption MODE] [--utp MODE] [--proxy URL] [--blocklist FILE] [--json] [--quiet]`
 *
 * One torrent: seed(). Several: seedMany(), on one port (src/session/seed-many.ts); every .torrent
 * is read first, and one that cannot be is a one-line error (exit 2) naming it before anything starts.
 */
import { parseArgs } from 'node:util';
import type { Observable } from 'rxjs';
import { readTorrentFile } from '../../metainfo/read-torrent-file.js';
import { seed } from '../../session/seed.js';
import { type SeedManyEvent, seedMany } from '../../session/seed-many.js';
import { dhtStatePathOf } from '../../storage/store-files.js';
import { blocklistOption } from '../blocklist-flag.js';
import { createDownloadDisplay, type DownloadDisplay } from '../download-display.js';
import { ExitCode } from '../exit-code.js';
import { parseCount, parseRate } from '../parse-number.js';
import { readTorrentFiles } from '../read-torrents.js';
import { describeError } from '../report-error.js';
import { createSeedManyDisplay, type SeedManyDisplay } from '../seed-many-display.js';
import { onStopSignal } from '../stop-signal.js';
import { checkExtraTrackers, displayModeOf, resolveBind, SWARM_FLAGS, swarmOptions } from '../swarm-flags.js';
import { UsageError } from '../usage-error.js';

export const usage = `Usage: bitstate seed <FILE.torrent>... --data DIR [options]

Checks the torrent's data in DIR/<name> (the hash of every piece: SHA-1, or BitTorrent v2's
merkle root), announces to its trackers and the DHT and serves the pieces that match until
stopped (Ctrl-C / SIGTERM: trackers told, exit 0).

Several torrents are seeded by one process on one port (TCP, and UDP for uTP and the DHT), each
from DIR/<its name>: a peer's handshake (its info-hash, or MSE's) says which torrent it wants.
Every .torrent must load and every torrent's files be there at their size, or nothing starts
(exit 2, the first bad one named); so does a torrent none of whose pieces match. A torrent that
fails later (a disk error) stops alone, the others seed on (a torrent.failed event); the process
ends by itself when none is left, and exits 1 if any failed. --max-up is shared
by all, --max-peers is per torrent (as Transmission's peer-limit-per-torrent) and
--max-peers-global caps them all together; --json events carry the torrent's infoHash; the
terminal shows one summary line.

Options:
  -d, --data DIR         the folder holding <name> (what download --out was given; default .)
  -p, --peer HOST:PORT   a leecher to dial (repeatable): for clients that ignore loopback peers
                         from trackers, such as Transmission
      --no-tracker       do not announce to trackers
      --tracker URL      a tracker (http, https, udp) to announce to besides the torrent's own
                         (repeatable; each in a tier of its own after the torrent's, one it has
                         already not twice); not with --no-tracker, nor for a private torrent
                         (BEP 27: exit 2)
      --bind ADDR|IFACE  every socket on this IPv4 address, or on this interface's (e.g. tun0,
                         resolved at the start): listening (TCP, UDP for uTP and the DHT) and
                         dialling peers and trackers from it, never from another (a kill switch:
                         if it goes away, connections fail until it is back). An interface or
                         address not on this machine: exit 2
      --no-dht           do not announce in the DHT (BEP 5; on by default, never for a private torrent;
                         its nodes are kept in DIR/.bitstate/dht.dat when a download made that folder)
      --dht-bootstrap HOST:PORT  a DHT node to bootstrap from (repeatable; replaces the public routers)
      --no-pex           no peer exchange (BEP 11; private torrents never exchange peers)
      --no-lsd           no Local Service Discovery (BEP 14; on by default, never for a private
                         torrent): announce the torrent by multicast to 239.192.152.143:6771 at
                         start and every 5 minutes, and dial the peers that announce it there
      --lsd-interface ADDR  run LSD only on the interface with this IPv4 address (repeatable;
                         default: every IPv4 interface but loopback; 127.0.0.1: this host only)
      --port N           port to listen on, TCP and UDP (default 6881, or the next number free
                         for both; 0 = any)
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
      --max-peers N      connections at most per torrent (default 50); an incoming one counts from its
                         handshake (as many again may wait for theirs), and when all are
                         taken a useless one makes room for a newcomer
      --max-peers-global N  several torrents: connections at most on the shared port, every
                         torrent's together, from accept to close (default 200, or twice
                         --max-peers when that is more; as Transmission's peer-limit-global);
                         past it a newcomer is closed at once. Each torrent's --peer dials are
                         not counted. One torrent: --max-peers is its cap
      --max-up RATE      upload limit in bytes/s (e.g. 512K, 2M): payload, all peers (and all
                         torrents) together
      --super-seed       super-seed (BEP 16), as qBittorrent's "super seeding mode": tell each
                         peer of one or two pieces at a time, not all, the next when it has one,
                         so each piece leaves this seed about once and the peers pass them on.
                         For a new torrent's first seed; data missing some pieces fetches them
                         first, then super-seeds
      --json             NDJSON events on stdout
  -q, --quiet            print nothing but errors
  -h, --help             this text

Exit status: 0 when stopped cleanly, 1 on a disk error (several torrents: any torrent's, once
stopped or once none is left), 2 for bad input (no matching data).`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      ...SWARM_FLAGS,
      data: { type: 'string', short: 'd' },
      'max-up': { type: 'string' },
      'max-peers-global': { type: 'string' },
      'super-seed': { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return ExitCode.ok;
  }
  if (positionals.length === 0) throw new UsageError('expected a .torrent file (see bitstate seed --help)');
  // --bind resolved now: a bad one is exit 2 before anything is read.
  const swarm = await resolveBind(swarmOptions(values));
  const maxUploadRate = values['max-up'] === undefined ? undefined : parseRate('--max-up', values['max-up']);
  const maxPeersGlobal =
    values['max-peers-global'] === undefined
      ? undefined
      : parseCount('--max-peers-global', values['max-peers-global'], 1, 65535);
  const torrents =
    positionals.length === 1 ? [await readTorrentFile(positionals[0]!)] : await readTorrentFiles(positionals);
  checkExtraTrackers(swarm, torrents);
  const data = values.data ?? '.';
  const filter = await blocklistOption(values.blocklist, displayModeOf(values));
  const options = {
    data,
    ...swarm,
    ...filter,
    // Kept in DATA/.bitstate/dht.dat only when a download made that folder: a seed creates nothing
    // in the data it serves (docs/dht.md).
    ...(swarm.dht === undefined ? {} : { dht: { ...swarm.dht, statePath: dhtStatePathOf(data) } }),
    ...(maxUploadRate === undefined ? {} : { maxUploadRate }),
    ...(values['super-seed'] === true ? { superSeed: true } : {}),
  };
  const display: SeedManyDisplay =
    torrents.length === 1
      ? oneTorrentDisplay(createDownloadDisplay(displayModeOf(values), {}))
      : createSeedManyDisplay(displayModeOf(values));
  const job =
    torrents.length === 1
      ? seed(torrents[0]!, options)
      : seedMany(torrents, { ...options, ...(maxPeersGlobal === undefined ? {} : { maxPeersGlobal }) });
  // One torrent's events, or several's, each with its info-hash.
  const events$: Observable<SeedManyEvent> = job.events$;
  const sub = events$.subscribe((e) => display.event(e));
  const signal = onStopSignal(() => void job.stop('stopped'));
  try {
    const result = await job.done;
    display.end();
    if (result.result === 'complete' || result.result === 'stopped') return ExitCode.ok;
    process.stderr.write(`bitstate seed: ${describeError(result.message)}\n`);
    return ExitCode.failed;
  } finally {
    sub.unsubscribe();
    signal.dispose();
  }
}

/** One torrent's display (seed() says nothing of several torrents: no `torrent.failed`). */
function oneTorrentDisplay(d: DownloadDisplay): SeedManyDisplay {
  return {
    event: (e) => {
      if (e.type !== 'torrent.failed') d.event(e);
    },
    end: () => d.end(),
  };
}
