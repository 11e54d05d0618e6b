/**
 * Seeding a folder whose names differ only in case (src/session/seed.ts `asLaidOut`): parseTorrent
 * renames the later file (`readme` → `readme.1`, src/metainfo/case-collisions.ts), but the folder
 * `create` read on ext4 holds both names. The seeder serves the file from the torrent's own name when
 * that is a file of its own; a downloader saves it as renamed, byte for byte.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { readTorrentFile } from '../../../src/metainfo/read-torrent-file.js';
import { asLaidOut } from '../../../src/session/as-laid-out.js';
import { download } from '../../../src/session/download.js';
import { checkDataFiles, SeedError } from '../../../src/session/seed.js';
import { runCli } from '../../helpers/run-cli.js';
import { listeningSeeder, tempDir, within } from '../../helpers/session.js';

test('a torrent made on ext4 from README and readme seeds from that folder, and downloads as README and readme.1', async (t) => {
  const dir = await tempDir(t, 'bitstate-session-');
  const data = join(dir, 'data');
  await mkdir(join(data, 'docs'), { recursive: true });
  const upper = randomBytes(70_000);
  const lower = randomBytes(50_000);
  await writeFile(join(data, 'docs', 'README'), upper);
  await writeFile(join(data, 'docs', 'readme'), lower);
  const made = await runCli([
    'create',
    join(data, 'docs'),
    '-o',
    join(dir, 'docs.torrent'),
    '--announce',
    'http://127.0.0.1:1/announce',
    '--piece-length',
    '16384',
  ]);
  assert.equal(made.code, 0, made.stderr);
  const torrent = await readTorrentFile(join(dir, 'docs.torrent'));
  assert.deepEqual(
    torrent.files.map((f) => f.path.join('/')),
    ['README', 'readme.1'],
    'parsed as every client lays it out',
  );
  const laidOut = await asLaidOut(torrent, data);
  assert.deepEqual(
    laidOut.files.map((f) => [f.path.join('/'), f.renamedFrom?.join('/')]),
    [
      ['README', undefined],
      ['readme', undefined],
    ],
  );
  const port = await listeningSeeder(t, torrent, data);
  const out = join(dir, 'out');
  const job = download(torrent, {
    out,
    peers: [{ host: '127.0.0.1', port }],
    trackers: false,
    listen: false,
    stallTimeoutMs: 10_000,
  });
  const result = await within(60_000, job.done, 'download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  assert.deepEqual(await readFile(join(out, 'docs', 'README')), upper);
  assert.deepEqual(await readFile(join(out, 'docs', 'readme.1')), lower);
  // And the download seeds as it lies: readme.1 is there, nothing to change.
  assert.equal(await asLaidOut(torrent, out), torrent);
});

test('where the torrent’s own name is the kept file (a case-insensitive file system), the renamed path stays and its absence is named', async (t) => {
  const dir = await tempDir(t, 'bitstate-session-');
  const data = join(dir, 'data');
  await mkdir(join(data, 'docs'), { recursive: true });
  await writeFile(join(data, 'docs', 'README'), 'x');
  await writeFile(join(data, 'docs', 'b'), 'y');
  // A hard link: `readme` is README itself, as on macOS or Windows.
  await link(join(data, 'docs', 'README'), join(data, 'docs', 'readme'));
  const made = await runCli([
    'create',
    join(data, 'docs'),
    '-o',
    join(dir, 't.torrent'),
    '--announce',
    'http://127.0.0.1:1/a',
  ]);
  assert.equal(made.code, 0, made.stderr);
  const torrent = await readTorrentFile(join(dir, 't.torrent'));
  const renamed = torrent.files.findIndex((f) => f.renamedFrom !== undefined);
  assert.ok(renamed >= 0);
  const laidOut = await asLaidOut(torrent, data);
  assert.equal(laidOut, torrent, 'nothing changed');
  await assert.rejects(checkDataFiles(laidOut, data), (err: unknown) => {
    assert.ok(err instanceof SeedError);
    assert.equal(err.code, 'missingFile');
    assert.match(err.message, /renamed: another file has its name but for case\)$/);
    return true;
  });
});
