/** HTTP scrape (BEP 48): the response parser, the scrape URL and the request, and the dispatch by scheme. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { announceAny, trackerScheme } from '../../../src/tracker/announce-any.js';
import { httpScrape, parseScrapeResponse, scrape } from '../../../src/tracker/scrape.js';
import { TrackerError } from '../../../src/tracker/tracker-error.js';

const A = new Uint8Array(20).fill(0x41);
const B = new Uint8Array(20).fill(0x00);

function body(...parts: (string | Uint8Array)[]): Uint8Array {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
}

test('parseScrapeResponse: counts per info-hash in the order asked; an unlisted hash counts zero', () => {
  const r = parseScrapeResponse(
    body('d5:filesd20:', A, 'd8:completei3e10:downloadedi7e10:incompletei2eeee'),
    [B, A],
  );
  assert.deepEqual(r, [
    { complete: 0, incomplete: 0, downloaded: 0 },
    { complete: 3, incomplete: 2, downloaded: 7 },
  ]);
});

test('parseScrapeResponse: failure reason, garbage and wrong types are typed errors', () => {
  const codeOf = (b: Uint8Array) => {
    try {
      parseScrapeResponse(b, [A]);
    } catch (e) {
      assert.ok(e instanceof TrackerError);
      return e.code;
    }
    return 'none';
  };
  assert.equal(codeOf(body('d14:failure reason4:nopee')), 'failure');
  assert.equal(codeOf(body('not bencode')), 'badResponse');
  assert.equal(codeOf(body('le')), 'badResponse');
  assert.equal(codeOf(body('d5:filesi1ee')), 'badResponse');
  assert.equal(codeOf(body('d5:filesd20:', A, 'i1eee')), 'badResponse');
  assert.equal(codeOf(body('d5:filesd20:', A, 'd8:completei-1eeee')), 'badResponse');
});

test('httpScrape: GET <scrape URL>?passkey&info_hash=<raw bytes>; no scrape URL is noScrape', async (t) => {
  const urls: string[] = [];
  const server = createServer((req, res) => {
    urls.push(req.url ?? '');
    res.end(body('d5:filesd20:', A, 'd8:completei1e10:downloadedi2e10:incompletei3eeee'));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.after(() => new Promise<void>((ok) => server.close(() => ok())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  assert.deepEqual(await httpScrape(`${base}/x/announce.php?pk=1`, [A]), [
    { complete: 1, incomplete: 3, downloaded: 2 },
  ]);
  assert.deepEqual(urls, [`/x/scrape.php?pk=1&info_hash=${'A'.repeat(20)}`]);
  await assert.rejects(
    httpScrape(`${base}/tracker`, [A]),
    (e: unknown) => e instanceof TrackerError && e.code === 'noScrape',
  );
  assert.deepEqual(await scrape(`${base}/announce`, [A]), [{ complete: 1, incomplete: 3, downloaded: 2 }]);
});

test('announceAny / trackerScheme: http(s) and udp only', async () => {
  assert.equal(trackerScheme('HTTPS://t/announce'), 'http');
  assert.equal(trackerScheme('udp://t:1'), 'udp');
  assert.equal(trackerScheme('wss://t'), undefined);
  await assert.rejects(
    announceAny('wss://tracker.example', {
      infoHash: A,
      peerId: B,
      port: 1,
      uploaded: 0,
      downloaded: 0,
      left: 0,
      event: 'started',
    }),
    (e: unknown) => e instanceof TrackerError && e.code === 'badUrl',
  );
});

test('parseScrapeResponse: 1 MiB of tiny values is refused before it is built', () => {
  assert.throws(
    () => parseScrapeResponse(body('d5:filesd20:', A, 'l', 'le'.repeat(500_000), 'eee'), [A]),
    (e: unknown) =>
      e instanceof TrackerError &&
      e.code === 'badResponse' &&
      (e.cause as { code?: string }).code === 'bencode-tokens',
  );
});
