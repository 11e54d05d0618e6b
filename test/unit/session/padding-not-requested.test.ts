/**
 * Padding is never asked of a peer (src/metainfo/piece-data-length.ts): a v2 or hybrid torrent of
 * small files with 1 MiB pieces is all padding but for its files' bytes, and only those cross the
 * wire. Counted at the seeder (its `uploaded`), between two real sessions on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { seed } from '../../../src/session/seed.js';
import { tempDir, within } from '../../helpers/session.js';

const FILES = 8;
const FILE_BYTES = 5_000;

for (const format of ['v2', 'hybrid'] as const) {
  test(`${format}: a download of small files in 1 MiB pieces moves their bytes, not the padding`, async (t) => {
    const dir = await tempDir(t, 'bitstate-padding-');
    const folder = join(dir, 'data', 'small');
    await mkdir(folder, { recursive: true });
    const contents = Array.from({ length: FILES }, () => randomBytes(FILE_BYTES));
    for (const [i, bytes] of contents.entries()) await writeFile(join(folder, `f${i}`), bytes);
    const torrent = parseTorrent(await createTorrent(folder, { pieceLength: 1 << 20, format }));
    assert.equal(torrent.totalLength, FILES << 20, 'every file padded to its piece');

    const seeder = seed(torrent, { data: join(dir, 'data'), trackers: false, port: 0 });
    t.after(() => seeder.stop());
    const seederEvents: DownloadEvent[] = [];
    seeder.events$.subscribe((e) => seederEvents.push(e));
    const port = await within(
      60_000,
      new Promise<number>((resolve) =>
        seeder.events$.subscribe((e) => {
          if (e.type === 'listening') resolve(e.port);
        }),
      ),
      'seeder listening',
    );
    const out = join(dir, 'out');
    const job = download(torrent, {
      out,
      trackers: false,
      port: 0,
      peers: [{ host: '127.0.0.1', port }],
      stallTimeoutMs: 20_000,
    });
    t.after(() => job.stop());
    assert.equal((await within(60_000, job.done, 'download')).result, 'complete');
    for (const [i, bytes] of contents.entries())
      assert.ok((await readFile(join(out, 'small', `f${i}`))).equals(bytes), `f${i}`);
    // The seeder's next progress event counts what it served by then.
    const served = await within(
      60_000,
      new Promise<number>((resolve) =>
        seeder.events$.subscribe((e) => {
          if (e.type === 'progress' && e.uploaded > 0) resolve(e.uploaded);
        }),
      ),
      'seeder progress',
    );
    assert.equal(served, FILES * FILE_BYTES, 'the files, not 1 MiB a file');
  });
}
