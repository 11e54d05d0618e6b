/**
 * A hybrid (BEP 52) fetched by a `urn:btmh:` magnet link: its info dictionary has every file's
 * `pieces root` but not the piece layers. The download starts with the metadata and fetches the
 * layers from its peer over the v2-swarm connection (src/session/hybrid-piece-layers.ts,
 * machines/torrent-piece-layers.ts), each answer proved to its file's root, and saves them in the
 * .torrent under DIR/.bitstate/ — the same .torrent a hybrid made with them parses to. The peer is
 * scripted (test/helpers/metadata-peer.ts): it gives the metadata and answers hash requests, and
 * has no piece to give, so the layers come while the download is still under way.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { firstValueFrom } from 'rxjs';
import { filter } from 'rxjs/operators';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import { merkleHashes, rootKey } from '../../../src/metainfo/merkle-proof.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { pieceLayerTrees } from '../../../src/metainfo/piece-layer-trees.js';
import { downloadMagnet, savedTorrentPath } from '../../../src/session/download-magnet.js';
import { startMetadataPeer } from '../../helpers/metadata-peer.js';
import { tempDir, within } from '../../helpers/session.js';

const PIECE = 16 * 1024;

test('a hybrid from a urn:btmh: magnet fetches its piece layers from its v2 peer as it downloads, and saves them', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'data', 'hy'), { recursive: true });
  await writeFile(join(dir, 'data', 'hy', 'big.bin'), randomBytes(519 * PIECE + 1234));
  await writeFile(join(dir, 'data', 'hy', 'small.txt'), 'a small file\n');
  const made = parseTorrent(
    await createTorrent(join(dir, 'data', 'hy'), { format: 'hybrid', pieceLength: PIECE }),
  );
  assert.ok(made.version === 'hybrid' && made.pieceLayers !== undefined);
  const trees = pieceLayerTrees(made)!;
  const v2Swarm = made.infoHashV2!.subarray(0, 20);
  const peer = await startMetadataPeer({
    infoHash: v2Swarm,
    info: made.infoBytes,
    hashes: (range) => merkleHashes(trees.files.get(rootKey(range.piecesRoot))!, range),
  });
  t.after(() => peer.close());

  const magnet = parseMagnet(
    `magnet:?xt=urn:btmh:1220${Buffer.from(made.infoHashV2!).toString('hex')}&x.pe=127.0.0.1:${peer.port}`,
  );
  const out = join(dir, 'out');
  const job = downloadMagnet(magnet, { out, trackers: false, listen: false });
  t.after(() => job.stop());
  const fetched = await within(
    60_000,
    firstValueFrom(job.events$.pipe(filter((e) => e.type === 'metadata.layersFetched'))),
    'the piece layers',
  );
  assert.deepEqual(fetched, { type: 'metadata.layersFetched', hashes: 520 });
  // Asked as libtorrent asks: the piece layer (height 0 for 16 KiB pieces), 512 at a time.
  assert.deepEqual(peer.hashRequests.map((r) => [r.baseLayer, r.index, r.length, r.proofLayers]).sort(), [
    [0, 0, 512, 9],
    [0, 512, 8, 9],
  ]);
  // Saved: the .torrent now parses with the layers a hybrid made with them has.
  const saved = parseTorrent(await readFile(savedTorrentPath(out, magnet.infoHashHex)));
  assert.equal(saved.version, 'hybrid');
  assert.deepEqual(Buffer.from(saved.infoBytes), Buffer.from(made.infoBytes));
  assert.deepEqual(Buffer.from(saved.pieceLayers!), Buffer.from(made.pieceLayers));
  await job.stop();
});
