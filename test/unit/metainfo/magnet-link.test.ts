/**
 * `magnetLink(torrent)` (make-magnet.ts): every torrent of the fixtures — v1, v2-only, hybrid, with
 * trackers and web seeds past the limits, names that need escaping — gives a link that parseMagnet
 * reads back as the same swarm, v2 info-hash, version, name, trackers and web seeds.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { MAX_TRACKERS } from '../../../src/metainfo/limits.js';
import { MAX_MAGNET_LENGTH, parseMagnet } from '../../../src/metainfo/magnet.js';
import { fittedMagnetLink, magnetLink } from '../../../src/metainfo/make-magnet.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import type { Torrent } from '../../../src/metainfo/torrent.js';

const SEEDS = new URL('../../fixtures/torrents/', import.meta.url);

/** What a link must carry of `t`, as parseMagnet gives it back. */
function assertLinks(t: Torrent, what: string): void {
  const link = magnetLink(t);
  assert.match(link, /^magnet:\?[\x21-\x7e]*$/, `${what}: printable ASCII, nothing to escape in a terminal`);
  const m = parseMagnet(link);
  assert.equal(m.infoHashHex, t.infoHashHex, what);
  assert.deepEqual(m.infoHashV2, t.infoHashV2, what);
  assert.equal(m.version, t.version, what);
  assert.equal(m.name, t.name === '' ? undefined : t.name, what);
  assert.deepEqual(m.trackers, [...new Set(t.announceList.flat())], what);
  assert.deepEqual(m.webSeeds, t.urlList, what);
  assert.equal(m.selectOnly, undefined, `${what}: no so=`);
}

test('every fixture torrent’s magnet link reads back as the same torrent (v1, v2, hybrid)', () => {
  const seen = new Set<string>();
  for (const f of readdirSync(SEEDS).filter((n) => n.startsWith('ok--'))) {
    const t = parseTorrent(new Uint8Array(readFileSync(new URL(f, SEEDS))));
    seen.add(t.version);
    assertLinks(t, f);
  }
  assert.deepEqual([...seen].sort(), ['hybrid', 'v1', 'v2']);
});

test('the link as libtorrent writes it: btih then btmh, dn, tr, ws, each value percent-encoded', () => {
  const v1 = parseTorrent(new Uint8Array(readFileSync(new URL('ok--mktorrent-tree.torrent', SEEDS))));
  const t: Torrent = {
    ...v1,
    version: 'hybrid',
    infoHashV2: new Uint8Array(32).fill(0xab),
    name: 'a b+c&d=é%',
    announceList: [['http://127.0.0.1:1/a?x=1&y=2', 'udp://127.0.0.1:2'], ['udp://127.0.0.1:2']],
    urlList: ['http://127.0.0.1:3/w s/'],
  };
  assert.equal(
    magnetLink(t),
    `magnet:?xt=urn:btih:${v1.infoHashHex}&xt=urn:btmh:1220${'ab'.repeat(32)}` +
      '&dn=a%20b%2Bc%26d%3D%C3%A9%25&tr=http%3A%2F%2F127.0.0.1%3A1%2Fa%3Fx%3D1%26y%3D2' +
      '&tr=udp%3A%2F%2F127.0.0.1%3A2&ws=http%3A%2F%2F127.0.0.1%3A3%2Fw%20s%2F',
  );
  assertLinks(t, 'escaped');
  // v2-only: its btmh alone (its swarm is the SHA-256 cut to 20 bytes).
  assert.doesNotMatch(magnetLink({ ...t, version: 'v2' }), /btih/);
});

// A link longer than MAX_MAGNET_LENGTH is one parseMagnet refuses: 256 tracker URLs of a few
// hundred characters are past it. The trackers, then the web seeds, are kept while they fit.

/** `n` distinct URLs of `length` characters each (before percent-encoding, which doubles ':' and '/'). */
const urls = (n: number, length: number, host: string) =>
  Array.from({ length: n }, (_, i) => `http://${host}${i}.example/${'a'.repeat(length)}`.slice(0, length));

test('256 long tracker URLs: the link stays within MAX_MAGNET_LENGTH, the last trackers and web seeds left out', () => {
  const v1 = parseTorrent(new Uint8Array(readFileSync(new URL('ok--mktorrent-tree.torrent', SEEDS))));
  const trackers = urls(MAX_TRACKERS, 400, 't');
  const t: Torrent = { ...v1, announceList: trackers.map((u) => [u]), urlList: urls(10, 300, 'w') };
  assert.ok(magnetLinkUnfitted(t).length > MAX_MAGNET_LENGTH, 'the whole link would be too long');
  const fitted = fittedMagnetLink(t);
  assert.ok(fitted.link.length <= MAX_MAGNET_LENGTH, `${fitted.link.length} characters`);
  assert.equal(fitted.link, magnetLink(t));
  const m = parseMagnet(fitted.link);
  assert.equal(m.infoHashHex, t.infoHashHex);
  assert.equal(m.name, t.name);
  assert.ok(m.trackers.length > 100 && m.trackers.length < MAX_TRACKERS, `${m.trackers.length} kept`);
  assert.deepEqual(m.trackers, trackers.slice(0, m.trackers.length), 'the first ones, in order');
  assert.equal(fitted.trackersLeftOut, MAX_TRACKERS - m.trackers.length);
  assert.deepEqual(m.webSeeds, [], 'the web seeds come after the trackers that did not fit');
  assert.equal(fitted.webSeedsLeftOut, 10);
  // Below the limit nothing is left out.
  const short: Torrent = { ...t, announceList: [trackers.slice(0, 10)] };
  assert.deepEqual(fittedMagnetLink(short), {
    link: magnetLinkUnfitted(short),
    trackersLeftOut: 0,
    webSeedsLeftOut: 0,
  });
});

/** The whole link, every tracker and web seed: as libtorrent's make_magnet_uri writes it. */
function magnetLinkUnfitted(t: Torrent): string {
  return fittedMagnetLink(t, Number.POSITIVE_INFINITY).link;
}
