/**
 * A path the torrent's files cannot take, found only when the download completes: a zero-length
 * file is created then (src/storage/store-files.ts), so a symlink planted at its folder after the
 * store opened is met by `PieceStore.createMissing`. That is bad input as at open — one line, exit
 * 2 — and nothing is created through the link. The CLI from source in a child process, fed by a
 * bitstate seeder in this process that dials it on 127.0.0.1; bounded.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { seed } from '../../../src/session/seed.js';
import { assertOneLineError, runCli } from '../../helpers/run-cli.js';
import { tempDir } from '../../helpers/session.js';

test('a symlink planted at a zero-length file’s folder during the download: exit 2, one line, nothing written through it', async (t) => {
  const dir = await tempDir(t, 'bitstate-planted-');
  const data = join(dir, 'seed');
  await mkdir(join(data, 'tree', 'sub'), { recursive: true });
  await writeFile(join(data, 'tree', 'a.bin'), Buffer.alloc(40_000, 7));
  await writeFile(join(data, 'tree', 'sub', 'empty'), '');
  const bytes = await createTorrent(join(data, 'tree'), { pieceLength: 16_384 });
  const torrentFile = join(dir, 'tree.torrent');
  await writeFile(torrentFile, bytes);
  const torrent = parseTorrent(bytes);
  const out = join(dir, 'out');
  const elsewhere = join(dir, 'elsewhere');
  await mkdir(elsewhere);

  let seeder: ReturnType<typeof seed> | undefined;
  let plantError: unknown;
  t.after(() => seeder?.stop());
  const r = await runCli(
    ['download', torrentFile, '-o', out, '--no-tracker', '--port', '0', '--timeout', '10', '--json'],
    {
      timeoutMs: 60_000,
      onLine: (line) => {
        const e = JSON.parse(line) as { type: string; port?: number };
        // `listening` comes once the store is open: sub/ was not there, so nothing looked at it.
        if (e.type !== 'listening' || seeder !== undefined) return;
        void mkdir(join(out, 'tree'), { recursive: true })
          .then(() => symlink(elsewhere, join(out, 'tree', 'sub')))
          .then(
            () => {
              seeder = seed(torrent, {
                data,
                trackers: false,
                listen: false,
                peers: [{ host: '127.0.0.1', port: e.port! }],
              });
            },
            (err: unknown) => (plantError = err),
          );
      },
    },
  );
  assert.equal(plantError, undefined);
  assertOneLineError(r, { command: 'download', pattern: /symlink .*sub/, stdout: 'any' });
  assert.ok(seeder !== undefined, 'the seeder was started');
  assert.deepEqual(await readdir(elsewhere), [], 'nothing created through the symlink');
  // The data that did arrive is kept, verified.
  assert.deepEqual(await readFile(join(out, 'tree', 'a.bin')), Buffer.alloc(40_000, 7));
});
