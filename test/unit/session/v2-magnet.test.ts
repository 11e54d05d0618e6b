/**
 * A v2 magnet link (`urn:btmh:` alone, BEP 52): the info dictionary fetched by BEP 9 over the v2
 * swarm (the SHA-256's first 20 bytes), then the piece layers it lacks fetched with hash requests
 * over the same connections, each answer checked against its file's `pieces root`. Against a real
 * bitstate seeder of a v2 torrent (a file of 520 pieces: two runs of hashes; a small file; an empty
 * one), and against scripted peers (test/helpers/metadata-peer.ts) one of which forges hashes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import { merkleHashes, rootKey } from '../../../src/metainfo/merkle-proof.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { pieceLayerTrees } from '../../../src/metainfo/piece-layer-trees.js';
import type { Torrent } from '../../../src/metainfo/torrent.js';
import type { DownloadEvent, MetadataFetchEvent } from '../../../src/session/download-event.js';
import { downloadMagnet, savedTorrentPath } from '../../../src/session/download-magnet.js';
import { fetchMetadataAndLayers, MetadataFetchError } from '../../../src/session/fetch-metadata.js';
import type { HashRange } from '../../../src/wire/messages.js';
import { startMetadataPeer } from '../../helpers/metadata-peer.js';
import { listeningSeeder, tempDir, within } from '../../helpers/session.js';

const PIECE = 16 * 1024;
const peerId = new Uint8Array(20).fill(0x62);

/** DIR/data/v2dir: big.bin (520 pieces), small.txt, empty; its v2 torrent. */
async function v2Folder(
  dir: string,
): Promise<{ data: string; torrent: Torrent; bytes: Buffer; info: Uint8Array }> {
  const data = join(dir, 'data');
  await mkdir(join(data, 'v2dir'), { recursive: true });
  const bytes = randomBytes(519 * PIECE + 1234);
  await writeFile(join(data, 'v2dir', 'big.bin'), bytes);
  await writeFile(join(data, 'v2dir', 'small.txt'), 'a small file\n');
  await writeFile(join(data, 'v2dir', 'empty'), '');
  const file = await createTorrent(join(data, 'v2dir'), { format: 'v2', pieceLength: PIECE });
  const torrent = parseTorrent(file);
  return { data, torrent, bytes, info: torrent.infoBytes };
}

const v2Link = (t: Torrent, ports: readonly number[]) =>
  `magnet:?xt=urn:btmh:1220${Buffer.from(t.infoHashV2!).toString('hex')}${ports.map((p) => `&x.pe=127.0.0.1:${p}`).join('')}`;

/** The right answer to `range` from the torrent's own trees. */
function rightHashes(torrent: Torrent, range: HashRange): Uint8Array {
  const tree = pieceLayerTrees(torrent)!.files.get(rootKey(range.piecesRoot))!;
  return merkleHashes(tree, range);
}

test('a urn:btmh: magnet downloads a v2 torrent from a bitstate seeder, piece layers fetched, saved, and not fetched again', async (t) => {
  const dir = await tempDir(t);
  const { data, torrent, bytes } = await v2Folder(dir);
  const port = await listeningSeeder(t, torrent, data);
  const out = join(dir, 'out');
  const magnet = parseMagnet(v2Link(torrent, [port]));
  const run = async () => {
    const job = downloadMagnet(magnet, { out, trackers: false, listen: false, peerId });
    const events: DownloadEvent[] = [];
    job.events$.subscribe((e) => events.push(e));
    t.after(() => job.stop());
    const result = await within(60_000, job.done, 'download');
    assert.equal(result.result, 'complete', JSON.stringify(result));
    return events;
  };
  const first = await run();
  assert.deepEqual(await readFile(join(out, 'v2dir', 'big.bin')), bytes);
  assert.equal(await readFile(join(out, 'v2dir', 'small.txt'), 'utf8'), 'a small file\n');
  assert.equal((await readFile(join(out, 'v2dir', 'empty'))).length, 0);
  const fetched = first.find((e) => e.type === 'metadata.fetched');
  assert.equal(fetched?.type === 'metadata.fetched' && fetched.pieceLayerHashes, 520);
  // The saved .torrent has the piece layers: it parses as the seeder's torrent does.
  const saved = parseTorrent(await readFile(savedTorrentPath(out, magnet.infoHashHex)));
  assert.equal(saved.version, 'v2');
  assert.deepEqual(Buffer.from(saved.infoHashV2!), Buffer.from(torrent.infoHashV2!));
  assert.deepEqual(Buffer.from(saved.pieces), Buffer.from(torrent.pieces));
  // A second run takes it: nothing fetched.
  const second = await run();
  assert.ok(!second.some((e) => e.type === 'metadata.fetching'), 'the saved torrent is used');
});

test('a peer whose hashes do not prove themselves is dropped and never asked again; another peer gives the layers', async (t) => {
  const dir = await tempDir(t);
  const { torrent, info } = await v2Folder(dir);
  const liar = await startMetadataPeer({
    infoHash: torrent.infoHash,
    info,
    hashes: (range) => {
      const forged = Uint8Array.from(rightHashes(torrent, range));
      forged[5]! ^= 1;
      return forged;
    },
  });
  t.after(() => liar.close());
  // Offers nothing until the liar is dropped: the liar is asked first, alone.
  const honest = await startMetadataPeer({
    infoHash: torrent.infoHash,
    info,
    holdHandshake: true,
    hashes: (range) => rightHashes(torrent, range),
  });
  t.after(() => honest.close());
  const events: MetadataFetchEvent[] = [];
  const fetched = await within(
    60_000,
    fetchMetadataAndLayers(parseMagnet(v2Link(torrent, [liar.port, honest.port])), {
      peerId,
      trackers: false,
      emit: (e) => {
        if (e.type.startsWith('metadata.')) events.push(e as MetadataFetchEvent);
        if (e.type === 'metadata.peerDropped') honest.release();
      },
    }),
    'fetch',
  );
  assert.ok(
    events.some(
      (e) =>
        e.type === 'metadata.peerDropped' &&
        e.address === `127.0.0.1:${liar.port}` &&
        e.reason === 'badHashes',
    ),
    JSON.stringify(events),
  );
  assert.equal(liar.hashRequests.length > 0, true);
  // BEP 52's reserved bit on a v2 magnet's connections (libtorrent's current source takes an
  // accepted connection as v2 only with it).
  assert.equal((honest.reserved[0]![7]! & 0x10) !== 0, true);
  assert.ok(honest.hashRequests.length >= 2, 'the honest peer was asked both runs');
  // Each run as libtorrent asks it: the piece layer (height 0 for 16 KiB pieces), 512 at a time.
  assert.deepEqual(honest.hashRequests.map((r) => [r.baseLayer, r.index, r.length, r.proofLayers]).sort(), [
    [0, 0, 512, 9],
    [0, 512, 8, 9],
  ]);
  assert.equal(fetched.pieceLayers.length, 1);
  assert.deepEqual(
    Buffer.from(fetched.pieceLayers[0]!.layer),
    Buffer.from(torrent.pieces.subarray(0, 520 * 32)),
  );
});

test('with only a peer that forges hashes, the fetch ends at its time limit and says why', async (t) => {
  const dir = await tempDir(t);
  const { torrent, info } = await v2Folder(dir);
  const liar = await startMetadataPeer({
    infoHash: torrent.infoHash,
    info,
    hashes: (range) => new Uint8Array(rightHashes(torrent, range).length).fill(7),
  });
  t.after(() => liar.close());
  const err = await within(
    60_000,
    fetchMetadataAndLayers(parseMagnet(v2Link(torrent, [liar.port])), {
      peerId,
      trackers: false,
      timeoutMs: 2_000,
    }).then(
      () => undefined,
      (e: unknown) => e,
    ),
    'fetch',
  );
  assert.ok(err instanceof MetadataFetchError && err.code === 'timedOut', String(err));
  assert.match(err.message, /0 of 520 piece layer hashes, 1 answer failed its pieces root/);
});
