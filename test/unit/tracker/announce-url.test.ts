import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { announceUrl, percentEncodeBytes, scrapeUrl } from '../../../src/tracker/announce-url.js';

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

test('the event parameter: started, completed, stopped and BEP 21 paused named, a regular announce none', () => {
  const params = {
    infoHash: new Uint8Array(20),
    peerId: new Uint8Array(20).fill(0x41),
    port: 6881,
    uploaded: 0,
    downloaded: 0,
    left: 1000,
  };
  const eventOf = (url: string) => new URL(url).searchParams.getAll('event');
  for (const event of ['started', 'completed', 'stopped', 'paused'] as const)
    assert.deepEqual(eventOf(announceUrl('http://t.example/announce?pk=1', { ...params, event })), [event]);
  assert.deepEqual(eventOf(announceUrl('http://t.example/announce', { ...params, event: 'regular' })), []);
  // A partial seed's announce (BEP 21), as libtorrent 2.0.8 sends it: its left, then event=paused.
  assert.match(
    announceUrl('http://t.example/announce', { ...params, event: 'paused' }),
    /&left=1000&compact=1&event=paused$/,
  );
});
