import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { percentEncodeBytes, scrapeUrl } from '../../../src/tracker/announce-url.js';

test('percent-encoding keeps only unreserved bytes and round-trips every byte', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const s = percentEncodeBytes(all);
  assert.match(s, /^(?:[A-Za-z0-9\-._~]|%[0-9A-F]{2})+$/);
  assert.equal(s.replace(/%[0-9A-F]{2}/g, '').length, 66, '26+26+10+4 unreserved bytes stay literal');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      assert.deepEqual(new Uint8Array(Buffer.from(unescape(percentEncodeBytes(b)), 'latin1')), b);
    }),
  );
});

test('scrape URL per the announce → scrape convention', () => {
  assert.equal(scrapeUrl('http://t.example/announce'), 'http://t.example/scrape');
  assert.equal(scrapeUrl('http://t.example/x/announce.php?k=1'), 'http://t.example/x/scrape.php?k=1');
  assert.equal(scrapeUrl('http://t.example/a'), undefined);
  assert.equal(scrapeUrl('http://t.example/announce/x'), undefined);
});
