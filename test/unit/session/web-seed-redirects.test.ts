/**
 * A web seed's redirects remembered for the rest of the download (src/net/web-seed-redirects.ts):
 * real node:http servers on 127.0.0.1 — one that redirects, ones that hold the file — each counting
 * the requests it saw. The redirect is paid once, not per GET; a remembered target that fails is
 * forgotten and the file's own URL asked again, within the same GET (no failure, no back-off).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runDownload, sameBytes, singleFile } from '../../helpers/web-seed-files.js';
import { startWebSeedServer } from '../../helpers/web-seed-server.js';

test('a 302 is paid once: every later GET goes straight where it led (4 GETs in flight)', async (t) => {
  const f = await singleFile(t, 3 * 1024 * 1024);
  const real = await startWebSeedServer(t, f.www);
  const mover = await startWebSeedServer(t, f.www, (req, res) => {
    res.writeHead(302, { location: `${real.url}${req.url}` }).end();
    return true;
  });
  const torrent = { ...f.torrent, urlList: [`${mover.url}/p.bin`] };
  const { result, events } = await runDownload(t, torrent, f.out, { webSeedConnections: 4 });
  assert.equal(result.result, 'complete', JSON.stringify(result));
  await sameBytes(join(f.out, 'p.bin'), f.payload);
  assert.ok(real.requests.length > 1, `${real.requests.length} GETs of the file`);
  assert.equal(mover.requests.length, 1, 'the redirect was asked once');
  assert.equal(events.filter((e) => e.type === 'webSeed.failed').length, 0);
});

test('a remembered target that fails is forgotten: the file URL is asked again, and its new redirect kept', async (t) => {
  const f = await singleFile(t, 3 * 1024 * 1024);
  // The first mirror serves one GET, then has lost the file (a 404: a stale mirror).
  let firstGets = 0;
  const first = await startWebSeedServer(t, f.www, (_req, res) => {
    if (++firstGets === 1) return false;
    res.writeHead(404).end();
    return true;
  });
  const second = await startWebSeedServer(t, f.www);
  // The file's own URL redirects to the first mirror, and from its second request on to the second.
  let moves = 0;
  const mover = await startWebSeedServer(t, f.www, (req, res) => {
    const to = ++moves === 1 ? first : second;
    res.writeHead(307, { location: `${to.url}${req.url}` }).end();
    return true;
  });
  const torrent = { ...f.torrent, urlList: [`${mover.url}/p.bin`] };
  // One GET at a time: the order of what each server sees is the download's, not a race's.
  const { result, events } = await runDownload(t, torrent, f.out, { webSeedConnections: 1 });
  assert.equal(result.result, 'complete', JSON.stringify(result));
  await sameBytes(join(f.out, 'p.bin'), f.payload);
  assert.equal(mover.requests.length, 2, 'asked again once, after the mirror failed');
  assert.equal(first.requests.length, 2, 'the mirror: one GET served, one failed, then never asked');
  assert.ok(second.requests.length > 1, `${second.requests.length} GETs of the second mirror`);
  assert.equal(
    events.filter((e) => e.type === 'webSeed.failed').length,
    0,
    'no failure: the same GET went on',
  );
});

test('a remembered target whose body breaks off is forgotten: the seed, tried again, asks the file URL', async (t) => {
  const f = await singleFile(t, 3 * 1024 * 1024);
  // The first mirror serves one GET, breaks off the second mid-body, and has lost the file after.
  let firstGets = 0;
  const first = await startWebSeedServer(t, f.www, (req, res) => {
    firstGets++;
    if (firstGets === 1) return false;
    if (firstGets > 2) {
      res.writeHead(404).end();
      return true;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!;
    res.writeHead(206, {
      'content-range': `bytes ${m[1]}-${m[2]}/${f.payload.length}`,
      'content-length': Number(m[2]) - Number(m[1]) + 1,
    });
    res.write(Buffer.alloc(1000), () => res.destroy());
    return true;
  });
  const second = await startWebSeedServer(t, f.www);
  let moves = 0;
  const mover = await startWebSeedServer(t, f.www, (req, res) => {
    const to = ++moves === 1 ? first : second;
    res.writeHead(307, { location: `${to.url}${req.url}` }).end();
    return true;
  });
  const torrent = { ...f.torrent, urlList: [`${mover.url}/p.bin`] };
  const { result, events } = await runDownload(t, torrent, f.out, {
    webSeedConnections: 1,
    webSeedRetryMs: 50,
  });
  assert.equal(result.result, 'complete', JSON.stringify(result));
  await sameBytes(join(f.out, 'p.bin'), f.payload);
  assert.equal(
    events.filter((e) => e.type === 'webSeed.failed').length,
    1,
    'the broken body failed the seed',
  );
  assert.equal(firstGets, 2, 'the broken mirror was not asked again');
  assert.equal(mover.requests.length, 2);
  assert.ok(second.requests.length > 1, `${second.requests.length} GETs of the second mirror`);
});
