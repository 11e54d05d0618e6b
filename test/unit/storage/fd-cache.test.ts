import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FdCache } from '../../../src/storage/fd-cache.js';
import { StorageError } from '../../../src/storage/storage-error.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-fd-cache-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A regular file of `length` zeros. */
async function regularFile(dir: string, name: string, length = 64): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, new Uint8Array(length));
  return path;
}

/** A FIFO: writes to it succeed (into the pipe's buffer), fdatasync fails with EINVAL — a real failing sync. */
function fifo(dir: string, name: string): string {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
}

/** Writes `bytes` bytes of `fill` at `position` (null: a FIFO) through the cache. */
function write(
  cache: FdCache,
  file: number,
  bytes: number,
  position: number | null,
  fill = 7,
): Promise<unknown> {
  return cache.use(file, bytes, (h) => h.write(new Uint8Array(bytes).fill(fill), 0, bytes, position));
}

test('writeback: a background sync starts once the unsynced bytes reach the threshold, one at a time', async (t) => {
  const dir = await tempDir(t);
  const path = await regularFile(dir, 'a');
  const syncs: Promise<unknown>[] = [];
  const cache = new FdCache([path], 4, (s) => syncs.push(s), 32);
  await write(cache, 0, 16, 0);
  assert.equal(syncs.length, 0, '16 of 32 bytes: no sync yet');
  await write(cache, 0, 16, 16);
  assert.equal(syncs.length, 1, '32 bytes: one sync');
  // Written while that sync runs: no second sync until it is done, then one for these bytes.
  await write(cache, 0, 32, 32);
  assert.equal(syncs.length, 1, 'one writeback at a time');
  await syncs[0];
  await new Promise((r) => setImmediate(r));
  assert.equal(syncs.length, 2, 'the bytes written meanwhile get their own writeback');
  await cache.closeAll();
  const bytes = await readFile(path);
  assert.deepEqual([...bytes.subarray(0, 64)], new Array(64).fill(7));
});

test('writeback: reads do not count, and threshold 0 never syncs in the background', async (t) => {
  const dir = await tempDir(t);
  const path = await regularFile(dir, 'a', 4096);
  const syncs: Promise<unknown>[] = [];
  const off = new FdCache([path], 4, (s) => syncs.push(s), 0);
  for (let k = 0; k < 8; k++) await write(off, 0, 512, k * 512);
  await off.closeAll();
  const on = new FdCache([path], 4, (s) => syncs.push(s), 16);
  for (let k = 0; k < 8; k++) await on.use(0, 0, (h) => h.read(new Uint8Array(512), 0, 512, k * 512));
  await on.closeAll();
  assert.equal(syncs.length, 0);
});

test('writeback syncs the file with the most unsynced bytes', async (t) => {
  for (const dirtier of ['fifo', 'regular'] as const) {
    const dir = await tempDir(t);
    const paths = [fifo(dir, 'pipe'), await regularFile(dir, 'r')];
    const syncs: Promise<unknown>[] = [];
    const cache = new FdCache(paths, 4, (s) => syncs.push(s), 24);
    const [pipeBytes, fileBytes] = dirtier === 'fifo' ? [16, 8] : [8, 16];
    await write(cache, 0, pipeBytes, null);
    await write(cache, 1, fileBytes, 0);
    assert.equal(syncs.length, 1);
    const [outcome] = await Promise.allSettled(syncs);
    // A FIFO cannot be synced: the writeback of the FIFO fails, that of the regular file succeeds.
    assert.equal(outcome!.status, dirtier === 'fifo' ? 'rejected' : 'fulfilled', dirtier);
    await cache.closeAll().catch(() => {}); // the FIFO's final sync fails: that is not under test here
  }
});

test('a failed writeback is reported by the next flush', async (t) => {
  const dir = await tempDir(t);
  const syncs: Promise<unknown>[] = [];
  const cache = new FdCache([fifo(dir, 'pipe')], 4, (s) => syncs.push(s), 8);
  await write(cache, 0, 8, null);
  assert.equal(syncs.length, 1);
  await assert.rejects(syncs[0]!, 'the writeback itself failed');
  await assert.rejects(cache.flush(), (e) => e instanceof StorageError && /cannot flush/.test(e.message));
  await cache.closeAll().catch(() => {});
});

test('closeAll after background writebacks: every write is on disk and nothing fails', async (t) => {
  const dir = await tempDir(t);
  const path = await regularFile(dir, 'a', 1 << 20);
  const syncs: Promise<unknown>[] = [];
  const cache = new FdCache([path], 4, (s) => syncs.push(s), 256 * 1024);
  for (let k = 0; k < 4; k++) await write(cache, 0, 256 * 1024, k * 256 * 1024, k + 1);
  assert.ok(syncs.length >= 1);
  await cache.closeAll();
  await Promise.all(syncs);
  const bytes = await readFile(path);
  for (let k = 0; k < 4; k++) assert.equal(bytes[k * 256 * 1024], k + 1);
});

test('a write to a file that failed to open does not count towards writeback', async (t) => {
  const dir = await tempDir(t);
  const syncs: Promise<unknown>[] = [];
  const cache = new FdCache(
    [join(dir, 'missing'), await regularFile(dir, 'a')],
    4,
    (s) => syncs.push(s),
    100,
  );
  await assert.rejects(write(cache, 0, 60, 0));
  await write(cache, 1, 50, 0);
  assert.equal(syncs.length, 0, '50 unsynced bytes, not 110');
  await write(cache, 1, 50, 50);
  assert.equal(syncs.length, 1);
  await cache.closeAll();
});

test('flush() settles only once a running writeback has', async (t) => {
  const dir = await tempDir(t);
  const path = await regularFile(dir, 'a', 1 << 20);
  const syncs: Promise<unknown>[] = [];
  const cache = new FdCache([path], 4, (s) => syncs.push(s), 512 * 1024);
  await write(cache, 0, 512 * 1024, 0);
  assert.equal(syncs.length, 1, 'a writeback is running');
  let writebackSettled = false;
  void syncs[0]!.then(() => {
    writebackSettled = true;
  });
  await write(cache, 0, 16, 512 * 1024); // gives flush() a sync of its own to make
  await cache.flush();
  assert.equal(writebackSettled, true);
  await cache.closeAll();
});
