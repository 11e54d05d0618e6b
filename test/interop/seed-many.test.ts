/**
 * One `bitstate seed` process (the built CLI) seeds three torrents of one library folder on one
 * port, and other clients download all three from that port at once, bytes compared with the
 * source: aria2c through opentracker (it opens with MSE: the torrent known from the SKEY),
 * python3-libtorrent dialling the port over TCP (MSE too, by its default), and python3-libtorrent
 * over uTP (the shared UDP socket). Plain handshakes: test/unit/session/seed-many.test.ts. Stopped (SIGTERM), the process exits 0 and tells the tracker `stopped` for each
 * torrent it announced. 127.0.0.1 only.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aria2Download } from './harness/aria2.js';
import { type BitstateSeeder, startBitstateSeeder } from './harness/bitstate.js';
import { referenceInfoHash } from './harness/info-hash.js';
import { libtorrentDownload } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { type Opentracker, startOpentracker } from './harness/opentracker.js';
import {
  compareTrees,
  defaultTreeSpec,
  writeMultiFilePayload,
  writeSingleFilePayload,
} from './harness/payload.js';
import { stopAll } from './harness/processes.js';

let dir = '';
let tracker: Opentracker | undefined;
let seeder: BitstateSeeder | undefined;

interface Item {
  readonly name: string;
  readonly torrent: string;
  readonly root: string;
  readonly infoHash: string;
}
const items: Item[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-seed-many-'));
  tracker = await startOpentracker();
  const library = join(dir, 'library');
  const one = await writeSingleFilePayload({
    dir: library,
    name: 'one.bin',
    size: (2 << 20) + 777,
    seed: 61,
  });
  const two = await writeSingleFilePayload({
    dir: library,
    name: 'two.bin',
    size: (1 << 20) + 4321,
    seed: 62,
  });
  const tree = await writeMultiFilePayload({
    dir: library,
    name: 'tree',
    files: defaultTreeSpec(2 << 20),
    seed: 63,
  });
  for (const [name, root, pieceLength] of [
    ['one.bin', one.root, 64 * 1024],
    ['two.bin', two.root, 32 * 1024],
    ['tree', tree.root, 128 * 1024],
  ] as const) {
    const torrent = await makeTorrent({
      source: root,
      out: join(dir, `${name}.torrent`),
      pieceLength,
      announce: [tracker.announceUrl],
    });
    items.push({ name, torrent, root, infoHash: await referenceInfoHash(torrent) });
  }
  await tracker.allow(items.map((i) => i.infoHash));
});

after(async () => {
  await stopAll([...(seeder === undefined ? [] : [{ stop: () => seeder!.process.stop() }]), tracker]);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('bitstate seed with several torrents on one port', { timeout: 150_000 }, () => {
  it('aria2c (MSE), libtorrent (TCP) and libtorrent (uTP) each download a different torrent from it at once', async () => {
    const [one, two, tree] = items as [Item, Item, Item];
    seeder = await startBitstateSeeder(one.torrent, join(dir, 'library'), [two.torrent, tree.torrent]);
    const port = seeder.port;
    for (const i of items) await tracker!.waitForSeeders(i.infoHash, 1, 15_000);

    await Promise.all([
      aria2Download({ torrent: one.torrent, outDir: join(dir, 'aria2'), timeoutMs: 60_000 }),
      libtorrentDownload({
        torrent: two.torrent,
        outDir: join(dir, 'lt-tcp'),
        peers: [`127.0.0.1:${port}`],
        timeoutMs: 60_000,
      }),
      libtorrentDownload({
        torrent: tree.torrent,
        outDir: join(dir, 'lt-utp'),
        peers: [`127.0.0.1:${port}`],
        transport: 'utp',
        timeoutMs: 60_000,
      }),
    ]);
    for (const [item, out] of [
      [one, 'aria2'],
      [two, 'lt-tcp'],
      [tree, 'lt-utp'],
    ] as const) {
      const cmp = await compareTrees(item.root, join(dir, out, item.name));
      assert.ok(cmp.equal, `${item.name}: ${JSON.stringify(cmp)}`);
    }

    // Each torrent's session had its client's connection, carried as that client chose.
    const connected = (i: Item) =>
      seeder!.events.filter((e) => e.type === 'peer.connected' && e.infoHash === i.infoHash);
    assert.ok(
      connected(one).some((e) => e.encryption !== 'none'),
      `aria2 over MSE: ${JSON.stringify(connected(one))}`,
    );
    assert.ok(
      connected(two).some((e) => e.transport === 'tcp'),
      JSON.stringify(connected(two)),
    );
    assert.ok(
      connected(tree).some((e) => e.transport === 'utp'),
      JSON.stringify(connected(tree)),
    );
    const ports = new Set(seeder.events.filter((e) => e.type === 'listening').map((e) => e.port));
    assert.deepEqual([...ports], [port], 'one port for all');

    const exit = await seeder.process.stop(10_000);
    assert.equal(exit.code, 0, JSON.stringify(exit));
    // Told `stopped`, the tracker no longer lists it as a seeder of any of them.
    for (const i of items) assert.equal((await tracker!.scrape(i.infoHash)).complete, 0, i.name);
  });
});
