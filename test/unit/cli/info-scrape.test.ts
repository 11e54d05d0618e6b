/**
 * `bitstate info --scrape` as the user runs it: a torrent with an HTTP tracker, a UDP tracker and
 * a dead one (local servers on 127.0.0.1). Seeders/leechers/completed per tracker, the dead one
 * with its error, exit 0; `--json` carries the same as `scrape: [...]`; without --scrape nothing
 * is asked.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { runCli } from '../../helpers/run-cli.js';
import { getFreePort } from '../../interop/harness/ports.js';
import { startFakeUdpTracker } from '../tracker/fake-udp-tracker.js';

test('info --scrape: seeders, leechers and completed per tracker; a dead tracker shows its error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-info-scrape-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const scrapes: string[] = [];
  const http = createServer((req, res) => {
    scrapes.push(req.url ?? '');
    // The raw 20 bytes of the %-encoded info_hash (URLSearchParams would decode them as UTF-8).
    const raw = /info_hash=([^&]*)/.exec(req.url ?? '')?.[1] ?? '';
    const hash = Buffer.from(
      raw.replace(/%([0-9A-F]{2})|([^%])/gi, (_m, hex: string, c: string) =>
        hex === undefined ? c : String.fromCharCode(Number.parseInt(hex, 16)),
      ),
      'latin1',
    );
    res.end(
      Buffer.concat([
        Buffer.from(`d5:filesd${hash.length}:`),
        hash,
        Buffer.from('d8:completei12e10:downloadedi56e10:incompletei34eeee'),
      ]),
    );
  });
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
  t.after(() => new Promise<void>((ok) => http.close(() => ok())));
  const udp = await startFakeUdpTracker({ peers: [] });
  t.after(() => udp.close());
  const deadPort = await getFreePort();

  const httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/announce`;
  const deadUrl = `http://127.0.0.1:${deadPort}/announce`;
  await writeFile(join(dir, 'payload.bin'), 'some bytes');
  const torrentBytes = await createTorrent(join(dir, 'payload.bin'), {
    announceList: [[httpUrl], [udp.url, deadUrl]],
  });
  const torrent = join(dir, 'payload.torrent');
  await writeFile(torrent, torrentBytes);

  const plain = await runCli(['info', torrent], { timeoutMs: 60_000 });
  assert.equal(plain.code, 0, plain.stderr);
  assert.doesNotMatch(plain.stdout, /scrape/);
  assert.equal(scrapes.length + udp.received.length, 0, 'no tracker asked without --scrape');

  const text = await runCli(['info', torrent, '--scrape'], { timeoutMs: 60_000 });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`  ${httpUrl}: 12 seeders, 34 leechers, 56 completed\\n`));
  assert.match(text.stdout, new RegExp(`  ${udp.url}: 5 seeders, 3 leechers, 9 completed\\n`));
  assert.match(text.stdout, new RegExp(`  ${deadUrl}: .*ECONNREFUSED`));
  assert.ok(scrapes[0]?.startsWith('/scrape?info_hash='), scrapes[0]);

  const json = await runCli(['info', torrent, '--scrape', '--json'], { timeoutMs: 60_000 });
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { scrape: Record<string, unknown>[] };
  assert.deepEqual(parsed.scrape.slice(0, 2), [
    { url: httpUrl, complete: 12, incomplete: 34, downloaded: 56 },
    { url: udp.url, complete: 5, incomplete: 3, downloaded: 9 },
  ]);
  assert.equal(parsed.scrape[2]?.url, deadUrl);
  assert.equal(typeof parsed.scrape[2]?.error, 'string');
});
