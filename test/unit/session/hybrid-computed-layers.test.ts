/**
 * A hybrid (BEP 52) whose piece layers no peer gives hashes them from its own data once complete
 * (src/session/computed-piece-layers.ts), as libtorrent does, and serves them: a v2 peer's hash
 * request is answered with `hashes` (before, rejected). On 127.0.0.1, real sessions:
 *
 * - fetched by a `urn:btih:` magnet link from a bitstate seed: the connection is a v1 one, on
 *   which no hash request is sent (libtorrent closes one that does), so no layer is fetched; once
 *   complete the download hashes them (`metadata.layersComputed`), saves them in the .torrent under
 *   DIR/.bitstate/ — the layers `bitstate create` made — and answers a v2 peer's hash request;
 * - a save that fails (its folder gone) is a warning, `metadata.layersNotSaved`, and the layers are
 *   served all the same — for layers hashed from the data and for fetched ones (before, swallowed:
 *   no event, and fetched layers were not served);
 * - a rerun of that magnet download whose first run exited before any layer came (complete data,
 *   the .torrent saved without them), and a `seed()` of a hybrid .torrent without them, hash and
 *   serve them too (the rerun saves them);
 * - a hybrid whose v1 hashes and v2 `pieces root` describe different data: the file passes its
 *   SHA-1s, so it is seeded to v1 peers, but `metadata.layersInconsistent` names it and a hash
 *   request for it is rejected — also once a v2 peer has given its layer (the torrent's, saved;
 *   before, served over data that does not hash to it).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FetchedLayer } from '../../../machines/metadata.machine.js';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import { merkleHashes, rootKey } from '../../../src/metainfo/merkle-proof.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { pieceLayerTrees } from '../../../src/metainfo/piece-layer-trees.js';
import type { Torrent } from '../../../src/metainfo/torrent.js';
import { torrentFileFromMetadata } from '../../../src/metainfo/torrent-from-metadata.js';
import { hybridPiecesRoots } from '../../../src/metainfo/v2-payload.js';
import type { DownloadJob } from '../../../src/session/download.js';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { downloadMagnet, savedTorrentPath } from '../../../src/session/download-magnet.js';
import { seed } from '../../../src/session/seed.js';
import { writeFileAtomic } from '../../../src/storage/resume-file.js';
import type { HashRange } from '../../../src/wire/messages.js';
import { hashRequestClient } from '../../helpers/hash-request-client.js';
import { startMetadataPeer } from '../../helpers/metadata-peer.js';
import { listeningSeeder, tempDir, within } from '../../helpers/session.js';

/** 32 KiB pieces: the piece layer is 1 above the 16 KiB leaves. */
const PIECE = 32 * 1024;
/** big.bin's pieces: its layer is 64 wide. */
const BIG_PIECES = 40;

/** Every event of `job`, and a wait for the first that `pick` takes (bounded). */
function watch(job: DownloadJob) {
  const events: DownloadEvent[] = [];
  const waiters: (() => void)[] = [];
  job.events$.subscribe((e) => {
    events.push(e);
    for (const w of waiters.splice(0)) w();
  });
  const next = <T extends DownloadEvent['type']>(type: T, what: string) =>
    within(
      30_000,
      new Promise<Extract<DownloadEvent, { type: T }>>((resolve) => {
        const look = () => {
          const e = events.find((x) => x.type === type);
          if (e === undefined) waiters.push(look);
          else resolve(e as Extract<DownloadEvent, { type: T }>);
        };
        look();
      }),
      what,
    );
  return { events, next };
}

/** `DIR/<at>/hy`: big.bin (BIG_PIECES pieces less a bit) and small.txt, and their hybrid. */
async function hybridAt(dir: string, at: string, big = randomBytes(BIG_PIECES * PIECE - 999)) {
  const data = join(dir, at);
  await mkdir(join(data, 'hy'), { recursive: true });
  await writeFile(join(data, 'hy', 'big.bin'), big);
  await writeFile(join(data, 'hy', 'small.txt'), 'a small file\n');
  const made = parseTorrent(await createTorrent(join(data, 'hy'), { format: 'hybrid', pieceLength: PIECE }));
  assert.ok(made.version === 'hybrid' && made.pieceLayers !== undefined);
  const bigIndex = made.files.findIndex((f) => f.path[0] === 'big.bin');
  return { data, made, big, bigIndex, root: hybridPiecesRoots(made)[bigIndex]! };
}

/** The hybrid as its info dictionary alone gives it (a magnet's metadata): no piece layers. */
function withoutLayers(t: Torrent): Torrent {
  const bare = parseTorrent(torrentFileFromMetadata(t.infoBytes, { trackers: [] }));
  assert.equal(bare.pieceLayers, undefined);
  return bare;
}

/** big.bin's whole piece layer, as libtorrent asks a file of 40 pieces: one run of 64, no uncles. */
const wholeLayer = (root: Uint8Array): HashRange => ({
  piecesRoot: root,
  baseLayer: 1,
  index: 0,
  length: 64,
  proofLayers: 0,
});

/** A v2 peer's hash request for big.bin's layer, answered with hashes: the made layer, then pads. */
async function assertLayerServed(
  t: Parameters<typeof tempDir>[0],
  port: number,
  made: Torrent,
  root: Uint8Array,
  bigIndex: number,
) {
  const client = await hashRequestClient(t, port, made.infoHashV2!.subarray(0, 20));
  const answer = await client.ask(wholeLayer(root));
  assert.equal(answer.type, 'hashes', 'the hash request answered');
  if (answer.type !== 'hashes') return;
  const first = made.files[bigIndex]!.offset / PIECE;
  assert.deepEqual(
    Buffer.from(answer.hashes.subarray(0, BIG_PIECES * 32)),
    Buffer.from(made.pieceLayers!.subarray(first * 32, (first + BIG_PIECES) * 32)),
  );
}

test('a hybrid fetched by btih magnet over v1 connections hashes its piece layers once complete, saves and serves them', async (t) => {
  const dir = await tempDir(t);
  const { data, made, root, bigIndex } = await hybridAt(dir, 'seed');
  const seedPort = await listeningSeeder(t, made, data);
  const magnet = parseMagnet(`magnet:?xt=urn:btih:${made.infoHashHex}&x.pe=127.0.0.1:${seedPort}`);
  const out = join(dir, 'out');
  const job = downloadMagnet(magnet, { out, trackers: false, port: 0, keepSeeding: true });
  t.after(() => job.stop());
  const { events, next } = watch(job);
  const listening = await next('listening', 'the download listening');
  const computed = await next('metadata.layersComputed', 'the layers hashed from the data');
  assert.deepEqual(computed, { type: 'metadata.layersComputed', files: 1, hashes: BIG_PIECES, saved: true });
  // Nothing came from the seed: a v1 connection is never asked.
  assert.ok(!events.some((e) => e.type === 'metadata.layersFetched'));
  // The .torrent under out/.bitstate/ now holds the layers bitstate create wrote.
  const saved = parseTorrent(await readFile(savedTorrentPath(out, magnet.infoHashHex)));
  assert.deepEqual(Buffer.from(saved.infoBytes), Buffer.from(made.infoBytes));
  assert.deepEqual(Buffer.from(saved.pieceLayers!), Buffer.from(made.pieceLayers!));
  await assertLayerServed(t, listening.port, made, root, bigIndex);
  await job.stop();
});

test('layers hashed from the data whose save fails: a warning, and served all the same', async (t) => {
  const dir = await tempDir(t);
  const { data, made, root, bigIndex } = await hybridAt(dir, 'out');
  const gone = join(dir, 'no-such-folder', 'hy.torrent');
  const saves: (readonly FetchedLayer[])[] = [];
  const job = download(withoutLayers(made), {
    out: data,
    trackers: false,
    port: 0,
    keepSeeding: true,
    onPieceLayers: async (layers) => {
      saves.push(layers);
      await writeFileAtomic(gone, torrentFileFromMetadata(made.infoBytes, { trackers: [] }));
    },
  });
  t.after(() => job.stop());
  const { next } = watch(job);
  const listening = await next('listening', 'the session listening');
  const notSaved = await next('metadata.layersNotSaved', 'the failed save');
  assert.match(notSaved.message, /no-such-folder/);
  const computed = await next('metadata.layersComputed', 'the layers hashed from the data');
  assert.deepEqual(computed, { type: 'metadata.layersComputed', files: 1, hashes: BIG_PIECES, saved: false });
  assert.equal(saves.length, 1);
  assert.deepEqual(Buffer.from(saves[0]![0]!.piecesRoot), Buffer.from(root));
  await assertLayerServed(t, listening.port, made, root, bigIndex);
  await job.stop();
});

test('fetched layers whose save fails: a warning, and served all the same', async (t) => {
  const dir = await tempDir(t);
  const { made, root, bigIndex } = await hybridAt(dir, 'source');
  const trees = pieceLayerTrees(made)!;
  // A v2 peer that gives the layers and has no piece: the download goes on while they come.
  const peer = await startMetadataPeer({
    infoHash: made.infoHashV2!.subarray(0, 20),
    info: made.infoBytes,
    hashes: (range) => merkleHashes(trees.files.get(rootKey(range.piecesRoot))!, range),
  });
  t.after(() => peer.close());
  const job = download(withoutLayers(made), {
    out: join(dir, 'out'),
    trackers: false,
    port: 0,
    peers: [{ host: '127.0.0.1', port: peer.port }],
    peersSwarm: 'v2',
    onPieceLayers: async () => {
      await writeFileAtomic(join(dir, 'no-such-folder', 'hy.torrent'), new Uint8Array(1));
    },
  });
  t.after(() => job.stop());
  const { next } = watch(job);
  const listening = await next('listening', 'the session listening');
  const notSaved = await next('metadata.layersNotSaved', 'the failed save');
  assert.match(notSaved.message, /no-such-folder/);
  assert.deepEqual(await next('metadata.layersFetched', 'the fetched layers'), {
    type: 'metadata.layersFetched',
    hashes: BIG_PIECES,
  });
  await assertLayerServed(t, listening.port, made, root, bigIndex);
  await job.stop();
});

test('a hybrid whose v1 and v2 hashes disagree: the file is named, seeded to v1 peers, its layer not served', async (t) => {
  const dir = await tempDir(t);
  const a = await hybridAt(dir, 'a');
  // The same names and lengths, other bytes: its big.bin has another pieces root.
  const b = await hybridAt(dir, 'b');
  const info = Buffer.from(a.made.infoBytes);
  const at = info.indexOf(Buffer.from(a.root));
  assert.ok(at > 0 && info.indexOf(Buffer.from(a.root), at + 1) < 0);
  info.set(b.root, at);
  // v1: a's pieces; v2: b's big.bin root. Over a's data.
  const inconsistent = parseTorrent(torrentFileFromMetadata(info, { trackers: [] }));
  assert.equal(inconsistent.version, 'hybrid');
  const seeder = seed(inconsistent, { data: a.data, trackers: false, port: 0 });
  t.after(() => seeder.stop());
  const { events, next } = watch(seeder);
  const listening = await next('listening', 'the seed listening');
  assert.deepEqual(await next('metadata.layersInconsistent', 'the disagreement said'), {
    type: 'metadata.layersInconsistent',
    file: 'big.bin',
  });
  const client = await hashRequestClient(t, listening.port, inconsistent.infoHashV2!.subarray(0, 20));
  assert.equal((await client.ask(wholeLayer(b.root))).type, 'hashReject');
  assert.ok(!events.some((e) => e.type === 'metadata.layersComputed'));
  // Its v1 pieces are served: a v1 download of it completes, the bytes a's.
  const leech = download(inconsistent, {
    out: join(dir, 'leech'),
    trackers: false,
    listen: false,
    peers: [{ host: '127.0.0.1', port: listening.port }],
  });
  t.after(() => leech.stop());
  assert.equal((await within(30_000, leech.done, 'the v1 download')).result, 'complete');
  assert.deepEqual(await readFile(join(dir, 'leech', 'hy', 'big.bin')), a.big);
  await seeder.stop();
});

test('a file found inconsistent: its layer fetched later from a v2 peer is not served either', async (t) => {
  const dir = await tempDir(t);
  const a = await hybridAt(dir, 'a');
  const b = await hybridAt(dir, 'b');
  const info = Buffer.from(a.made.infoBytes);
  info.set(b.root, info.indexOf(Buffer.from(a.root)));
  // v1: a's pieces; v2: b's big.bin root; no layers. Over a's data, complete.
  const inconsistent = parseTorrent(torrentFileFromMetadata(info, { trackers: [] }));
  assert.equal(inconsistent.pieceLayers, undefined);
  // A v2 peer with b's layer (it proves to the info's root), answering once the hashing has found
  // a's data inconsistent: the fetch completes after it, whatever the order of the connections.
  let inconsistencyKnown = () => {};
  const known = new Promise<void>((resolve) => (inconsistencyKnown = resolve));
  const trees = pieceLayerTrees(b.made)!;
  const peer = await startMetadataPeer({
    infoHash: inconsistent.infoHashV2!.subarray(0, 20),
    info: inconsistent.infoBytes,
    hashes: async (range) => {
      await known;
      return merkleHashes(trees.files.get(rootKey(range.piecesRoot))!, range);
    },
  });
  t.after(() => peer.close());
  const saves: (readonly FetchedLayer[])[] = [];
  const job = download(inconsistent, {
    out: a.data,
    trackers: false,
    port: 0,
    keepSeeding: true,
    peers: [{ host: '127.0.0.1', port: peer.port }],
    peersSwarm: 'v2',
    onPieceLayers: async (layers) => {
      saves.push(layers);
    },
  });
  t.after(() => job.stop());
  const { next } = watch(job);
  const listening = await next('listening', 'the session listening');
  assert.equal((await next('metadata.layersInconsistent', 'the disagreement said')).file, 'big.bin');
  inconsistencyKnown();
  assert.deepEqual(await next('metadata.layersFetched', 'the fetched layers'), {
    type: 'metadata.layersFetched',
    hashes: BIG_PIECES,
  });
  // Saved: the torrent's own layer, proved to its root. Not served: our big.bin does not hash to it.
  assert.deepEqual(Buffer.from(saves[0]![0]!.piecesRoot), Buffer.from(b.root));
  const client = await hashRequestClient(t, listening.port, inconsistent.infoHashV2!.subarray(0, 20));
  assert.equal((await client.ask(wholeLayer(b.root))).type, 'hashReject');
  await job.stop();
});

test('a rerun of a magnet download whose first run saved no layers (complete data) hashes, saves and serves them', async (t) => {
  const dir = await tempDir(t);
  // The first run's state: the data complete under out/, the .torrent saved without layers (it
  // exited before any came).
  const { data: out, made, root, bigIndex } = await hybridAt(dir, 'out');
  const magnet = parseMagnet(`magnet:?xt=urn:btih:${made.infoHashHex}`);
  await mkdir(join(out, '.bitstate'));
  const path = savedTorrentPath(out, magnet.infoHashHex);
  await writeFile(path, torrentFileFromMetadata(made.infoBytes, { trackers: [] }));
  const job = downloadMagnet(magnet, { out, trackers: false, port: 0, keepSeeding: true });
  t.after(() => job.stop());
  const { next } = watch(job);
  const listening = await next('listening', 'the download listening');
  assert.equal((await next('metadata.layersComputed', 'the layers hashed')).saved, true);
  assert.deepEqual(
    Buffer.from(parseTorrent(await readFile(path)).pieceLayers!),
    Buffer.from(made.pieceLayers!),
  );
  await assertLayerServed(t, listening.port, made, root, bigIndex);
  await job.stop();
});

test('a seed of a hybrid .torrent without piece layers hashes them from the data and serves them', async (t) => {
  const dir = await tempDir(t);
  const { data, made, root, bigIndex } = await hybridAt(dir, 'data');
  const seeder = seed(withoutLayers(made), { data, trackers: false, port: 0 });
  t.after(() => seeder.stop());
  const { next } = watch(seeder);
  const listening = await next('listening', 'the seed listening');
  assert.deepEqual(await next('metadata.layersComputed', 'the layers hashed'), {
    type: 'metadata.layersComputed',
    files: 1,
    hashes: BIG_PIECES,
    saved: false,
  });
  await assertLayerServed(t, listening.port, made, root, bigIndex);
  await seeder.stop();
});
