/**
 * Real-world torrents: made by mktorrent and by libtorrent (Debian's python3-libtorrent, v1-only
 * and hybrid v1+v2 with BEP 47 padding files) over a payload made here; our parse must agree with
 * libtorrent's torrent_info on the info-hash and the file list. And the torrents we create load in
 * libtorrent with our info-hash and pass its hash check. The tools are required: CI installs them,
 * so their absence fails these tests rather than skipping them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import type { Torrent } from '../../../src/metainfo/torrent.js';

const PYTHON = '/usr/bin/python3';
const MKTORRENT = '/usr/bin/mktorrent';
const PROBE = fileURLToPath(new URL('./libtorrent-probe.py', import.meta.url));

function run(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error !== undefined) throw new Error(`${command} could not run (install it: ${r.error.message})`);
  assert.equal(r.status, 0, `${command} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

interface LibtorrentView {
  infoHash: string;
  name: string;
  pieceLength: number;
  pieceCount: number;
  totalLength: number;
  files: { path: string; length: number; padding: boolean }[];
}

const libtorrentRead = (file: string): LibtorrentView => JSON.parse(run(PYTHON, [PROBE, 'read', file]));

/** Our Torrent in libtorrent's terms: file paths include the torrent's folder for multi-file torrents. */
function ourView(t: Torrent): LibtorrentView {
  return {
    infoHash: t.infoHashHex,
    name: t.name,
    pieceLength: t.pieceLength,
    pieceCount: t.pieceCount,
    totalLength: t.totalLength,
    files: t.files.map((f) => ({
      path: (t.multiFile ? [t.name, ...f.path] : f.path).join('/'),
      length: f.length,
      padding: f.padding,
    })),
  };
}

let dir = '';
let single = '';
let tree = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-3rd-'));
  single = join(dir, 'single.bin');
  await writeFile(single, randomBytes(70_001));
  // No two names differing only by case: libtorrent renames such a pair ("B" → "B.1").
  tree = join(dir, 'tree');
  await mkdir(join(tree, 'sub', 'deeper'), { recursive: true });
  await writeFile(join(tree, 'top.txt'), 'x'); // a tiny file, smaller than any piece
  await writeFile(join(tree, 'sub', 'deeper', 'data.bin'), randomBytes(50_000));
  await writeFile(join(tree, 'sub', 'x.dat'), randomBytes(20_000));
  await writeFile(join(tree, 'é – ünïcode.txt'), randomBytes(300));
  await writeFile(join(tree, 'zero'), '');
});
after(() => rm(dir, { recursive: true, force: true }));

for (const target of ['single', 'tree'] as const) {
  test(`mktorrent (${target}): our parse agrees with libtorrent`, async () => {
    const out = join(dir, `mk-${target}.torrent`);
    run(MKTORRENT, [
      '-a',
      'http://127.0.0.1:1/announce',
      '-l',
      '15',
      '-c',
      'made by mktorrent',
      '-o',
      out,
      target === 'single' ? single : tree,
    ]);
    const ours = parseTorrent(await readFile(out));
    assert.deepEqual(ourView(ours), libtorrentRead(out));
    assert.equal(ours.comment, 'made by mktorrent');
    assert.deepEqual(ours.announceList, [['http://127.0.0.1:1/announce']]);
  });

  for (const mode of ['v1', 'hybrid'] as const) {
    test(`libtorrent ${mode} (${target}): our parse agrees with libtorrent`, async () => {
      const out = join(dir, `lt-${mode}-${target}.torrent`);
      run(PYTHON, [PROBE, 'make', target === 'single' ? single : tree, out, mode, '16384']);
      const ours = parseTorrent(await readFile(out));
      const theirs = libtorrentRead(out);
      assert.deepEqual(ourView(ours), theirs);
      if (mode === 'hybrid' && target === 'tree')
        assert.ok(
          theirs.files.some((f) => f.padding),
          'hybrid has padding files',
        );
    });
  }

  test(`createTorrent (${target}): libtorrent loads it with our info-hash and its hash check passes`, async () => {
    const out = join(dir, `ours-${target}.torrent`);
    const bytes = await createTorrent(target === 'single' ? single : tree, {
      announce: 'http://127.0.0.1:1/announce',
      pieceLength: 16384,
    });
    await writeFile(out, bytes);
    assert.deepEqual(libtorrentRead(out), ourView(parseTorrent(bytes)));
    const check = JSON.parse(run(PYTHON, [PROBE, 'check', out, dir]));
    assert.deepEqual(check, {
      state: 'seeding',
      numPieces: check.total,
      total: parseTorrent(bytes).pieceCount,
    });
  });
}

test('names equal but for case: libtorrent gives the files the names on disk we give them', async () => {
  // Both names of each pair fit on this file system (ext4); on a case-insensitive one they are one.
  const cased = join(dir, 'cased');
  await mkdir(join(cased, 'docs'), { recursive: true });
  const names = ['README', 'readme', 'Readme', 'Notes.txt', 'notes.TXT', '.bashrc', '.BASHRC', 'Docs'];
  for (const name of [...names, join('docs', 'x')]) await writeFile(join(cased, name), name);
  const out = join(dir, 'cased.torrent');
  const bytes = await createTorrent(cased, { pieceLength: 16384 });
  await writeFile(out, bytes);
  const ours = parseTorrent(bytes);
  assert.deepEqual(ourView(ours), libtorrentRead(out));
  assert.equal(ours.files.filter((f) => f.renamedFrom !== undefined).length, 5, 'renamed at all');
});

test('single file: libtorrent v1 and createTorrent with one piece length give one info-hash', async () => {
  const out = join(dir, 'lt-same.torrent');
  run(PYTHON, [PROBE, 'make', single, out, 'v1', '32768']);
  const ours = parseTorrent(await createTorrent(single, { pieceLength: 32768 }));
  assert.equal(ours.infoHashHex, libtorrentRead(out).infoHash);
});
