/**
 * The library's `superSeed` option (BEP 16) where it can never apply: `download()` without
 * `keepSeeding`, or with a selection of some files (a partial seed), fails with a SuperSeedError
 * (badInput) before it opens anything — nothing is created in `out`. With every file selected it
 * is a full seed's and is taken.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { download } from '../../../src/session/download.js';
import { SuperSeedError } from '../../../src/session/super-seed-option.js';
import { tempDir } from '../../helpers/temp-dir.js';

async function torrentIn(dir: string) {
  await writeFile(join(dir, 'f.bin'), Buffer.alloc(40_000, 3));
  return parseTorrent(await createTorrent(join(dir, 'f.bin'), { pieceLength: 16_384 }));
}

test('download({superSeed}) without keepSeeding, or with some files left out: SuperSeedError, nothing opened', async (t) => {
  const dir = await tempDir(t, 'bitstate-super-seed-option-');
  const torrent = await torrentIn(dir);
  const out = join(dir, 'out');
  const cases = [
    { options: { superSeed: true }, code: 'notSeeding' },
    { options: { superSeed: true, keepSeeding: true, selected: [false] }, code: 'partialSeed' },
  ] as const;
  for (const { options, code } of cases) {
    const job = download(torrent, { out, listen: false, trackers: false, ...options });
    await assert.rejects(job.done, (err: unknown) => {
      assert.ok(err instanceof SuperSeedError, String(err));
      assert.equal(err.code, code);
      assert.equal(err.badInput, true);
      return true;
    });
  }
  assert.deepEqual(await readdir(dir), ['f.bin'], 'no output folder made');
});

test('download({superSeed, keepSeeding}) of every file is a full seed to be: taken', async (t) => {
  const dir = await tempDir(t, 'bitstate-super-seed-option-');
  const torrent = await torrentIn(dir);
  const job = download(torrent, {
    out: join(dir, 'out'),
    listen: false,
    trackers: false,
    utp: 'off',
    keepSeeding: true,
    superSeed: true,
    selected: [true],
  });
  const metadata = new Promise((resolve) =>
    job.events$.subscribe((e) => e.type === 'metadata' && resolve(e)),
  );
  await metadata;
  const result = await job.stop('stopped');
  assert.equal(result.result, 'stopped');
});
