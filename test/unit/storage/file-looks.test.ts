/**
 * FileLooks (src/storage/file-looks.ts): a look at a file stays current until the store's next
 * change of it starts, and a look taken while a change is in flight is not current once it ends —
 * so a resume save looks again at a file whose write was still running during the last look.
 */
import assert from 'node:assert/strict';
import { lstat } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FileLooks } from '../../../src/storage/file-looks.js';
import { StorageError } from '../../../src/storage/storage-error.js';

const someStats = () => lstat(fileURLToPath(import.meta.url), { bigint: true });

test('a look stays current until the next change of the file starts; never looked at is not current', async () => {
  const looks = new FileLooks(2);
  assert.equal(looks.current(0), false, 'never looked at');
  const st = await someStats();
  looks.seen(0, looks.count(0), st);
  assert.equal(looks.current(0), true);
  assert.deepEqual(looks.stamp(0), [Number(st.size), st.mtimeNs.toString()]);
  assert.equal(looks.current(1), false, 'another file');
  let release = () => {};
  const change = looks.changing(0, () => new Promise<void>((r) => (release = r)));
  assert.equal(looks.current(0), false, 'a change started');
  release();
  await change;
  assert.equal(looks.current(0), false);
});

test('a look taken while a change is in flight is not current once the change ends, even if it fails', async () => {
  const looks = new FileLooks(1);
  for (const fails of [false, true]) {
    let settle = () => {};
    const change = looks.changing(
      0,
      () =>
        new Promise<void>((resolve, reject) => {
          settle = fails ? () => reject(new Error('EIO')) : resolve;
        }),
    );
    const count = looks.count(0); // the look starts: read before its lstat
    looks.seen(0, count, await someStats());
    assert.equal(looks.current(0), true, 'current while the change runs: nothing of it is known yet');
    settle();
    await change.catch(() => {});
    assert.equal(looks.current(0), false, `the change ended after the look (fails: ${fails})`);
  }
});

test("identify: the first file seen is the store's; another device or inode is a replacement, unless inode numbers are not stable", async () => {
  const st = await someStats();
  const other = await lstat(fileURLToPath(new URL('./make-torrent.ts', import.meta.url)), { bigint: true });
  const looks = new FileLooks(1);
  looks.identify(0, st, 'f');
  looks.identify(0, st, 'f');
  assert.throws(
    () => looks.identify(0, other, 'f'),
    (e) => e instanceof StorageError && e.code === 'fileRemoved',
  );
  const loose = new FileLooks(1, false);
  loose.identify(0, st, 'f');
  loose.identify(0, other, 'f');
});
