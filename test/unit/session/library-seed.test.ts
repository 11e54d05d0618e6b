/**
 * Seeding through the library's own entry (src/index.ts), as README's "Library" shows it: `seed`
 * serves one torrent's data and `seedMany` several on one port, and `download` from the same entry
 * fetches them (real sockets on 127.0.0.1; no trackers, no DHT).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  createTorrent,
  download,
  parseTorrent,
  type SeedManyJob,
  seed,
  seedMany,
  type Torrent,
} from '../../../src/index.js';
import { tempDir, within } from '../../helpers/session.js';

/** The port `job` listens on, once every one of its `torrents` torrents is checked. */
function seedingPort(job: Pick<SeedManyJob, 'events$' | 'done'>, torrents: number): Promise<number> {
  return within(
    60_000,
    new Promise<number>((resolve, reject) => {
      let port: number | undefined;
      let checked = 0;
      job.events$.subscribe((e) => {
        if (e.type === 'listening') port = e.port;
        if (e.type === 'checked') checked++;
        if (port !== undefined && checked === torrents) resolve(port);
      });
      job.done.then((r) => reject(new Error(`seeding ended: ${JSON.stringify(r)}`)), reject);
    }),
    'seeding',
  );
}

async function fetched(torrent: Torrent, port: number, out: string): Promise<Buffer> {
  const job = download(torrent, {
    out,
    peers: [{ host: '127.0.0.1', port }],
    trackers: false,
    listen: false,
  });
  assert.equal((await within(60_000, job.done, `download of ${torrent.name}`)).result, 'complete');
  return readFile(join(out, torrent.name));
}

test('the library seeds: seed() one torrent, seedMany() two on one port, each downloaded whole', async (t) => {
  const dir = await tempDir(t, 'bitstate-library-seed-');
  const data = join(dir, 'data');
  await mkdir(data);
  const bytes = [randomBytes(100_000), randomBytes(70_000)];
  const torrents: Torrent[] = [];
  for (const [i, b] of bytes.entries()) {
    await writeFile(join(data, `f${i}.bin`), b);
    torrents.push(parseTorrent(await createTorrent(join(data, `f${i}.bin`), { pieceLength: 32768 })));
  }
  const one = seed(torrents[0]!, { data, trackers: false, port: 0 });
  t.after(() => one.stop());
  const onePort = await seedingPort(one, 1);
  assert.ok((await fetched(torrents[0]!, onePort, join(dir, 'a'))).equals(bytes[0]!));
  await one.stop();

  const many = seedMany(torrents, { data, trackers: false, port: 0 });
  t.after(() => many.stop());
  const port = await seedingPort(many, 2);
  for (const [i, torrent] of torrents.entries())
    assert.ok(
      (await fetched(torrent, port, join(dir, 'b'))).equals(bytes[i]!),
      `${torrent.name} from the one port`,
    );
});
