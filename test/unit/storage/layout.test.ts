import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileLocations } from '../../../src/storage/layout.js';
import { PieceStore } from '../../../src/storage/piece-store.js';
import { StorageError } from '../../../src/storage/storage-error.js';
import { type FileSpec, makeTorrent, payloadBytes } from './make-torrent.js';

const escapes = (e: unknown) => e instanceof StorageError && e.code === 'pathEscape' && e.badInput;

/** A sandbox with <sandbox>/out (the download folder) and <sandbox>/outside (must stay empty). */
async function sandbox(t: { after(fn: () => Promise<void>): void }) {
  const root = await mkdtemp(join(tmpdir(), 'bitstate-layout-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const out = join(root, 'out');
  const outside = join(root, 'outside');
  await mkdir(out);
  await mkdir(outside);
  return { root, out, outside };
}

test('layout: multi-file under <out>/<name>/, single-file at <out>/<name>', () => {
  const multi = makeTorrent('dir', [{ path: ['a', 'b.txt'], length: 1 }], 16, payloadBytes(1));
  assert.deepEqual(fileLocations(multi, '/o'), [{ path: '/o/dir/a/b.txt', dirs: ['dir', 'a'] }]);
  const single = makeTorrent('f.bin', [{ path: ['f.bin'], length: 1 }], 16, payloadBytes(1), false);
  assert.deepEqual(fileLocations(single, '/o'), [{ path: '/o/f.bin', dirs: [] }]);
});

test('layout: -o / puts files at /<name> (the root ends with the separator itself)', () => {
  const multi = makeTorrent('dir', [{ path: ['a', 'b.txt'], length: 1 }], 16, payloadBytes(1));
  assert.deepEqual(fileLocations(multi, '/'), [{ path: '/dir/a/b.txt', dirs: ['dir', 'a'] }]);
  const single = makeTorrent('single.bin', [{ path: ['single.bin'], length: 1 }], 16, payloadBytes(1), false);
  assert.deepEqual(fileLocations(single, '/'), [{ path: '/single.bin', dirs: [] }]);
  assert.deepEqual(fileLocations(single, '/o/'), [{ path: '/o/single.bin', dirs: [] }]);
});

const crafted: [string, string, FileSpec[]][] = [
  ['a .. component', 'ok', [{ path: ['..', '..', 'outside', 'x'], length: 4 }]],
  ['a .. hidden after a folder', 'ok', [{ path: ['sub', '..', '..', '..', 'outside', 'x'], length: 4 }]],
  ['a name of ..', '..', [{ path: ['outside', 'x'], length: 4 }]],
  ['a slash inside a component', 'ok', [{ path: ['../../outside/x'], length: 4 }]],
  ['an absolute component', 'ok', [{ path: ['/tmp/x'], length: 4 }]],
  ['a backslash', 'ok', [{ path: ['..\\x'], length: 4 }]],
  ['an empty component', 'ok', [{ path: ['', 'x'], length: 4 }]],
  ['a NUL byte', 'ok', [{ path: ['x\0'], length: 4 }]],
];

for (const [what, name, specs] of crafted) {
  test(`a crafted torrent with ${what} is refused and writes nothing`, async (t) => {
    const { out, outside } = await sandbox(t);
    const torrent = makeTorrent(name, specs, 16, payloadBytes(4));
    await assert.rejects(PieceStore.open(torrent, out), escapes);
    assert.deepEqual(await readdir(out), []);
    assert.deepEqual(await readdir(outside), []);
  });
}

for (const [what, name, specs] of crafted) {
  test(`with -o /, a crafted torrent with ${what} is still refused (no file is written)`, () => {
    const torrent = makeTorrent(name, specs, 16, payloadBytes(4));
    assert.throws(() => fileLocations(torrent, '/'), escapes);
  });
}

test('a folder planted as a symlink to outside is not followed', async (t) => {
  const { out, outside } = await sandbox(t);
  await mkdir(join(out, 't'));
  await symlink(outside, join(out, 't', 'sub'));
  const torrent = makeTorrent('t', [{ path: ['sub', 'x'], length: 4 }], 16, payloadBytes(4));
  await assert.rejects(PieceStore.open(torrent, out), escapes);
  assert.deepEqual(await readdir(outside), []);
});

test('a file planted as a symlink to outside is not opened (O_NOFOLLOW)', async (t) => {
  const { out, outside } = await sandbox(t);
  await writeFile(join(outside, 'victim'), 'keep');
  await symlink(join(outside, 'victim'), join(out, 'f.bin'));
  const torrent = makeTorrent('f.bin', [{ path: ['f.bin'], length: 4 }], 16, payloadBytes(4), false);
  await assert.rejects(PieceStore.open(torrent, out), escapes);
  assert.deepEqual(await readdir(outside), ['victim']);
});

test('a torrent named .bitstate in any case is refused: on a case-insensitive file system .BITSTATE is our own folder', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-state-dir-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const name of ['.bitstate', '.BITSTATE', '.BitState']) {
    const payload = new Uint8Array(64);
    const torrent = makeTorrent(name, [{ path: ['x.parts'], length: 64 }], 64, payload);
    await assert.rejects(PieceStore.open(torrent, dir, { hashWorkers: 0 }), (err: unknown) => {
      assert.ok(err instanceof StorageError, String(err));
      assert.equal(err.code, 'pathEscape');
      return true;
    });
  }
});
