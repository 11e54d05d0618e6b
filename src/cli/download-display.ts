/**
 * Where a download's events go: a live progress line on a terminal (stderr, redrawn in place), NDJSON
 * on stdout with `--json`, or only the last word with `--quiet`. Every string an event carries from
 * outside (the torrent's name, the output path, tracker URLs and messages, peer addresses and client
 * names, error messages) is printed through `printable`: control characters never reach the terminal.
 */

import { MAX_TRACKERS } from '../metainfo/limits.js';
import { BlockedPeers } from '../session/blocked-peers.js';
import type { DownloadEvent } from '../session/download-event.js';
import { formatBytes, formatDuration, formatRate, lsdOffText, lsdReadyText, moreOf } from './format.js';
import { peerRow } from './peer-row.js';
import { printable, printableJson } from './printable.js';

export type DisplayMode = 'terminal' | 'json' | 'quiet';

export interface DownloadDisplay {
  event(e: DownloadEvent): void;
  /** Clear the live line before something else is printed. */
  end(): void;
}

const BAR_WIDTH = 28;

export function progressBar(fraction: number, width = BAR_WIDTH): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.floor(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

/**
 * `--json`: every event as one NDJSON line on `out`, with the time — a download's, and several
 * torrents' (seed-many-display.ts, download-many-display.ts: `torrent.failed` too).
 */
export function createJsonDisplay<E extends object>(
  out: NodeJS.WritableStream = process.stdout,
): { event(e: E): void; end(): void } {
  return {
    event: (e) => out.write(`${printableJson({ ...e, time: new Date().toISOString() })}\n`),
    end: () => {},
  };
}

/** How `proxy.udpOff` names what is off. */
const UDP_OFF_NAMES = {
  utp: 'uTP',
  dht: 'the DHT',
  lsd: 'local service discovery',
  udpTrackers: 'udp:// trackers',
} as const;

/** The line a proxy event is said in (docs/proxy.md); the several-torrent displays say each once. */
export function proxyNews(
  e: Extract<DownloadEvent, { type: 'proxy.udpOff' | 'proxy.failed' | 'proxy.localDns' }>,
): string {
  if (e.type === 'proxy.udpOff')
    return `through ${e.proxy}: ${e.off.map((o) => UDP_OFF_NAMES[o]).join(', ')} off (no UDP through the proxy)`;
  if (e.type === 'proxy.localDns')
    return `through ${e.proxy}: host names such as ${printable(e.host)} are looked up here, by our DNS, around the proxy (socks5h:// has the proxy resolve them)`;
  return e.code === 'proxyAuth' ? `${e.message}: check the user name and password in --proxy` : e.message;
}

/** The line `udp.portTaken` is said in (docs/utp.md): the port named kept, its UDP number elsewhere. */
export function udpPortTakenNews(e: Extract<DownloadEvent, { type: 'udp.portTaken' }>): string {
  return `UDP port ${e.port} is taken by another program: our UDP socket (uTP, the DHT) is on port ${e.udpPort}, where no peer reaches us (another --port, or none, takes a number free for both)`;
}

/**
 * The one line an --on-complete command's end is said in (docs/on-complete.md), or undefined when
 * it exited 0 (nothing to say): its exit status, the signal that ended it, why we killed it, or
 * why it could not start. Said even with --quiet: it is an error the user's command met.
 */
export function hookNews(e: Extract<DownloadEvent, { type: 'hook.exited' }>): string | undefined {
  if (e.error !== undefined) return `--on-complete could not run: ${e.error}`;
  if (e.killed === 'timeout')
    return `--on-complete killed: still running after ${Math.round(e.elapsedMs / 1000)} s (--on-complete-timeout)`;
  if (e.killed === 'stopped') return '--on-complete killed: interrupted';
  if (e.signal !== null) return `--on-complete ended by ${e.signal}`;
  if (e.code !== 0) return `--on-complete failed: exit status ${e.code}`;
  return undefined;
}

export function createDownloadDisplay(
  mode: DisplayMode,
  opts: { peers?: boolean; out?: NodeJS.WritableStream; err?: NodeJS.WriteStream } = {},
): DownloadDisplay {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  if (mode === 'json') return createJsonDisplay<DownloadEvent>(out);
  const tty = mode === 'terminal' && err.isTTY === true;
  let lineShown = false;
  /** Nodes in the DHT's routing table, once it has bootstrapped (the progress line shows it). */
  let dhtNodes: number | undefined;
  /**
   * Peers the IP filter blocked (`--blocklist`), each counted once (blocked-peers.ts): a count on
   * the progress line and at the end, not a line each.
   */
  const blockedPeers = new BlockedPeers();
  const blockedNote = () => {
    const n = blockedPeers.count;
    return n === 0 ? '' : ` (${n} peer${n === 1 ? '' : 's'} blocked)`;
  };
  let extraLines = 0;
  const clear = () => {
    if (!lineShown) return;
    err.write(`\r\x1b[2K${extraLines > 0 ? `\x1b[${extraLines}A\x1b[0J` : ''}`);
    lineShown = false;
    extraLines = 0;
  };
  /** One line of news: outside text in it (names, URLs, messages) goes through printable() here. */
  const say = (s: string) => {
    if (mode === 'quiet') return;
    clear();
    err.write(`${printable(s)}\n`);
  };
  return {
    event(e) {
      switch (e.type) {
        case 'metadata.fetching':
          say(
            `fetching metadata for ${e.infoHash}${e.peers > 0 ? ` from ${e.peers} peer${e.peers === 1 ? '' : 's'}` : ''}…`,
          );
          break;
        case 'metadata.progress':
          if (tty) {
            clear();
            err.write(
              `fetching metadata from ${e.peers} peer${e.peers === 1 ? '' : 's'}… ${e.received}/${e.pieces === 0 ? '?' : e.pieces} pieces (${e.connected} connected)`,
            );
            lineShown = true;
          }
          break;
        case 'metadata.layers':
          if (tty) {
            clear();
            err.write(
              `fetching piece layers from ${e.peers} peer${e.peers === 1 ? '' : 's'}… ${e.received}/${e.hashes} hashes (${e.connected} connected)`,
            );
            lineShown = true;
          }
          break;
        case 'metadata.peerDropped':
          say(`dropped ${e.address} (${e.reason})`);
          break;
        case 'metadata.fetched':
          say(
            `metadata: ${formatBytes(e.size)}${e.pieceLayerHashes === undefined ? '' : ` and ${e.pieceLayerHashes} piece layer hashes`} in ${(e.elapsedMs / 1000).toFixed(1)} s`,
          );
          break;
        case 'metadata.layersFetched':
          say(`piece layers: ${e.hashes} hashes fetched during the download, saved and served`);
          break;
        case 'metadata.layersComputed':
          say(
            `piece layers: ${e.hashes} hashes of ${e.files} file${e.files === 1 ? '' : 's'} hashed from the data, ${e.saved ? 'saved and ' : ''}served${e.missing === undefined ? '' : ` (${e.missing} file${e.missing === 1 ? ' not stored has' : 's not stored have'} none)`}`,
          );
          break;
        case 'metadata.layersInconsistent':
          say(
            `piece layers: ${e.file} passed its v1 hashes but not its v2 pieces root (the torrent's v1 and v2 hashes disagree): seeded to v1 peers, no layer served`,
          );
          break;
        case 'metadata.layersNotSaved':
          say(`piece layers not saved (served all the same): ${e.message}`);
          break;
        case 'metadata.layersNotComputed':
          say(`piece layers not hashed from the data: ${e.message}`);
          break;
        case 'metadata':
          say(`${e.name}  ${formatBytes(e.totalLength)} in ${e.pieceCount} pieces  info-hash ${e.infoHash}`);
          say(`saving to ${e.out}`);
          if (e.ignoredTrackers !== undefined)
            say(`${moreOf(e.ignoredTrackers, 'tracker URL')} past the first ${MAX_TRACKERS} are left out`);
          break;
        case 'dht.ready':
          dhtNodes = e.nodes;
          if (e.stateError !== undefined) say(`DHT: the saved state was ignored (${e.stateError})`);
          if (tty)
            say(
              `DHT: ${e.nodes} node${e.nodes === 1 ? '' : 's'} (UDP port ${e.port}${e.savedNodes === 0 ? '' : `; ${e.fromSaved} of ${e.savedNodes} saved nodes answered`})`,
            );
          break;
        case 'dht.peers':
          dhtNodes = e.nodes;
          break;
        case 'lsd.ready':
          if (tty) say(lsdReadyText(e.interfaces));
          break;
        case 'lsd.off':
          say(lsdOffText(e.reason));
          break;
        case 'lsd.peer':
          if (tty) say(`LSD: ${e.address} is on the local network`);
          break;
        case 'listening':
          if (tty) say(`listening for peers on port ${e.port}`);
          break;
        case 'checking':
          if (tty) {
            clear();
            err.write(
              `checking ${progressBar(e.total === 0 ? 1 : e.checked / e.total)} ${e.checked}/${e.total} pieces`,
            );
            lineShown = true;
          }
          break;
        case 'resume.loaded':
          if (e.checked > 0 || e.trusted > 0)
            say(
              `resuming: ${e.have}/${e.wanted} pieces on disk (${e.trusted} from the resume file, ${e.checked} hashed)`,
            );
          break;
        case 'preallocation':
          if (e.outcome === 'skipped')
            say(
              `not reserving disk space: the new files need ${formatBytes(e.needBytes)}, ${e.freeBytes === undefined ? 'free space unknown' : `${formatBytes(e.freeBytes)} free`}; they stay sparse`,
            );
          else if (e.outcome === 'failed')
            say(`reserving disk space failed (${e.detail ?? 'fallocate failed'}); the files stay sparse`);
          break;
        case 'hook.started':
          if (tty) say(`--on-complete: running (pid ${e.pid})`);
          break;
        case 'hook.exited': {
          const line = hookNews(e);
          if (line !== undefined) {
            clear();
            err.write(`${printable(line)}\n`);
          }
          break;
        }
        case 'seeding':
          if (e.superSeed === true)
            say('super-seeding (BEP 16): each peer is shown one or two pieces at a time');
          break;
        case 'proxy.udpOff':
        case 'proxy.failed':
        case 'proxy.localDns':
          say(proxyNews(e));
          break;
        case 'udp.portTaken':
          say(udpPortTakenNews(e));
          break;
        case 'peer.blocked':
          // Counted here, not read from `blocked`: a magnet's fetch counts from 1, then its download.
          blockedPeers.add(e.address);
          break;
        case 'peer.banned':
          say(`banned ${e.address} (sent data that failed the hash check)`);
          break;
        case 'webSeed.failed':
          // A web seed's error names it already (src/net/web-seed-error.ts); other reasons do not.
          say(
            `${printable(e.message ?? `web seed ${e.url}: ${e.reason}`)}${e.retryInMs === undefined ? '' : `; again in ${formatDuration(e.retryInMs / 1000)}`}`,
          );
          break;
        case 'tracker.announce':
          if (!e.ok) say(`tracker ${e.url}: ${e.error ?? 'failed'}`);
          break;
        case 'progress': {
          if (!tty) break;
          const pct = e.totalLength === 0 ? 100 : (100 * e.verifiedBytes) / e.totalLength;
          const line =
            `${progressBar(pct / 100)} ${pct.toFixed(1).padStart(5)}%  ` +
            `${formatBytes(e.verifiedBytes)}/${formatBytes(e.totalLength)}  ` +
            `↓ ${formatRate(e.downloadRate)} ↑ ${formatRate(e.uploadRate)}  ` +
            `peers ${e.peersConnected}/${e.peersKnown}${e.peersFromPex > 0 ? ` (${e.peersFromPex} by PEX)` : ''}` +
            `${e.webSeedsConnected === undefined ? '' : ` (web ${e.webSeedsConnected})`}` +
            `${dhtNodes === undefined ? '' : `  DHT ${dhtNodes}`}  ` +
            `${blockedPeers.count === 0 ? '' : `blocked ${blockedPeers.count}  `}` +
            `ETA ${formatDuration(e.etaSeconds)}`;
          clear();
          let text = line.slice(0, Math.max(20, (err.columns ?? 120) - 1));
          if (opts.peers === true && e.peers !== undefined) {
            const rows = e.peers.slice(0, 20).map((p) => peerRow(p, err.columns ?? 120));
            text = `${text}\n${rows.join('\n')}`;
            extraLines = rows.length;
          }
          err.write(text);
          lineShown = true;
          break;
        }
        case 'done':
          say(
            `done: ${formatBytes(e.totalLength)} in ${formatDuration(e.transferMs / 1000)} (${formatRate(e.averageRate)})${blockedNote()}`,
          );
          break;
        case 'stopped':
          say(`stopped: ${e.reason}${blockedNote()}`);
          break;
        default:
          break;
      }
    },
    end: clear,
  };
}
