/**
 * A .torrent made by libtorrent 2.0 itself (`lt.create_torrent`): v1, v2-only (BEP 52) or hybrid,
 * as qBittorrent makes them. The reference for what bitstate must read, download and seed; not
 * made by bitstate's own code, so a test using it cannot agree with itself.
 */
import { SYSTEM_PYTHON } from './info-hash.js';
import { runProcess } from './processes.js';

export type LibtorrentTorrentFormat = 'v1' | 'v2' | 'hybrid';

/** The torrent as libtorrent's own `torrent_info` reads it back. */
export interface LibtorrentMadeTorrent {
  /** Hex of the v1 info-hash (v1, hybrid). */
  readonly v1?: string;
  /** Hex of the full 32-byte v2 info-hash (v2, hybrid). */
  readonly v2?: string;
  readonly name: string;
  /** Padding included. */
  readonly totalLength: number;
  readonly pieceCount: number;
  readonly pieceLength: number;
  /** Every file as libtorrent lays it out, padding files (BEP 47, or v2's implicit ones) included. */
  readonly files: readonly LibtorrentFile[];
}

export interface LibtorrentFile {
  /** Relative to the save path: a multi-file torrent's paths start with its folder. */
  readonly path: string;
  readonly length: number;
  readonly offset: number;
  readonly padding: boolean;
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
ti = lt.torrent_info(out)
ih = ti.info_hashes()
fs = ti.files()
print(json.dumps({
  "v1": str(ih.v1) if ih.has_v1() else None,
  "v2": ih.v2.to_bytes().hex() if ih.has_v2() else None,
  "name": ti.name(), "totalLength": ti.total_size(), "pieceCount": ti.num_pieces(),
  "pieceLength": ti.piece_length(),
  "files": [{"path": fs.file_path(i), "length": fs.file_size(i), "offset": fs.file_offset(i),
             "padding": bool(fs.file_flags(i) & lt.file_storage.flag_pad_file)}
            for i in range(fs.num_files())],
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
    { timeoutMs: 60_000, name: `libtorrent create_torrent (${opts.format})`, tailBytes: 1 << 20 },
  );
  type Printed = Omit<LibtorrentMadeTorrent, 'v1' | 'v2'> & { v1: string | null; v2: string | null };
  const { v1, v2, ...made } = JSON.parse(r.stdoutTail.trim().split('\n').pop() ?? '') as Printed;
  return { ...made, ...(v1 === null ? {} : { v1 }), ...(v2 === null ? {} : { v2 }) };
}
