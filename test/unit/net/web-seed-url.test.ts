/**
 * BEP 19's URLs and ranges (src/net/web-seed-url.ts): where each file is on a web seed, and which
 * HTTP ranges a run of the payload is, with exact strings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryAfter } from '../../../src/net/web-seed-get.js';
import { isWebSeedUrl, webSeedFileUrl, webSeedRanges } from '../../../src/net/web-seed-url.js';
import { FileMap } from '../../../src/storage/file-map.js';
import { makeTorrent } from '../storage/make-torrent.js';

test('single-file: the URL itself, or URL + name when it ends in /', () => {
  const t = { name: 'big file#1.iso', multiFile: false };
  const f = { path: ['big file#1.iso'] };
  assert.equal(webSeedFileUrl('http://h/pub/x.iso', t, f), 'http://h/pub/x.iso');
  assert.equal(webSeedFileUrl('http://h/pub/', t, f), 'http://h/pub/big%20file%231.iso');
});

test('multi-file: URL / name / path, each component percent-encoded (/, ?, #, %, space, UTF-8)', () => {
  const t = { name: 'My Album', multiFile: true };
  assert.equal(
    webSeedFileUrl('http://h/pub', t, { path: ['CD 1', 'a?b#c%d/e.flac'] }),
    'http://h/pub/My%20Album/CD%201/a%3Fb%23c%25d%2Fe.flac',
  );
  assert.equal(
    webSeedFileUrl('https://h/pub/', t, { path: ['é.txt'] }),
    'https://h/pub/My%20Album/%C3%A9.txt',
  );
  // libtorrent's unreserved set stays as it is.
  assert.equal(webSeedFileUrl('http://h/', t, { path: ["-_.!~*'()"] }), "http://h/My%20Album/-_.!~*'()");
  // A file renamed on disk for a case collision is fetched by the name the torrent gives it.
  assert.equal(
    webSeedFileUrl('http://h/', t, { path: ['readme.1'], renamedFrom: ['README'] }),
    'http://h/My%20Album/README',
  );
});

test('ranges: a run straddling files is one range per file; padding is zeros; empty files skipped', () => {
  const specs = [
    { path: ['a'], length: 10 },
    { path: ['empty'], length: 0 },
    { path: ['.pad', '6'], length: 6, padding: true },
    { path: ['b c'], length: 40 },
  ];
  const t = makeTorrent('d', specs, 16, new Uint8Array(56), true);
  const ranges = webSeedRanges('http://h/s', t, FileMap.of(t).segments(4, 30));
  assert.deepEqual(ranges, [
    { kind: 'http', url: 'http://h/s/d/a', fileIndex: 0, start: 4, length: 6, fileLength: 10 },
    { kind: 'zeros', length: 6 },
    { kind: 'http', url: 'http://h/s/d/b%20c', fileIndex: 3, start: 0, length: 18, fileLength: 40 },
  ]);
});

test('only http: and https: web seeds are used', () => {
  assert.ok(isWebSeedUrl('http://example.org/x'));
  assert.ok(isWebSeedUrl('https://[::1]:8443/x/'));
  for (const u of ['ftp://example.org/x', 'file:///etc/passwd', 'not a url', '', 'javascript:alert(1)'])
    assert.equal(isWebSeedUrl(u), false, u);
});

test('Retry-After: seconds or an HTTP date, capped at an hour; anything else ignored', () => {
  assert.equal(retryAfter('120'), 120_000);
  assert.equal(retryAfter(' 0 '), 0);
  assert.equal(retryAfter('99999999'), 3_600_000);
  const now = Date.parse('Sun, 06 Dec 2026 23:00:00 GMT');
  assert.equal(retryAfter('Sun, 06 Dec 2026 23:01:30 GMT', now), 90_000);
  assert.equal(retryAfter('Sun, 06 Dec 2026 22:00:00 GMT', now), 0);
  assert.equal(retryAfter('soon'), undefined);
  assert.equal(retryAfter('-5'), undefined);
  assert.equal(retryAfter(undefined), undefined);
});
