/**
 * What `bitstate seed A.torrent B.torrent …` shows: with `--json`, every event as NDJSON with the
 * torrent's `infoHash` (download-display.ts's JSON mode: the field is in the event); on a terminal,
 * each torrent's news as a line of its own naming it (checked, stopped, a tracker that failed, a
 * banned peer, a torrent that failed and stopped alone), and one live summary line for all on
 * stderr — torrents still seeding, upload rate, uploaded, peers, the peers the IP filter blocked
 * (`--blocklist`: a count of them all, the shared port's refusals too; each torrent's on its
 * stopped line) — rather than a progress line per
 * torrent, which would not fit a terminal for a library.
 * Outside text (names, URLs, messages) goes through `printable`.
 */

import { BlockedPeers } from '../session/blocked-peers.js';
import type { SeedManyEvent } from '../session/seed-many.js';
import { createJsonDisplay, type DisplayMode } from './download-display.js';
import { blockedNote } from './download-many-display.js';
import { formatBytes, formatRate } from './format.js';
import { BlockedByTorrent, createHostLines } from './host-lines.js';
import { printable } from './printable.js';

export interface SeedManyDisplay {
  event(e: SeedManyEvent): void;
  /** Clear the live line before something else is printed. */
  end(): void;
}

interface Seen {
  readonly name: string;
  uploadRate: number;
  uploaded: number;
  peers: number;
}

export function createSeedManyDisplay(
  mode: DisplayMode,
  opts: { out?: NodeJS.WritableStream; err?: NodeJS.WriteStream } = {},
): SeedManyDisplay {
  if (mode === 'json') return createJsonDisplay<SeedManyEvent>(opts.out);
  const err = opts.err ?? process.stderr;
  const tty = mode === 'terminal' && err.isTTY === true;
  const torrents = new Map<string, Seen>();
  let lineShown = false;
  const clear = () => {
    if (!lineShown) return;
    err.write('\r\x1b[2K');
    lineShown = false;
  };
  const say = (s: string) => {
    if (mode === 'quiet') return;
    clear();
    err.write(`${printable(s)}\n`);
  };
  const nameOf = (e: { infoHash?: string }) =>
    (e.infoHash === undefined ? undefined : torrents.get(e.infoHash)?.name) ?? e.infoHash ?? '';
  const hostLine = createHostLines(say, tty, nameOf);
  /** Peers the IP filter blocked, each counted once (blocked-peers.ts): all of them, and by torrent. */
  const blocked = new BlockedPeers();
  const blockedBy = new BlockedByTorrent();
  return {
    event(e) {
      if (hostLine(e)) return;
      switch (e.type) {
        case 'peer.blocked':
          blocked.add(e.address);
          blockedBy.add(e.infoHash, e.address);
          break;
        case 'metadata':
          torrents.set(e.infoHash, { name: e.name, uploadRate: 0, uploaded: 0, peers: 0 });
          say(`${e.name}  ${formatBytes(e.totalLength)} in ${e.pieceCount} pieces  info-hash ${e.infoHash}`);
          break;
        case 'checked':
          say(`${nameOf(e)}: ${e.have}/${e.pieceCount} pieces match, seeding`);
          break;
        case 'seeding':
          if (e.superSeed === true) say(`${nameOf(e)}: super-seeding (BEP 16)`);
          break;
        case 'stopped':
          say(`${nameOf(e)}: stopped: ${e.reason}${blockedNote(blockedBy.count(e.infoHash))}`);
          break;
        case 'torrent.failed': {
          say(
            `${nameOf(e)}: failed, no longer seeded: ${e.message} (${e.left} torrent${e.left === 1 ? '' : 's'} still seeding)`,
          );
          // Out of the summary line: its rate, bytes and peers are gone with it.
          torrents.delete(e.infoHash);
          break;
        }
        case 'progress': {
          const seen = e.infoHash === undefined ? undefined : torrents.get(e.infoHash);
          if (seen === undefined) break;
          seen.uploadRate = e.uploadRate;
          seen.uploaded = e.uploaded;
          seen.peers = e.peersConnected;
          if (!tty) break;
          let rate = 0;
          let uploaded = 0;
          let peers = 0;
          for (const t of torrents.values()) {
            rate += t.uploadRate;
            uploaded += t.uploaded;
            peers += t.peers;
          }
          clear();
          const line =
            `seeding ${torrents.size} torrent${torrents.size === 1 ? '' : 's'}  ↑ ${formatRate(rate)}  uploaded ${formatBytes(uploaded)}  peers ${peers}` +
            `${blocked.count === 0 ? '' : `  blocked ${blocked.count}`}`;
          err.write(line.slice(0, Math.max(20, (err.columns ?? 120) - 1)));
          lineShown = true;
          break;
        }
        default:
          break;
      }
    },
    end: clear,
  };
}
