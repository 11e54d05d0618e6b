/**
 * The tiers a session announces to (src/session/announce-tiers.ts, BEP 12): the torrent's own, then
 * `--tracker`'s (extraTrackers), each in a tier of its own in the order given, a URL the torrent
 * has already (compared as URLs) or given twice added once; none for a private torrent (BEP 27).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Torrent } from '../../../src/metainfo/torrent.js';
import { announceTiers, withExtraTrackers } from '../../../src/session/announce-tiers.js';

const torrent = (t: Partial<Pick<Torrent, 'announce' | 'announceList' | 'private'>>): Torrent =>
  ({ announce: undefined, announceList: [], private: false, ...t }) as unknown as Torrent;

test("extra trackers come after the torrent's tiers, each in a tier of its own, in order", () => {
  const t = torrent({
    announce: 'http://a.example/announce',
    announceList: [['http://a.example/announce', 'udp://b.example:80'], ['http://c.example/announce']],
  });
  assert.deepEqual(announceTiers(t, ['udp://x.example:6969/announce', 'https://y.example/announce']), [
    ['http://a.example/announce', 'udp://b.example:80'],
    ['http://c.example/announce'],
    ['udp://x.example:6969/announce'],
    ['https://y.example/announce'],
  ]);
});

test("a duplicate of the torrent's own tracker, or of an earlier extra one, is not added", () => {
  const t = torrent({ announce: 'http://a.example/announce' });
  assert.deepEqual(
    announceTiers(t, [
      'http://a.example/announce',
      'HTTP://A.EXAMPLE:80/announce', // the same URL, written otherwise
      'udp://x.example:6969',
      'udp://x.example:6969',
    ]),
    [['http://a.example/announce'], ['udp://x.example:6969']],
  );
});

test('a torrent with no tracker announces to the extra ones alone', () => {
  assert.deepEqual(announceTiers(torrent({}), ['http://127.0.0.1:1/announce']), [
    ['http://127.0.0.1:1/announce'],
  ]);
  assert.deepEqual(announceTiers(torrent({})), []);
});

test('a private torrent (BEP 27) gets no extra tracker', () => {
  const t = torrent({ announce: 'http://a.example/announce', private: true });
  assert.deepEqual(announceTiers(t, ['http://x.example/announce']), [['http://a.example/announce']]);
});

test('withExtraTrackers keeps only the URLs that can be announced to', () => {
  assert.deepEqual(withExtraTrackers([], ['wss://tracker.example', 'udp://x.example:1']), [
    ['udp://x.example:1'],
  ]);
});
