/**
 * The checked-in fuzz/regression seeds in test/fixtures/torrents: `ok--<what>.torrent` must parse,
 * `<code>--<what>.torrent` must be rejected with that MetainfoError code. The property tests mutate
 * the `ok--` seeds too. A new limit or a new rejection gets a seed here.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { MAX_TRACKERS, MAX_WEB_SEEDS } from '../../../src/metainfo/limits.js';
import { MetainfoError } from '../../../src/metainfo/metainfo-error.js';
import { readTorrentFile } from '../../../src/metainfo/read-torrent-file.js';

const dir = new URL('../../fixtures/torrents/', import.meta.url);
const seeds = readdirSync(dir).filter((f) => f.endsWith('.torrent'));

test('there are seeds of both kinds', () => {
  assert.ok(seeds.filter((f) => f.startsWith('ok--')).length >= 3);
  assert.ok(seeds.filter((f) => !f.startsWith('ok--')).length >= 10);
});

for (const seed of seeds) {
  const expected = seed.split('--')[0]!;
  test(`${seed}: ${expected === 'ok' ? 'parses' : `rejected as ${expected}`}`, async () => {
    const path = new URL(seed, dir).pathname;
    if (expected === 'ok') {
      const t = await readTorrentFile(path);
      assert.equal(t.infoHashHex.length, 40);
      assert.equal(Object.getPrototypeOf(t), Object.prototype);
      assert.equal((t as unknown as { polluted?: unknown }).polluted, undefined);
      return;
    }
    await assert.rejects(readTorrentFile(path), (err: unknown) => {
      assert.ok(err instanceof MetainfoError, String(err));
      assert.equal(err.code, expected, err.message);
      return true;
    });
  });
}

test('ok--trackers-past-limit.torrent: the first MAX_TRACKERS distinct URLs kept, the 44 distinct past them counted', async () => {
  // 300 distinct tracker URLs, six of them twice (in the first tiers: not counted).
  const t = await readTorrentFile(new URL('ok--trackers-past-limit.torrent', dir).pathname);
  assert.equal(new Set(t.announceList.flat()).size, MAX_TRACKERS);
  assert.equal(t.announceList.flat().length, MAX_TRACKERS);
  assert.equal(t.ignoredTrackers, 300 - MAX_TRACKERS);
});

test('ok--web-seeds-past-limit.torrent: the first MAX_WEB_SEEDS distinct web seeds kept, the 44 distinct past them counted', async () => {
  // 300 distinct web seeds; three repeated before the limit, one kept and one dropped repeated after.
  const t = await readTorrentFile(new URL('ok--web-seeds-past-limit.torrent', dir).pathname);
  assert.equal(new Set(t.urlList).size, MAX_WEB_SEEDS);
  assert.equal(t.urlList.length, MAX_WEB_SEEDS);
  assert.equal(t.ignoredWebSeeds, 300 - MAX_WEB_SEEDS);
});
