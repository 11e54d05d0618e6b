/**
 * BEP 19 (GetRight-style web seeds): where a file of the torrent is on a `url-list` server, and
 * which HTTP ranges a run of the payload is. Pure.
 *
 * - Single-file torrent: the URL itself, or URL + name when the URL ends in `/`.
 * - Multi-file torrent: URL + `/` (unless it ends in one) + name + `/` + path, one component at a
 *   time, as the torrent spells them (`renamedFrom` when a case collision renamed the file on disk).
 *
 * Each component is percent-encoded as encodeURIComponent does (UTF-8; letters, digits and
 * `-_.!~*'()` left as they are): a `/`, `?`, `#`, `%` or space in a name is data, never syntax
 * (libtorrent's escape_path keeps the same unreserved set).
 *
 * A run of payload bytes (blocks that follow each other, possibly over several pieces) may cross
 * files: it becomes one range per file it touches, in payload order; BEP 47 padding files are
 * zeros we make, never asked of the server; zero-length files are never asked either.
 */

import type { TorrentFile } from '../metainfo/torrent.js';
import type { FileSegment } from '../storage/file-map.js';

/** A web seed's base URL is used when it is http: or https:, the only schemes we speak. */
export function isWebSeedUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
}

/** The URL of one file of the torrent on the web seed at `base`. */
export function webSeedFileUrl(
  base: string,
  torrent: { readonly name: string; readonly multiFile: boolean },
  file: Pick<TorrentFile, 'path' | 'renamedFrom'>,
): string {
  if (!torrent.multiFile) return base.endsWith('/') ? base + encodeURIComponent(torrent.name) : base;
  const path = file.renamedFrom ?? file.path;
  const root = base.endsWith('/') ? base : `${base}/`;
  return root + [torrent.name, ...path].map(encodeURIComponent).join('/');
}

/** One part of a run: bytes [start, start + length) of the file at `url`, or `length` zeros. */
export type WebSeedRange =
  | {
      readonly kind: 'http';
      readonly url: string;
      readonly fileIndex: number;
      readonly start: number;
      readonly length: number;
      readonly fileLength: number;
    }
  | { readonly kind: 'zeros'; readonly length: number };

/** The ranges of `segments` (FileMap.segments of a run) on the web seed at `base`. */
export function webSeedRanges(
  base: string,
  torrent: { readonly name: string; readonly multiFile: boolean; readonly files: readonly TorrentFile[] },
  segments: readonly FileSegment[],
): WebSeedRange[] {
  const out: WebSeedRange[] = [];
  for (const s of segments) {
    if (s.length === 0) continue;
    if (s.padding) {
      out.push({ kind: 'zeros', length: s.length });
      continue;
    }
    const file = torrent.files[s.fileIndex]!;
    out.push({
      kind: 'http',
      url: webSeedFileUrl(base, torrent, file),
      fileIndex: s.fileIndex,
      start: s.fileOffset,
      length: s.length,
      fileLength: file.length,
    });
  }
  return out;
}
