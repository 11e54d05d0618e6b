/**
 * The .torrent made from a magnet's fetched metadata: the info dictionary's bytes kept exactly
 * (unsorted keys too), so the info-hash is the magnet's; the magnet's trackers as announce and
 * one tier each; a mismatch (of the btih, or of a btmh) or an invalid info dictionary is a
 * MetainfoError.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import { MetainfoError } from '../../../src/metainfo/metainfo-error.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { torrentFileFromMetadata, torrentFromMetadata } from '../../../src/metainfo/torrent-from-metadata.js';

// Keys deliberately out of order (`pieces` before `piece length`): real info dicts have them.
const INFO = Buffer.concat([
  Buffer.from('d6:lengthi5e4:name5:a.bin6:pieces20:'),
  Buffer.alloc(20, 1),
  Buffer.from('12:piece lengthi16384ee'),
]);
const HASH = createHash('sha1').update(INFO).digest('hex');

test('the info bytes are kept as received, the trackers become announce and tiers', () => {
  const trackers = ['http://127.0.0.1:1/announce', 'udp://127.0.0.1:2'];
  const t = torrentFromMetadata(INFO, { trackers, infoHashHex: HASH });
  assert.equal(t.infoHashHex, HASH);
  assert.equal(t.name, 'a.bin');
  assert.equal(t.announce, trackers[0]);
  assert.deepEqual(t.announceList, [[trackers[0]], [trackers[1]]]);
  assert.deepEqual(Buffer.from(t.infoBytes), INFO);
  const bytes = Buffer.from(torrentFileFromMetadata(INFO, { trackers: [] })).toString('latin1');
  assert.equal(bytes, `d4:info${INFO.toString('latin1')}e`);
  assert.equal(torrentFromMetadata(INFO, { trackers: [], infoHashHex: HASH }).announceList.length, 0);
});

test('another info-hash, or an info dictionary that is not a valid one, is a MetainfoError', () => {
  assert.throws(
    () => torrentFromMetadata(INFO, { trackers: [], infoHashHex: '0'.repeat(40) }),
    MetainfoError,
  );
  const bad = Buffer.from('d4:name5:a.bine');
  assert.throws(
    () =>
      torrentFromMetadata(bad, { trackers: [], infoHashHex: createHash('sha1').update(bad).digest('hex') }),
    MetainfoError,
  );
});

test("the magnet's ws= web seeds become the url-list, after info (byte order), so a download fetches from them", () => {
  const webSeeds = ['http://127.0.0.1:1/a.bin', 'https://h/'];
  const t = torrentFromMetadata(INFO, { trackers: [], infoHashHex: HASH, webSeeds });
  assert.deepEqual(t.urlList, webSeeds);
  assert.equal(t.infoHashHex, HASH);
  const bytes = Buffer.from(torrentFileFromMetadata(INFO, { trackers: [], webSeeds })).toString('latin1');
  assert.equal(bytes, `d4:info${INFO.toString('latin1')}8:url-listl24:${webSeeds[0]}10:${webSeeds[1]}ee`);
});

test('with a urn:btmh: the metadata must be its v2 info-hash too; a v2 magnet may name a hybrid, used as its v1 swarm', async () => {
  const hybrid = parseTorrent(
    await readFile(new URL('../../fixtures/torrents/ok--libtorrent-hybrid-padding.torrent', import.meta.url)),
  );
  const v1 = hybrid.infoHashHex;
  const v2 = Buffer.from(hybrid.infoHashV2!).toString('hex');
  // btih and btmh: both must match.
  const both = torrentFromMetadata(
    hybrid.infoBytes,
    parseMagnet(`magnet:?xt=urn:btih:${v1}&xt=urn:btmh:1220${v2}`),
  );
  assert.equal(both.infoHashHex, v1);
  assert.throws(
    () =>
      torrentFromMetadata(
        hybrid.infoBytes,
        parseMagnet(`magnet:?xt=urn:btih:${v1}&xt=urn:btmh:1220${'0'.repeat(64)}`),
      ),
    MetainfoError,
  );
  // btmh alone, and the metadata is a hybrid's: its v1 swarm, as any hybrid.
  const alone = torrentFromMetadata(hybrid.infoBytes, parseMagnet(`magnet:?xt=urn:btmh:1220${v2}`));
  assert.equal(alone.version, 'hybrid');
  assert.equal(alone.infoHashHex, v1);
  assert.throws(
    () => torrentFromMetadata(hybrid.infoBytes, parseMagnet(`magnet:?xt=urn:btmh:1220${'1'.repeat(64)}`)),
    MetainfoError,
  );
});
