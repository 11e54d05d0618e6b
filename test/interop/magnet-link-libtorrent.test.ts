/**
 * The magnet link `bitstate info` prints for a torrent (make-magnet.ts) is read by python3-libtorrent
 * 2.0.8's parse_magnet_uri as that torrent: the info-hashes (v1, v2, both), the name, the trackers
 * and the web seeds its torrent_info gives — for libtorrent's own hybrid and v2 torrents, mktorrent's
 * v1, and one of ours with tiers, a web seed and a name that needs escaping.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTorrent } from '../../src/metainfo/create-torrent.js';
import { magnetLink } from '../../src/metainfo/make-magnet.js';
import { parseTorrent } from '../../src/metainfo/parse-torrent.js';
import { SYSTEM_PYTHON } from './harness/info-hash.js';
import { runProcess } from './harness/processes.js';

/** libtorrent's reading of each (torrent, link) pair: what the link says, and what the torrent says. */
const LINK_SCRIPT = `
import json, sys, libtorrent as lt
def hashes(ih):
    return [str(ih.v1) if ih.has_v1() else None, str(ih.v2) if ih.has_v2() else None]
out = []
for path, uri in zip(sys.argv[1::2], sys.argv[2::2]):
    ti = lt.torrent_info(path)
    p = lt.parse_magnet_uri(uri)
    out.append({
        # sorted: libtorrent shuffles the trackers of a tier as it loads a torrent
        'link': [hashes(p.info_hashes), p.name, sorted(p.trackers), list(p.url_seeds)],
        'torrent': [hashes(ti.info_hashes()), ti.name(), sorted(t.url for t in ti.trackers()),
                    [w['url'] for w in ti.web_seeds()]],
    })
print(json.dumps(out))
`;

test('bitstate info’s magnet link of a torrent is read by libtorrent as that torrent', async () => {
  const fixtures = ['ok--libtorrent-hybrid-padding', 'ok--libtorrent-v2-only', 'ok--mktorrent-tree'].map(
    (n) => fileURLToPath(new URL(`../fixtures/torrents/${n}.torrent`, import.meta.url)),
  );
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-magnet-link-lt-'));
  try {
    // One with trackers in tiers, a web seed and a name to escape too.
    const source = join(dir, 'a b+c&é');
    await writeFile(source, Buffer.alloc(40_000, 7));
    const made = join(dir, 'made.torrent');
    await writeFile(
      made,
      await createTorrent(source, {
        pieceLength: 16_384,
        announceList: [
          ['http://127.0.0.1:1/announce?x=1&y=2'],
          ['udp://127.0.0.1:2', 'http://127.0.0.1:3/a'],
        ],
        urlList: ['http://127.0.0.1:4/w/'], // (libtorrent's torrent_info escapes a space in url-list, its magnet parser does not)
      }),
    );
    const paths = [...fixtures, made];
    const links = paths.map((p) => magnetLink(parseTorrent(new Uint8Array(readFileSync(p)))));
    const r = await runProcess(
      SYSTEM_PYTHON,
      ['-c', LINK_SCRIPT, ...paths.flatMap((p, k) => [p, links[k]!])],
      {
        name: 'libtorrent parse_magnet_uri',
        timeoutMs: 60_000,
      },
    );
    const read = JSON.parse(r.stdoutTail.trim().split('\n').at(-1)!) as { link: unknown; torrent: unknown }[];
    for (const [k, x] of read.entries()) assert.deepEqual(x.link, x.torrent, `${paths[k]}: ${links[k]}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
