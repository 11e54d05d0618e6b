/**
 * A .torrent under every limit but made of millions of small values costs no heap for the values
 * bitstate does not keep: parseTorrent reads through the flat index (bencode-index.ts), 8 bytes a
 * value outside the JS heap, and builds only what the Torrent holds. Each file is parsed in a child
 * process whose heap is capped at HEAP_MB: a tree of objects (a view of ~100 bytes per string) ran
 * out of it — 10 MiB of two-byte strings peaked at 536 MB before, 300,000 announce tiers at 231 MB.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  MAX_PATH_DEPTH,
  MAX_TORRENT_FILE_BYTES,
  MAX_TRACKERS,
  MAX_WEB_SEEDS,
} from '../../../src/metainfo/limits.js';
import { tempDir } from '../../helpers/temp-dir.js';

const HEAP_MB = 48;
const READ = fileURLToPath(new URL('../../../src/metainfo/read-torrent-file.ts', import.meta.url));

/** `d<head><items…>e<tail>e` in MAX_TORRENT_FILE_BYTES at most, as many `item(i)` as fit. */
function torrentOf(
  head: string,
  item: (i: number) => string,
  tail: string,
): { bytes: Buffer; count: number } {
  const out = Buffer.alloc(MAX_TORRENT_FILE_BYTES);
  let at = out.write(`d${head}`, 'latin1');
  const room = MAX_TORRENT_FILE_BYTES - tail.length - 2;
  let count = 0;
  for (let s = item(0); at + s.length <= room; s = item(++count)) at += out.write(s, at, 'latin1');
  at += out.write(`e${tail}e`, at, 'latin1');
  return { bytes: out.subarray(0, at), count };
}

const INFO = `4:infod6:lengthi16384e4:name1:x12:piece lengthi16384e6:pieces20:${'H'.repeat(20)}e`;
/** A two-byte printable string, distinct for each i below 94² (then again). */
const twoBytes = (i: number) => `2:${String.fromCharCode(0x21 + (i % 94), 0x21 + (Math.floor(i / 94) % 94))}`;

/**
 * Parses `bytes` in a child process with a HEAP_MB heap; what it printed of the Torrent, or of the
 * MetainfoError (`error`: its code, `message`).
 */
async function parseInSmallHeap(dir: string, bytes: Buffer): Promise<Record<string, unknown>> {
  const file = join(dir, 'x.torrent');
  await writeFile(file, bytes);
  const script = `import(${JSON.stringify(READ)}).then(async (m) => {
    const t = await m.readTorrentFile(${JSON.stringify(file)});
    console.log(JSON.stringify({ tiers: t.announceList.length, first: t.announceList[0], ignoredTrackers: t.ignoredTrackers,
      webSeeds: t.urlList.length, ignoredWebSeeds: t.ignoredWebSeeds, name: t.name }));
  }).catch((e) => {
    if (e?.name !== 'MetainfoError') throw e;
    console.log(JSON.stringify({ error: e.code, message: e.message }));
  })`;
  const r = spawnSync(
    process.execPath,
    [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', '-e', script],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  assert.equal(
    r.status,
    0,
    `the parse ran out of its ${HEAP_MB} MB heap or failed: ${r.stderr.slice(0, 600)}`,
  );
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

test(`10 MiB of two-byte strings in an unknown key parse in a ${HEAP_MB} MB heap`, async (t) => {
  const dir = await tempDir(t, 'bitstate-heap-');
  const { bytes, count } = torrentOf(`${INFO}7:unknownl`, twoBytes, '');
  assert.ok(count > 2_500_000);
  assert.equal((await parseInSmallHeap(dir, bytes)).name, 'x');
});

test(`a url-list of 2.6 M two-byte strings keeps the first ${MAX_WEB_SEEDS} distinct ones, in a ${HEAP_MB} MB heap`, async (t) => {
  const dir = await tempDir(t, 'bitstate-heap-');
  const { bytes, count } = torrentOf(`${INFO}8:url-listl`, twoBytes, '');
  const r = await parseInSmallHeap(dir, bytes);
  assert.equal(r.webSeeds, MAX_WEB_SEEDS);
  // Counted once each: twoBytes repeats past 94² distinct strings.
  assert.ok(count > 94 ** 2);
  assert.equal(r.ignoredWebSeeds, 94 ** 2 - MAX_WEB_SEEDS);
});

test(`an announce-list of 300,000+ tiers keeps the first ${MAX_TRACKERS} trackers, in a ${HEAP_MB} MB heap`, async (t) => {
  const dir = await tempDir(t, 'bitstate-heap-');
  const url = (i: number) => `http://t${i}.example/a`;
  const { bytes, count } = torrentOf('13:announce-listl', (i) => `l${url(i).length}:${url(i)}e`, INFO);
  assert.ok(count > 300_000);
  const r = await parseInSmallHeap(dir, bytes);
  assert.equal(r.tiers, MAX_TRACKERS);
  assert.deepEqual(r.first, [url(0)]);
  assert.equal(r.ignoredTrackers, count - MAX_TRACKERS);
});

test(`4,096 files of distinct 64-deep paths (258,048 folders) parse in a ${HEAP_MB} MB heap`, async (t) => {
  // The duplicate-path and case-collision checks keep one Map entry per folder (a Map and three Sets
  // of its own per folder ran out of any heap under 200 MB: 361 MB of RSS).
  const dir = await tempDir(t, 'bitstate-heap-');
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const component = (v: number) => `2:${A[v % 62]}${A[Math.floor(v / 62) % 62]}`;
  const files: string[] = [];
  for (let i = 0; i < 4096; i++) {
    const path = Array.from({ length: MAX_PATH_DEPTH }, (_, k) =>
      component(k === 0 ? i : k === 1 ? Math.floor(i / 3844) : i * MAX_PATH_DEPTH + k),
    );
    files.push(`d6:lengthi${i === 0 ? 1 : 0}e4:pathl${path.join('')}ee`);
  }
  const bytes = Buffer.from(
    `d4:infod5:filesl${files.join('')}e4:name1:x12:piece lengthi16384e6:pieces20:${'H'.repeat(20)}ee`,
    'latin1',
  );
  assert.equal((await parseInSmallHeap(dir, bytes)).name, 'x');
});

test(`a v2 file tree of 4,096 files of distinct 64-deep paths (258,048 folders) parses in a ${HEAP_MB} MB heap`, async (t) => {
  // The walk keeps one path, the current one, and copies it once a file; the duplicate-path and
  // case-collision checks keep one Map entry per folder, as for v1.
  const dir = await tempDir(t, 'bitstate-heap-');
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const name = (v: number) => `3:${A[v % 62]}${A[Math.floor(v / 62) % 62]}${A[Math.floor(v / 3844) % 62]}`;
  const entries: string[] = [];
  for (let i = 0; i < 4096; i++) {
    const leaf = i === 0 ? `d6:lengthi1e11:pieces root32:${'R'.repeat(32)}e` : 'd6:lengthi0ee';
    const folders = Array.from(
      { length: MAX_PATH_DEPTH - 1 },
      (_, k) => `d${name(i * MAX_PATH_DEPTH + k + 1)}`,
    );
    entries.push(`${name(i)}${folders.join('')}d0:${leaf}e${'e'.repeat(MAX_PATH_DEPTH - 1)}`);
  }
  const bytes = Buffer.from(
    `d4:infod9:file treed${entries.join('')}e12:meta versioni2e4:name1:x12:piece lengthi16384eee`,
    'latin1',
  );
  assert.equal((await parseInSmallHeap(dir, bytes)).name, 'x');
});

test(`a file path (path.utf-8 or path) of 3.5 M components is refused by its depth in a ${HEAP_MB} MB heap`, async (t) => {
  // The components are counted in the index before any is built (building them first peaked at
  // ~150 MB of heap over the input's).
  const dir = await tempDir(t, 'bitstate-heap-');
  const deep = (key: string, rest: string) =>
    `d4:infod5:filesld6:lengthi1e${key}l${'1:a'.repeat(3_495_000)}e${rest}ee` +
    `4:name1:x12:piece lengthi16384e6:pieces20:${'H'.repeat(20)}ee`;
  for (const [key, rest] of [
    ['10:path.utf-8', '4:pathl1:ae'],
    ['4:path', ''],
  ] as const) {
    const bytes = Buffer.from(deep(key, rest), 'latin1');
    assert.ok(bytes.length <= MAX_TORRENT_FILE_BYTES);
    assert.deepEqual(await parseInSmallHeap(dir, bytes), {
      error: 'limit-exceeded',
      message: `info.files[0].path: path of 3495000 components (limit ${MAX_PATH_DEPTH})`,
    });
  }
});
