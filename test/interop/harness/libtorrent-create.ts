/**
 * A .torrent made by libtorrent 2.0 itself (`lt.create_torrent`): v1, v2-only (BEP 52) or hybrid,
 * as qBittorrent makes them. The reference for what bitstate must read, download and seed; not
 * made by bitstate's own code, so a test using it cannot agree with itself.
 */
import { SYSTEM_PYTHON } from './info-hash.js';
import { runProcess } from './processes.js';

export type LibtorrentTorrentFormat = 'v1' | 'v2' | 'hybrid';

export interface LibtorrentMadeTorrent {
  /** Hex of the v1 info-hash (v1, hybrid). */
  readonly v1?: string;
  /** Hex of the full 32-byte v2 info-hash (v2, hybrid). */
  readonly v2?: string;
}

const SCRIPT = `
import json, os, sys, libtorrent as lt
source, out, piece_length, fmt = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fs = lt.file_storage()
lt.add_files(fs, source)
flags = {"v1": lt.create_torrent.v1_only, "v2": lt.create_torrent.v2_only, "hybrid": 0}[fmt]
ct = lt.create_torrent(fs, piece_length, flags=flags)
ct.set_creator("libtorrent " + lt.__version__)
lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(source)))
data = lt.bencode(ct.generate())
with open(out, "wb") as f:
    f.write(data)
ih = lt.torrent_info(out).info_hashes()
print(json.dumps({
  "v1": str(ih.v1) if ih.has_v1() else None,
  "v2": ih.v2.to_bytes().hex() if ih.has_v2() else None,
}))
`;

/** Writes `out`: a torrent of `source` (a file or a folder) in `format`, pieces of `pieceLength`. */
export async function makeTorrentWithLibtorrent(opts: {
  readonly source: string;
  readonly out: string;
  readonly pieceLength: number;
  readonly format: LibtorrentTorrentFormat;
}): Promise<LibtorrentMadeTorrent> {
  const r = await runProcess(
    SYSTEM_PYTHON,
    ['-c', SCRIPT, opts.source, opts.out, String(opts.pieceLength), opts.format],
    { timeoutMs: 60_000, name: `libtorrent create_torrent (${opts.format})` },
  );
  const made = JSON.parse(r.stdoutTail.trim().split('\n').pop() ?? '') as {
    v1: string | null;
    v2: string | null;
  };
  return { ...(made.v1 === null ? {} : { v1: made.v1 }), ...(made.v2 === null ? {} : { v2: made.v2 }) };
}
