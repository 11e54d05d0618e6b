/**
 * Web seed test fixtures (BEP 19): a torrent's files written where a test server serves them, a
 * single-file torrent laid out for a web seed and a peer, and a bounded download of it.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Torrent } from '../../src/metainfo/torrent.js';
import { download } from '../../src/session/download.js';
import type { DownloadEvent } from '../../src/session/download-event.js';
import type { DownloadOptions } from '../../src/session/download-options.js';
import { type FileSpec, makeTorrent, payloadBytes } from '../unit/storage/make-torrent.js';
import { tempDir, within } from './session.js';
import type { TestContext } from './temp-dir.js';

export const WEB_SEED_PIECE = 256 * 1024;

/** Writes the torrent's files under `root` (the payload cut by `specs`), each at its path. */
export async function writeFiles(
  root: string,
  name: string,
  specs: readonly FileSpec[],
  payload: Uint8Array,
  multi: boolean,
) {
  let at = 0;
  for (const s of specs) {
    const path = multi ? join(root, name, ...s.path) : join(root, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, payload.subarray(at, at + s.length));
    at += s.length;
  }
}

/** A download of `torrent` into `out` (no trackers, no listening), bounded; its result and events. */
export async function runDownload(
  t: TestContext,
  torrent: Torrent,
  out: string,
  options: Partial<DownloadOptions> = {},
) {
  const job = download(torrent, { out, trackers: false, listen: false, stallTimeoutMs: 20_000, ...options });
  const events: DownloadEvent[] = [];
  job.events$.subscribe((e) => events.push(e));
  t.after(() => job.stop());
  const result = await within(60_000, job.done, 'download');
  return { result, events };
}

export async function sameBytes(path: string, expected: Uint8Array) {
  assert.ok(Buffer.from(await readFile(path)).equals(Buffer.from(expected)), `${path} differs`);
}

/** A single-file torrent of `size` bytes: its file in www/ (for the web seed) and seed/ (for a peer). */
export async function singleFile(t: TestContext, size: number) {
  const dir = await tempDir(t, 'bitstate-ws-');
  const payload = payloadBytes(size, 7);
  const specs = [{ path: ['p.bin'], length: size }];
  await writeFiles(join(dir, 'www'), 'p.bin', specs, payload, false);
  await writeFiles(join(dir, 'seed'), 'p.bin', specs, payload, false);
  const torrent = makeTorrent('p.bin', specs, WEB_SEED_PIECE, payload, false);
  return { dir, payload, torrent, www: join(dir, 'www'), seed: join(dir, 'seed'), out: join(dir, 'out') };
}
