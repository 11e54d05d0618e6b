/**
 * The reference view of a .torrent from libtorrent (`lt.torrent_info`), independent of bitstate's
 * own parser: tests compare bitstate's results with it, and the tracker whitelist is built from it.
 */
import { runProcess } from './processes.js';

export const SYSTEM_PYTHON = '/usr/bin/python3';

export interface ReferenceTorrentInfo {
  readonly infoHash: string;
  readonly name: string;
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly totalLength: number;
  readonly files: readonly { readonly path: string; readonly length: number }[];
}

const SCRIPT = `
import json, sys, libtorrent as lt
t = lt.torrent_info(sys.argv[1])
fs = t.files()
print(json.dumps({
  "infoHash": str(t.info_hash()), "name": t.name(), "pieceLength": t.piece_length(),
  "pieceCount": t.num_pieces(), "totalLength": t.total_size(),
  "files": [{"path": fs.file_path(i), "length": fs.file_size(i)} for i in range(fs.num_files())],
}))
`;

export async function referenceTorrentInfo(torrentPath: string): Promise<ReferenceTorrentInfo> {
  const r = await runProcess(SYSTEM_PYTHON, ['-c', SCRIPT, torrentPath], {
    timeoutMs: 30_000,
    name: 'libtorrent torrent_info',
    tailBytes: 16 << 20,
  });
  return JSON.parse(r.stdoutTail.trim().split('\n').pop() ?? '') as ReferenceTorrentInfo;
}

/** The v1 info-hash as 40 lower-case hex characters, as libtorrent computes it. */
export async function referenceInfoHash(torrentPath: string): Promise<string> {
  return (await referenceTorrentInfo(torrentPath)).infoHash;
}
