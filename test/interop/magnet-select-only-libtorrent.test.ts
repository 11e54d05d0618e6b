/**
 * A magnet's so= (BEP 53) names the same files in bitstate and in python3-libtorrent 2.0.8: the
 * files libtorrent would fetch — `parse_magnet_uri`'s priorities, given the torrent's metadata and
 * added (paused, no network) to a session — are the files bitstate selects for the same link.
 * Torrents with padding between their files (a hybrid's BEP 47 padding files, a v2 torrent's
 * implicit ones) are where the two could disagree: both count the padding files as files.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../src/metainfo/create-torrent.js';
import { parseMagnet } from '../../src/metainfo/magnet.js';
import { parseTorrent } from '../../src/metainfo/parse-torrent.js';
import type { Torrent } from '../../src/metainfo/torrent.js';
import { selectOnlyFiles } from '../../src/session/magnet-select-only.js';
import { tempDir } from '../helpers/temp-dir.js';
import { SYSTEM_PYTHON } from './harness/info-hash.js';
import { runProcess } from './harness/processes.js';

/** For each (torrent path, magnet) pair: the paths of the non-padding files libtorrent would fetch. */
const SCRIPT = `
import json, sys, tempfile, shutil, libtorrent as lt
s = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False,
                'enable_upnp': False, 'enable_natpmp': False, 'alert_mask': 0})
out = []
for path, uri in zip(sys.argv[1::2], sys.argv[2::2]):
    ti = lt.torrent_info(path)
    p = lt.parse_magnet_uri(uri)
    p.ti = ti
    p.save_path = tempfile.mkdtemp()
    p.flags |= lt.torrent_flags.paused
    p.flags &= ~lt.torrent_flags.auto_managed
    h = s.add_torrent(p)
    fs = ti.files()
    prio = h.get_file_priorities()
    out.append([fs.file_path(i) for i in range(fs.num_files())
                if prio[i] > 0 and not fs.file_flags(i) & lt.file_storage.flag_pad_file])
    s.remove_torrent(h)
    shutil.rmtree(p.save_path)
print(json.dumps(out))
`;

/** The magnet link of `t` that libtorrent reads as the same torrent (v2-only: its btmh). */
function magnetOf(t: Torrent, so: string): string {
  const xt =
    t.version === 'v2'
      ? `urn:btmh:1220${Buffer.from(t.infoHashV2!).toString('hex')}`
      : `urn:btih:${t.infoHashHex}`;
  return `magnet:?xt=${xt}&so=${so}`;
}

/** The paths bitstate fetches for `so`, as libtorrent writes them (`name/path`). */
function bitstateSelects(t: Torrent, so: string): string[] {
  const selected = selectOnlyFiles(t, parseMagnet(magnetOf(t, so)).selectOnly)!;
  return t.files.filter((f, i) => selected[i] && !f.padding).map((f) => [t.name, ...f.path].join('/'));
}

test('so= selects the same files in bitstate and libtorrent, padding files counted by both', async (t) => {
  const dir = await tempDir(t, 'bitstate-so-lt-');
  const source = join(dir, 'show');
  await mkdir(source, { recursive: true });
  // None a multiple of 16 KiB: a padding file after each (after the last too, in v2).
  for (const [name, length] of [
    ['a.bin', 20_000],
    ['b.bin', 30_000],
    ['c.bin', 5_000],
    ['d.bin', 40_000],
  ] as const)
    await writeFile(join(source, name), Buffer.alloc(length, name));
  const cases = ['2', '0,4', '1-3', '2,6', '0-7', '4-4,0'];
  const pairs: { torrent: Torrent; path: string; so: string }[] = [];
  for (const format of ['hybrid', 'v2'] as const) {
    const bytes = await createTorrent(source, { pieceLength: 16_384, format });
    const path = join(dir, `${format}.torrent`);
    await writeFile(path, bytes);
    const torrent = parseTorrent(bytes);
    assert.ok(torrent.files.filter((f) => f.padding).length >= 3, `${format}: padding between the files`);
    for (const so of cases) pairs.push({ torrent, path, so });
  }
  const r = await runProcess(
    SYSTEM_PYTHON,
    ['-c', SCRIPT, ...pairs.flatMap((p) => [p.path, magnetOf(p.torrent, p.so)])],
    { name: 'libtorrent so=', timeoutMs: 60_000 },
  );
  const libtorrent = JSON.parse(r.stdoutTail.trim().split('\n').at(-1)!) as string[][];
  assert.equal(libtorrent.length, pairs.length);
  pairs.forEach((p, k) => {
    const ours = bitstateSelects(p.torrent, p.so);
    assert.ok(ours.length > 0);
    assert.deepEqual(ours, libtorrent[k], `${p.torrent.version} so=${p.so}`);
  });
  // Counting padding matters: so=2 is b.bin (a.bin, its padding, b.bin), not c.bin.
  assert.deepEqual(bitstateSelects(pairs[0]!.torrent, '2'), ['show/b.bin']);
});
