/**
 * The checked-in fuzz/regression seeds in test/fixtures/torrents: `ok--<what>.torrent` must parse,
 * `<code>--<what>.torrent` must be rejected with that MetainfoError code. The property tests mutate
 * the `ok--` seeds too. A new limit or a new rejection gets a seed here.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
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
