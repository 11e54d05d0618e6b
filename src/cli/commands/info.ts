/**
 * `bitstate info <FILE.torrent | MAGNET> [--json]`: what a .torrent file holds, as text or one JSON
 * object; for a magnet link, what the link itself says (the rest is in the metadata, which
 * `download` fetches).
 */
import { parseArgs } from 'node:util';
import type { FileIndexRange } from '../../metainfo/file-index-ranges.js';
import { MAX_TRACKERS, MAX_WEB_SEEDS } from '../../metainfo/limits.js';
import { MAX_MAGNET_LENGTH, type Magnet, parseMagnet } from '../../metainfo/magnet.js';
import { type FittedMagnetLink, fittedMagnetLink, magnetLink } from '../../metainfo/make-magnet.js';
import { dataLength } from '../../metainfo/piece-data-length.js';
import { readTorrentFile } from '../../metainfo/read-torrent-file.js';
import type { Torrent } from '../../metainfo/torrent.js';
import { formatPeerAddress } from '../../net/address.js';
import { describeProxy } from '../../net/proxy.js';
import { ProxyDialer } from '../../net/proxy-dialer.js';
import { type ScrapeCounts, scrape } from '../../tracker/scrape.js';
import { proxyNews } from '../download-display.js';
import { ExitCode } from '../exit-code.js';
import { formatBytes, moreOf } from '../format.js';
import { printable, printableJson } from '../printable.js';
import { proxyOption } from '../swarm-flags.js';
import { UsageError } from '../usage-error.js';

/** Bound on each tracker's scrape in `--scrape`. */
export const SCRAPE_TIMEOUT_MS = 5_000;

export const usage = `Usage: bitstate info <FILE.torrent | MAGNET> [--json] [--scrape [--proxy URL]]

Shows a torrent's name, info-hash, version (v1, v2 or hybrid: BitTorrent v2, BEP 52) and v2
info-hash, size, pieces, files, trackers and the rest of its metadata.
The file is validated as bitstate would before downloading it: a malformed one exits with 2.
For a .torrent, its magnet link too (as libtorrent writes it: info-hashes, name, trackers, web
seeds; at most ${MAX_MAGNET_LENGTH} characters, the longest bitstate reads: the last trackers and web
seeds left out past it, said on stderr). For a magnet link: its info-hash, name, trackers, peers and the files its so= selects
(BEP 53; the files are in the metadata, which bitstate download fetches from the peers).

Options:
      --json     one JSON object on stdout instead of text
      --scrape   also ask each tracker (http, https, udp) for its seeders, leechers and
                 completed downloads (${SCRAPE_TIMEOUT_MS / 1000} s per tracker, all at once); a tracker that
                 fails is shown with its error and does not change the exit code
      --proxy URL  with --scrape: http(s) scrapes through this proxy (as download's
                 --proxy; docs/proxy.md); udp trackers are not asked through it
  -h, --help     this text`;

/** One tracker's scrape: the counts, or why there are none. */
export type ScrapeLine = { readonly url: string } & (ScrapeCounts | { readonly error: string });

/** Scrapes every tracker of the torrent in parallel, each bounded by SCRAPE_TIMEOUT_MS. */
export async function scrapeTrackers(
  t: Pick<Torrent, 'announceList' | 'infoHash'>,
  proxy?: ProxyDialer,
): Promise<ScrapeLine[]> {
  const urls = [...new Set(t.announceList.flat())];
  return Promise.all(
    urls.map(async (url): Promise<ScrapeLine> => {
      try {
        const [counts] = await scrape(url, [t.infoHash], {
          timeoutMs: SCRAPE_TIMEOUT_MS,
          udp: { retryBaseMs: 2000, maxRetries: 2 },
          ...(proxy === undefined ? {} : { proxy }),
        });
        return counts === undefined ? { url, error: 'no answer for this torrent' } : { url, ...counts };
      } catch (e) {
        return { url, error: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
}

export function describeScrape(lines: readonly ScrapeLine[]): string {
  if (lines.length === 0) return 'scrape:        (no trackers)\n';
  const out = ['scrape:'];
  for (const l of lines)
    out.push(
      'error' in l
        ? `  ${printable(l.url)}: ${printable(l.error)}`
        : `  ${printable(l.url)}: ${l.complete} seeders, ${l.incomplete} leechers, ${l.downloaded} completed`,
    );
  return `${out.join('\n')}\n`;
}

/** The JSON shape of `bitstate info --json` (stable: scripts and tests read it). */
export function torrentSummary(t: Torrent) {
  return {
    name: t.name,
    infoHash: t.infoHashHex,
    version: t.version,
    // SHA-256 of the info dictionary, 64 hex (v2 and hybrid; null for v1).
    infoHashV2: t.infoHashV2 === undefined ? null : Buffer.from(t.infoHashV2).toString('hex'),
    totalLength: t.totalLength,
    pieceLength: t.pieceLength,
    pieceCount: t.pieceCount,
    multiFile: t.multiFile,
    private: t.private,
    files: t.files.map((f, index) => ({
      index,
      path: f.path,
      length: f.length,
      ...(f.padding ? { padding: true } : {}),
      // Renamed on disk: another file has its name but for case (src/metainfo/case-collisions.ts).
      ...(f.renamedFrom === undefined ? {} : { torrentPath: f.renamedFrom }),
    })),
    announceList: t.announceList,
    ignoredTrackers: t.ignoredTrackers ?? 0,
    urlList: t.urlList,
    ignoredWebSeeds: t.ignoredWebSeeds ?? 0,
    comment: t.comment ?? null,
    createdBy: t.createdBy ?? null,
    creationDate: t.creationDate ?? null,
    // Its magnet link (BEP 9), as libtorrent's make_magnet_uri writes it (make-magnet.ts).
    magnet: magnetLink(t),
  };
}

/** What `version:` says: BEP 52's kinds, and how bitstate uses a hybrid. */
const VERSION_TEXT: Record<Torrent['version'], string> = {
  v1: 'v1',
  v2: 'v2 (BitTorrent v2, BEP 52)',
  hybrid: 'hybrid (v1 and v2, BEP 52; used as v1)',
};

function sized(n: number): string {
  return n < 1024 ? `${n} bytes` : `${formatBytes(n)} (${n} bytes)`;
}

/** The files' bytes; padding (never stored, never transferred) said apart when there is some. */
function sizeLine(t: Torrent): string {
  const data = dataLength(t);
  const padding = t.totalLength - data;
  return padding === 0 ? sized(data) : `${sized(data)}, and ${sized(padding)} of padding (never stored)`;
}

export function describeTorrent(t: Torrent): string {
  const lines = [
    `name:          ${printable(t.name)}`,
    `info-hash:     ${t.infoHashHex}`,
    ...(t.infoHashV2 === undefined ? [] : [`info-hash v2:  ${Buffer.from(t.infoHashV2).toString('hex')}`]),
    `version:       ${VERSION_TEXT[t.version]}`,
    `size:          ${sizeLine(t)}`,
    `pieces:        ${t.pieceCount} of ${sized(t.pieceLength)}`,
    `private:       ${t.private ? 'yes' : 'no'}`,
  ];
  if (t.comment !== undefined) lines.push(`comment:       ${printable(t.comment)}`);
  if (t.createdBy !== undefined) lines.push(`created by:    ${printable(t.createdBy)}`);
  if (t.creationDate !== undefined) {
    const date = new Date(t.creationDate * 1000);
    lines.push(`creation date: ${Number.isNaN(date.getTime()) ? t.creationDate : date.toISOString()}`);
  }
  lines.push(t.announceList.length === 0 ? 'trackers:      (none)' : 'trackers:');
  t.announceList.forEach((tier, i) => {
    lines.push(`  tier ${i + 1}: ${tier.map(printable).join(' ')}`);
  });
  if (t.ignoredTrackers !== undefined)
    lines.push(`  (${moreOf(t.ignoredTrackers, 'tracker URL')} past the first ${MAX_TRACKERS} left out)`);
  if (t.urlList.length > 0) lines.push(`web seeds:     ${t.urlList.map(printable).join(' ')}`);
  if (t.ignoredWebSeeds !== undefined)
    lines.push(`  (${moreOf(t.ignoredWebSeeds, 'web seed')} past the first ${MAX_WEB_SEEDS} left out)`);
  lines.push(`magnet:        ${magnetLink(t)}`);
  // Numbered as `download --select` takes them (positions in the info dictionary, padding included).
  lines.push(`files (${t.files.length}):  index  size  path`);
  // A loop, not Math.max(...lengths): spreading 262,144 arguments (MAX_FILES) overflows the stack.
  let width = 1;
  for (const f of t.files) width = Math.max(width, String(f.length).length);
  const indexWidth = String(t.files.length - 1).length;
  for (const [i, f] of t.files.entries()) {
    const path = printable(f.path.join('/'));
    const note = f.padding
      ? '  (padding)'
      : f.renamedFrom === undefined
        ? ''
        : `  (the torrent's ${printable(f.renamedFrom.join('/'))}: another file's name but for case)`;
    lines.push(`  ${String(i).padStart(indexWidth)}  ${String(f.length).padStart(width)}  ${path}${note}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * What stderr says when the magnet link left trackers or web seeds out (make-magnet.ts), or
 * undefined when it holds them all.
 */
export function magnetLeftOutNote(fitted: FittedMagnetLink): string | undefined {
  const counted = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  const parts = [
    ...(fitted.trackersLeftOut > 0 ? [counted(fitted.trackersLeftOut, 'tracker URL')] : []),
    ...(fitted.webSeedsLeftOut > 0 ? [counted(fitted.webSeedsLeftOut, 'web seed')] : []),
  ];
  if (parts.length === 0) return undefined;
  return (
    `bitstate info: the magnet link leaves out its last ${parts.join(' and its last ')}: with them it ` +
    `would be longer than ${MAX_MAGNET_LENGTH} characters, the longest magnet link bitstate reads\n`
  );
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean' },
      scrape: { type: 'boolean' },
      proxy: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return ExitCode.ok;
  }
  if (positionals.length !== 1)
    throw new UsageError('expected one .torrent file or magnet link (see bitstate info --help)');
  const settings = proxyOption(values.proxy);
  if (settings !== undefined && values.scrape !== true) throw new UsageError('--proxy goes with --scrape');
  // socks5:// looks a tracker's name up here (curl's meaning): said once on stderr (docs/proxy.md).
  let lookedUp = false;
  const proxy =
    settings === undefined
      ? undefined
      : new ProxyDialer(settings, {
          onLocalLookup: (host) => {
            if (lookedUp) return;
            lookedUp = true;
            const news = proxyNews({ type: 'proxy.localDns', proxy: describeProxy(settings), host });
            process.stderr.write(`bitstate info: ${news}\n`);
          },
        });
  if (/^magnet:/i.test(positionals[0]!)) return showMagnet(parseMagnet(positionals[0]!), values, proxy);
  const torrent = await readTorrentFile(positionals[0]!);
  const scraped = values.scrape === true ? await scrapeTrackers(torrent, proxy) : undefined;
  process.stdout.write(
    values.json === true
      ? `${printableJson(scraped === undefined ? torrentSummary(torrent) : { ...torrentSummary(torrent), scrape: scraped })}\n`
      : describeTorrent(torrent) + (scraped === undefined ? '' : describeScrape(scraped)),
  );
  const note = magnetLeftOutNote(fittedMagnetLink(torrent));
  if (note !== undefined) process.stderr.write(note);
  return ExitCode.ok;
}

/** The JSON shape of `bitstate info --json MAGNET`. */
export function magnetSummary(m: Magnet) {
  return {
    magnet: true,
    infoHash: m.infoHashHex,
    version: m.version,
    infoHashV2: m.infoHashV2 === undefined ? null : Buffer.from(m.infoHashV2).toString('hex'),
    name: m.name ?? null,
    trackers: m.trackers,
    peers: m.peers.map((p) => formatPeerAddress(p)),
    webSeeds: m.webSeeds,
    // so= (BEP 53): [from, to] file index ranges, when the link has one.
    ...(m.selectOnly === undefined ? {} : { selectOnly: m.selectOnly }),
  };
}

/** so='s ranges as the link writes them: 0,2,4-6. */
function rangesText(ranges: readonly FileIndexRange[]): string {
  return ranges.map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`)).join(',');
}

async function showMagnet(
  m: Magnet,
  values: { json?: boolean; scrape?: boolean },
  proxy: ProxyDialer | undefined,
): Promise<number> {
  const scraped =
    values.scrape === true
      ? await scrapeTrackers({ infoHash: m.infoHash, announceList: m.trackers.map((t) => [t]) }, proxy)
      : undefined;
  const lines = [
    `info-hash:     ${m.infoHashHex}${m.version === 'v2' ? ' (the v2 info-hash cut to 20 bytes: its swarm)' : ''}`,
    ...(m.infoHashV2 === undefined ? [] : [`info-hash v2:  ${Buffer.from(m.infoHashV2).toString('hex')}`]),
    `name:          ${m.name === undefined ? '(none given)' : printable(m.name)}`,
    m.trackers.length === 0
      ? 'trackers:      (none)'
      : `trackers:      ${m.trackers.map(printable).join(' ')}`,
    m.peers.length === 0
      ? 'peers:         (none)'
      : `peers:         ${m.peers.map((p) => formatPeerAddress(p)).join(' ')}`,
    ...(m.webSeeds.length === 0 ? [] : [`web seeds:     ${m.webSeeds.map(printable).join(' ')}`]),
    'files:         in the metadata: bitstate download fetches it from the peers (BEP 9)',
    ...(m.selectOnly === undefined
      ? []
      : [
          `select only:   ${rangesText(m.selectOnly)} (BEP 53: the files download fetches, by index as --select takes them)`,
        ]),
  ];
  process.stdout.write(
    values.json === true
      ? `${printableJson(scraped === undefined ? magnetSummary(m) : { ...magnetSummary(m), scrape: scraped })}\n`
      : `${lines.join('\n')}\n${scraped === undefined ? '' : describeScrape(scraped)}`,
  );
  return ExitCode.ok;
}
