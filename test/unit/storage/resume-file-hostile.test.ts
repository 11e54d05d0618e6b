/**
 * A resume file someone else put there (docs/resume.md, "Read defensively"): a FIFO at the resume
 * path or at the save's temp path must not block, and a checksummed file of unknown structure or
 * larger than this torrent can need is `corrupt` (the data is hashed), at no cost in memory.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, mkdtemp, open, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Bitfield } from '../../../src/picker/bitfield.js';
import {
  decodeResume,
  encodeResume,
  MAX_RESUME_BYTES,
  maxResumeBytes,
  type ResumeRead,
  readResumeFile,
  writeResumeFile,
} from '../../../src/storage/resume-file.js';
import { makeTorrent, payloadBytes } from './make-torrent.js';

const torrent = makeTorrent(
  'hostile',
  [
    { path: ['a'], length: 1000 },
    { path: ['b'], length: 3000 },
  ],
  256,
  payloadBytes(4000, 2),
);
const state = {
  have: new Bitfield(torrent.pieceCount),
  files: [null, null],
  parts: { stamp: null, sharedPieces: [] },
};

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-resume-hostile-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A body with a valid checksum, as resume_hostile.py builds them. */
function checksummed(body: string): string {
  return `${body.slice(0, -1)},"check":"${createHash('sha1').update(body).digest('hex')}"}\n`;
}

/** `p` settles within `ms`, or the test fails (after `release` has unblocked whatever hangs). */
async function within<T>(ms: number, p: Promise<T>, release: () => Promise<void>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => {
    timer = setTimeout(() => r('late'), ms);
  });
  const first = await Promise.race([p, late]);
  clearTimeout(timer);
  if (first === 'late') {
    await release();
    await p.catch(() => {});
    assert.fail(`still blocked after ${ms} ms`);
  }
  return first as T;
}

/** Opens the FIFO's other end without blocking, so an open() waiting on it returns. */
const releaseFifo = (path: string) => async () => {
  const h = await open(path, constants.O_RDWR | constants.O_NONBLOCK);
  await h.close();
};

test('a FIFO at the resume path reads as corrupt at once, never blocking the open', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'x.resume');
  execFileSync('mkfifo', [path]);
  const r: ResumeRead = await within(60_000, readResumeFile(torrent, path), releaseFifo(path));
  assert.ok(!r.ok && r.reason === 'corrupt', JSON.stringify(r));
});

test('a FIFO at the old fixed temp path is never opened: the save completes with a regular file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'x.resume');
  execFileSync('mkfifo', [`${path}.tmp`]);
  await within(60_000, writeResumeFile(torrent, path, state), releaseFifo(`${path}.tmp`));
  assert.ok((await stat(path)).isFile());
  assert.ok((await readResumeFile(torrent, path)).ok);
  // Each save's temp file is its own (pid and random): the FIFO is not ours, and nothing else is left.
  assert.deepEqual((await readdir(dir)).sort(), ['x.resume', 'x.resume.tmp']);
});

test('a checksummed file with an unknown key (deeply nested arrays) is corrupt, refused before JSON.parse', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'x.resume');
  const good = encodeResume(torrent, state);
  const body = good.slice(0, good.indexOf(',"check"'));
  const n = 100;
  await writeFile(path, checksummed(`${body},"junk":${'['.repeat(n)}${']'.repeat(n)}}`));
  const r = await readResumeFile(torrent, path);
  assert.ok(!r.ok && r.reason === 'corrupt' && /shape/.test(r.detail), JSON.stringify(r));
  // And one of the review's size, 60 MB: refused by its size, not read.
  const big = join(dir, 'big.resume');
  const h = await open(big, 'w');
  await h.truncate(60_000_000);
  await h.close();
  const before = process.memoryUsage().rss;
  const rb = await readResumeFile(torrent, big);
  assert.ok(!rb.ok && rb.reason === 'corrupt' && /limit/.test(rb.detail), JSON.stringify(rb));
  assert.ok(process.memoryUsage().rss - before < 20e6, 'not read into memory');
});

test('maxResumeBytes holds the largest resume file bitstate can write for the torrent', async (t) => {
  const dir = await tempDir(t);
  const many = Array.from({ length: 300 }, (_, i) => ({ path: [`f${i}`], length: 7 }));
  const big = makeTorrent('many', many, 16, payloadBytes(2100, 3));
  const have = new Bitfield(big.pieceCount);
  for (let p = 0; p < big.pieceCount; p++) have.set(p);
  const worst = {
    have,
    files: many.map(() => [Number.MAX_SAFE_INTEGER, '9'.repeat(25)] as const),
    parts: {
      stamp: [Number.MAX_SAFE_INTEGER, '9'.repeat(25)] as const,
      sharedPieces: Array.from({ length: Math.min(big.pieceCount, 600) }, (_, i) => i),
    },
  };
  const text = encodeResume(big, worst);
  assert.ok(text.length <= maxResumeBytes(big), `${text.length} > ${maxResumeBytes(big)}`);
  const path = join(dir, 'w.resume');
  await writeFile(path, text);
  assert.ok((await readResumeFile(big, path)).ok);
  assert.ok(maxResumeBytes(torrent) < 1000, 'a 2-file torrent needs well under 1 KB');
  assert.ok(maxResumeBytes({ pieceCount: 0x200000, files: new Array(262_144) }) <= MAX_RESUME_BYTES);
  assert.equal((await readFile(path, 'utf8')).length, text.length);
});

test('the shape check scans the resume file of the largest torrent (262,144 files, 2 Mi pieces) without overflowing', () => {
  const files = Array.from({ length: 262_144 }, () => ({
    path: ['x'],
    length: 1,
    offset: 0,
    padding: false,
  }));
  const big = { infoHashHex: 'ab'.repeat(20), pieceCount: 0x200000, files };
  const text = encodeResume(big, {
    have: new Bitfield(big.pieceCount),
    files: files.map(() => [Number.MAX_SAFE_INTEGER, '9'.repeat(25)] as const),
    parts: { stamp: null, sharedPieces: Array.from({ length: 2 * files.length }, (_, i) => i) },
  });
  assert.ok(text.length <= maxResumeBytes(big));
  assert.equal(decodeResume(big, text).files.length, files.length);
});

test('temp files a crashed save left beside the file (its own name, or the old fixed one) are removed by a later save once stale; fresh ones and other files stay', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'x.resume');
  const hourAgo = new Date(Date.now() - 60 * 60_000);
  const stale = ['x.resume.999999.0123456789ab.tmp', 'x.resume.tmp'];
  // Another save's temp file may be in flight (a second process on this folder): it is fresh.
  const kept = ['x.resume.4242.abcdefabcdef.tmp', 'y.resume.1.0123456789ab.tmp', 'x.resume.1.zz.tmp'];
  for (const name of [...stale, ...kept]) await writeFile(join(dir, name), 'left');
  for (const name of [...stale, kept[1]!, kept[2]!]) await utimes(join(dir, name), hourAgo, hourAgo);
  await writeResumeFile(torrent, path, state);
  assert.ok((await readResumeFile(torrent, path)).ok);
  assert.deepEqual((await readdir(dir)).sort(), ['x.resume', ...kept].sort());
});
