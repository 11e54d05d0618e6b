/**
 * What session tests share: a temp folder removed after the test, a promise bounded in time
 * (temp-dir.ts), a one-file torrent of random bytes, and a `seed()` of a torrent's data listening
 * on 127.0.0.1, stopped after the test; a DHT router on 127.0.0.1 and the settings that bootstrap
 * from it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Dht, startDht } from '../../src/dht/dht.js';
import { createTorrent } from '../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../src/metainfo/parse-torrent.js';
import type { Torrent } from '../../src/metainfo/torrent.js';
import { type SeedOptions, seed } from '../../src/session/seed.js';
import { type TestContext, tempDir, within } from './temp-dir.js';

export { tempDir, within };

/** Seeds `torrent` from `data` (no trackers; `options` beside) and resolves with the port it listens on. */
export async function listeningSeeder(
  t: TestContext,
  torrent: Torrent,
  data: string,
  options: Partial<SeedOptions> = {},
): Promise<number> {
  const seeder = seed(torrent, { data, trackers: false, port: 0, ...options });
  t.after(() => seeder.stop());
  return within(
    60_000,
    new Promise<number>((resolve, reject) => {
      seeder.events$.subscribe((e) => {
        if (e.type === 'listening') resolve(e.port);
      });
      seeder.done.then((r) => reject(new Error(`seeder ended: ${JSON.stringify(r)}`)), reject);
    }),
    'seeder listening',
  );
}

/** `DIR/data/file.bin` of `size` random bytes and its torrent (32 KiB pieces). */
export async function randomFileTorrent(
  dir: string,
  o: { size: number; private?: boolean },
): Promise<{ data: string; bytes: Buffer; torrent: Torrent }> {
  const data = join(dir, 'data');
  await mkdir(data, { recursive: true });
  const bytes = randomBytes(o.size);
  await writeFile(join(data, 'file.bin'), bytes);
  const torrent = parseTorrent(
    await createTorrent(join(data, 'file.bin'), { pieceLength: 32768, private: o.private === true }),
  );
  return { data, bytes, torrent };
}

/** A DHT node on 127.0.0.1 that knows no one (closed after the test), and DhtSettings bootstrapping from it. */
export async function dhtRouter(
  t: TestContext,
): Promise<{ router: Dht; dht: { bootstrap: { host: string; port: number }[] } }> {
  const router = await startDht({ port: 0, bootstrap: [] });
  t.after(() => router.close());
  return { router, dht: { bootstrap: [{ host: '127.0.0.1', port: router.port }] } };
}
