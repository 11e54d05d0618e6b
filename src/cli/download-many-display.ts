/**
 * What `bitstate download A.torrent 'magnet:?…' …` shows: with `--json`, every event as NDJSON
 * with its torrent's `infoHash` (`torrent.failed` too); on a terminal, each torrent's news on a
 * line naming it (its size, done, seeding, stopped, failed, a tracker that failed, a banned peer)
 * and, live on stderr, one row per torrent still running — name, bar, percent, rates, peers, the
 * peers the IP filter blocked (`--blocklist`: a count, as the one-torrent line's, and on its done
 * or stopped line), ETA;
 * a magnet link's `metadata…` (BEP 9: pieces of it, peers) until its torrent is known; a seeding
 * torrent's upload — redrawn in place. Outside text (names, URLs, messages) goes through `printable`.
 */
import type { DownloadManyEvent } from '../session/download-many.js';
import { createJsonDisplay, type DisplayMode, hookNews, progressBar } from './download-display.js';
import { formatBytes, formatDuration, formatRate } from './format.js';
import { BlockedByTorrent, createHostLines } from './host-lines.js';
import { printable } from './printable.js';

export interface DownloadManyDisplay {
  event(e: DownloadManyEvent): void;
  /** Clear the live rows before something else is printed. */
  end(): void;
}

interface Row {
  readonly name: string;
  /** The row's text once a progress event has come (a magnet link's: from the start); undefined before. */
  line: string | undefined;
  /** Complete and seeding (`--seed`): the row says so and what it uploads. */
  seeding?: true;
}

/** `blocked N  ` on a row, or nothing. */
const blockedCell = (n: number) => (n === 0 ? '' : `blocked ${n}  `);
/** ` (N peers blocked)` at the end of a done or stopped line, or nothing. */
export const blockedNote = (n: number) => (n === 0 ? '' : ` (${n} peer${n === 1 ? '' : 's'} blocked)`);

/** At most this many characters of a torrent's name in its row. */
const NAME_WIDTH = 24;

/** A row's name, cut to NAME_WIDTH and padded to it. */
function nameCell(name: string): string {
  return (name.length > NAME_WIDTH ? `${name.slice(0, NAME_WIDTH - 1)}…` : name).padEnd(NAME_WIDTH);
}

export function createDownloadManyDisplay(
  mode: DisplayMode,
  opts: {
    out?: NodeJS.WritableStream;
    err?: NodeJS.WriteStream;
    /** The magnet links among the torrents (their info-hash, their `dn` or the hash): a row each from the start. */
    magnets?: readonly { readonly infoHash: string; readonly name: string }[];
  } = {},
): DownloadManyDisplay {
  if (mode === 'json') return createJsonDisplay<DownloadManyEvent>(opts.out);
  const err = opts.err ?? process.stderr;
  const tty = mode === 'terminal' && err.isTTY === true;
  /** Every torrent still running, by info-hash, in the order they were named. */
  const rows = new Map<string, Row>();
  const names = new Map<string, string>();
  const fetching = (name: string, detail = '') => `${nameCell(name)} metadata…${detail}`;
  for (const m of opts.magnets ?? []) {
    const name = printable(m.name);
    names.set(m.infoHash, m.name);
    rows.set(m.infoHash, { name, line: fetching(name) });
  }
  /** Rows on the screen below the cursor's line (the cursor is at the end of the last). */
  let shown = 0;
  const clear = () => {
    if (shown === 0) return;
    err.write(`\r\x1b[2K${shown > 1 ? `\x1b[${shown - 1}A\x1b[0J` : ''}`);
    shown = 0;
  };
  const draw = () => {
    if (!tty) return;
    clear();
    const lines = [...rows.values()].flatMap((r) => (r.line === undefined ? [] : [r.line]));
    if (lines.length === 0) return;
    const width = Math.max(20, (err.columns ?? 120) - 1);
    err.write(lines.map((l) => l.slice(0, width)).join('\n'));
    shown = lines.length;
  };
  const say = (s: string) => {
    if (mode === 'quiet') return;
    clear();
    err.write(`${printable(s)}\n`);
    draw();
  };
  const nameOf = (e: { infoHash?: string }) =>
    (e.infoHash === undefined ? undefined : names.get(e.infoHash)) ?? e.infoHash ?? '';
  const hostLine = createHostLines(say, tty, nameOf);
  /**
   * Peers the IP filter blocked, by torrent, not a line each; the shared port's refusals name no
   * torrent and are in `--json` only.
   */
  const blocked = new BlockedByTorrent();
  return {
    event(e) {
      if (hostLine(e)) return;
      switch (e.type) {
        case 'peer.blocked':
          blocked.add(e.infoHash, e.address);
          break;
        case 'metadata':
          names.set(e.infoHash, e.name);
          rows.set(e.infoHash, { name: printable(e.name), line: undefined });
          say(
            `${e.name}  ${formatBytes(e.totalLength)} in ${e.pieceCount} pieces  info-hash ${e.infoHash} → ${e.out}`,
          );
          break;
        case 'resume.loaded':
          if (e.checked > 0 || e.trusted > 0)
            say(`${nameOf(e)}: resuming, ${e.have}/${e.wanted} pieces on disk`);
          break;
        case 'metadata.layersNotSaved':
          say(`${nameOf(e)}: piece layers not saved (served all the same): ${e.message}`);
          break;
        case 'metadata.fetching':
        case 'metadata.progress': {
          const row = e.infoHash === undefined ? undefined : rows.get(e.infoHash);
          if (row === undefined) break;
          row.line = fetching(
            row.name,
            e.type === 'metadata.progress'
              ? ` ${e.received}/${e.pieces} pieces  peers ${e.connected}/${e.peers}`
              : `  peers 0/${e.peers}`,
          );
          draw();
          break;
        }
        case 'seeding': {
          const row = e.infoHash === undefined ? undefined : rows.get(e.infoHash);
          if (row !== undefined) row.seeding = true;
          say(`${nameOf(e)}: complete, seeding`);
          break;
        }
        case 'progress': {
          const row = e.infoHash === undefined ? undefined : rows.get(e.infoHash);
          if (row === undefined || !tty) break;
          const pct = e.totalLength === 0 ? 100 : (100 * e.verifiedBytes) / e.totalLength;
          row.line =
            row.seeding === true
              ? `${nameCell(row.name)} seeding  ↑ ${formatRate(e.uploadRate)}  ` +
                `uploaded ${formatBytes(e.uploaded)}  peers ${e.peersConnected}/${e.peersKnown}` +
                `${blocked.count(e.infoHash) === 0 ? '' : `  blocked ${blocked.count(e.infoHash)}`}`
              : `${nameCell(row.name)} ${progressBar(pct / 100, 20)} ${pct.toFixed(1).padStart(5)}%  ` +
                `↓ ${formatRate(e.downloadRate)} ↑ ${formatRate(e.uploadRate)}  ` +
                `peers ${e.peersConnected}/${e.peersKnown}  ${blockedCell(blocked.count(e.infoHash))}ETA ${formatDuration(e.etaSeconds)}`;
          draw();
          break;
        }
        case 'done':
          if (e.infoHash !== undefined) rows.delete(e.infoHash);
          say(
            `${nameOf(e)}: done, ${formatBytes(e.totalLength)} in ${formatDuration(e.transferMs / 1000)} (${formatRate(e.averageRate)})${blockedNote(blocked.count(e.infoHash))}`,
          );
          break;
        case 'stopped':
          if (e.infoHash !== undefined) rows.delete(e.infoHash);
          say(`${nameOf(e)}: stopped: ${e.reason}${blockedNote(blocked.count(e.infoHash))}`);
          break;
        case 'hook.started':
          if (tty) say(`${nameOf(e)}: --on-complete running (pid ${e.pid})`);
          break;
        case 'hook.exited': {
          // A failure is said even with --quiet (say() is silent then).
          const line = hookNews(e);
          if (line === undefined) break;
          clear();
          err.write(`${printable(`${nameOf(e)}: ${line}`)}\n`);
          draw();
          break;
        }
        case 'torrent.failed':
          rows.delete(e.infoHash);
          say(
            `${nameOf(e)}: failed: ${e.message} (${e.left} torrent${e.left === 1 ? '' : 's'} still running)`,
          );
          break;
        default:
          break;
      }
    },
    end: clear,
  };
}
