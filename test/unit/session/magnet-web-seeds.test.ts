/**
 * A magnet's ws= web seeds (BEP 19) when an earlier run already saved the torrent in
 * DIR/.bitstate/<info-hash>.torrent: the download uses the saved url-list and the new magnet's
 * ws= together. Real HTTP servers on 127.0.0.1; no peer, no tracker, no DHT: only the web seeds.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { MAX_WEB_SEEDS } from '../../../src/metainfo/limits.js';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { downloadMagnet, mergeWebSeeds, savedTorrentPath } from '../../../src/session/download-magnet.js';
import { within } from '../../helpers/session.js';
import { sameBytes, singleFile, WEB_SEED_PIECE } from '../../helpers/web-seed-files.js';
import { startWebSeedServer } from '../../helpers/web-seed-server.js';

test("a saved torrent's url-list and a later magnet's other ws= are used together", async (t) => {
  const f = await singleFile(t, 2 * 1024 * 1024);
  // The first run's web seed has lost the file since; the new magnet names one that has it.
  const gone = await startWebSeedServer(t, f.www, (_req, res) => {
    res.writeHead(404).end();
    return true;
  });
  const live = await startWebSeedServer(t, f.www);
  const saved = await createTorrent(join(f.www, 'p.bin'), {
    pieceLength: WEB_SEED_PIECE,
    urlList: [`${gone.url}/p.bin`],
  });
  const { infoHashHex } = parseTorrent(saved);
  const path = savedTorrentPath(f.out, infoHashHex);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, saved);
  const magnet = parseMagnet(
    `magnet:?xt=urn:btih:${infoHashHex}&ws=${encodeURIComponent(`${live.url}/p.bin`)}`,
  );
  const job = downloadMagnet(magnet, { out: f.out, trackers: false, listen: false, stallTimeoutMs: 5_000 });
  const events: DownloadEvent[] = [];
  job.events$.subscribe((e) => events.push(e));
  t.after(() => job.stop());
  const result = await within(60_000, job.done, 'download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  await sameBytes(join(f.out, 'p.bin'), f.payload);
  assert.ok(live.requests.length > 0, "the new magnet's web seed was asked");
  assert.ok(gone.requests.length > 0, "the saved torrent's web seed was asked too");
  assert.ok(events.some((e) => e.type === 'peer.connected' && e.address === `${live.url}/p.bin`));
});

test("a later magnet's ws= come first, so a saved url-list already at its limit does not cut them off", () => {
  const saved = Array.from({ length: MAX_WEB_SEEDS }, (_, i) => `http://127.0.0.1:1/${i}`);
  const merged = mergeWebSeeds(saved, ['http://127.0.0.1:2/new', saved[5]!]);
  assert.equal(merged.length, MAX_WEB_SEEDS);
  assert.deepEqual(merged.slice(0, 2), ['http://127.0.0.1:2/new', saved[5]]);
  assert.equal(new Set(merged).size, MAX_WEB_SEEDS);
  // Nothing new: the saved list as it was (the same array).
  assert.equal(mergeWebSeeds(saved, [saved[0]!]), saved);
});
