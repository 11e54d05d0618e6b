/**
 * Deterministic pseudo-random payloads for interop tests and benchmarks, and a byte-for-byte
 * tree comparison.
 *
 * Speed: one 1 MiB block is filled from a seeded xorshift PRNG once; every 16 KiB (a BitTorrent
 * block) of every file is then stamped with (seed, file number, offset), so no two blocks — hence
 * no two pieces of 16 KiB or more — are equal, even across files. A piece written at the wrong
 * place therefore fails its hash. About 1 GiB/s, bounded by the disk.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

const CHUNK = 1 << 20;
const STAMP_EVERY = 16 * 1024;

/** One file of a payload: its path relative to the payload root, and its size. */
export interface PayloadFileSpec {
  readonly path: string;
  readonly length: number;
}

export interface Payload {
  /** The file (single-file payload) or folder (multi-file) to hand to mktorrent. */
  readonly root: string;
  readonly files: readonly PayloadFileSpec[];
  readonly totalLength: number;
}

function baseBlock(seed: number): Buffer {
  return xorshiftBytes(CHUNK, seed ^ 0x9e3779b9);
}

/** `length` (a multiple of 4) pseudo-random bytes from xorshift32 started at `state`: cheap, repeatable. */
export function xorshiftBytes(length: number, state: number): Buffer {
  const words = new Uint32Array(length / 4);
  // A zero state would stay zero.
  let x = state >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return Buffer.from(words.buffer);
}

const baseCache = new Map<number, Buffer>();
function cachedBase(seed: number): Buffer {
  let b = baseCache.get(seed);
  if (b === undefined) {
    b = baseBlock(seed);
    baseCache.set(seed, b);
  }
  return b;
}

/** Writes `length` deterministic bytes to `path` (creating parent folders). */
export async function writePayloadFile(
  path: string,
  length: number,
  seed: number,
  fileNumber = 0,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const base = cachedBase(seed);
  const chunk = Buffer.allocUnsafe(CHUNK);
  const fh = await open(path, 'w');
  try {
    for (let offset = 0; offset < length; offset += CHUNK) {
      base.copy(chunk);
      for (let at = 0; at + 16 <= CHUNK; at += STAMP_EVERY) {
        chunk.writeUInt32LE(seed >>> 0, at);
        chunk.writeUInt32LE(fileNumber >>> 0, at + 4);
        chunk.writeDoubleLE(offset + at, at + 8);
      }
      const n = Math.min(CHUNK, length - offset);
      let written = 0;
      while (written < n) {
        const r = await fh.write(chunk, written, n - written, offset + written);
        written += r.bytesWritten;
      }
    }
  } finally {
    await fh.close();
  }
}

/** A single file of `size` bytes at dir/name. */
export async function writeSingleFilePayload(opts: {
  readonly dir: string;
  readonly name?: string;
  readonly size: number;
  readonly seed?: number;
}): Promise<Payload> {
  const name = opts.name ?? 'payload.bin';
  const root = join(opts.dir, name);
  await writePayloadFile(root, opts.size, opts.seed ?? 1);
  return { root, files: [{ path: name, length: opts.size }], totalLength: opts.size };
}

/**
 * The default multi-file tree for about `approxSize` bytes: nested folders, a 5-byte file, and
 * sizes that are neither piece- nor block-aligned, so files start and end inside pieces.
 */
export function defaultTreeSpec(approxSize: number): PayloadFileSpec[] {
  const unit = Math.max(1, Math.floor(approxSize / 10));
  return [
    { path: 'a.bin', length: 3 * unit + 12_345 },
    { path: 'tiny.txt', length: 5 },
    { path: 'nested/b.bin', length: 2 * unit + 777 },
    { path: 'nested/deeper/c.bin', length: 4 * unit - 4_096 + 1 },
    { path: 'nested/deeper/d.bin', length: 16_385 },
    { path: 'z-last.bin', length: unit - 13 },
  ];
}

/** A folder dir/name holding `files` (default: `defaultTreeSpec(approxSize ?? 4 MiB)`). */
export async function writeMultiFilePayload(opts: {
  readonly dir: string;
  readonly name?: string;
  readonly files?: readonly PayloadFileSpec[];
  readonly approxSize?: number;
  readonly seed?: number;
}): Promise<Payload> {
  const root = join(opts.dir, opts.name ?? 'payload');
  const files = opts.files ?? defaultTreeSpec(opts.approxSize ?? 4 << 20);
  await mkdir(root, { recursive: true });
  let n = 0;
  for (const f of files) {
    await writePayloadFile(join(root, ...f.path.split('/')), f.length, opts.seed ?? 1, n++);
  }
  return { root, files, totalLength: files.reduce((s, f) => s + f.length, 0) };
}

async function listFiles(root: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const info = await stat(root);
  if (info.isFile()) {
    out.set('.', info.size);
    return out;
  }
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) out.set(relative(root, p).split(sep).join('/'), (await stat(p)).size);
    }
  };
  await walk(root);
  return out;
}

/** SHA-1 of a file, streamed. */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha1');
    createReadStream(path, { highWaterMark: CHUNK })
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

export interface TreeComparison {
  readonly equal: boolean;
  /** Files compared (present on both sides). */
  readonly files: number;
  readonly bytes: number;
  /** One line per difference: missing, extra, size or content. Empty when equal. */
  readonly mismatches: readonly string[];
}

/**
 * Compares two files, or two folders file by file (names, sizes, then SHA-1 of the contents).
 * `ignoreEmptyFiles`: a missing zero-length file is not a difference (Transmission skips them).
 */
export async function compareTrees(
  expected: string,
  actual: string,
  options: { readonly ignoreEmptyFiles?: boolean } = {},
): Promise<TreeComparison> {
  const [a, b] = await Promise.all([listFiles(expected), listFiles(actual)]);
  const mismatches: string[] = [];
  let files = 0;
  let bytes = 0;
  for (const [path, size] of a) {
    const other = b.get(path);
    if (other === undefined) {
      if (!(options.ignoreEmptyFiles && size === 0)) mismatches.push(`missing ${path} (${size} bytes)`);
      continue;
    }
    if (other !== size) {
      mismatches.push(`size of ${path}: expected ${size}, got ${other}`);
      continue;
    }
    const pa = path === '.' ? expected : join(expected, path);
    const pb = path === '.' ? actual : join(actual, path);
    const [ha, hb] = await Promise.all([hashFile(pa), hashFile(pb)]);
    if (ha !== hb) mismatches.push(`content of ${path} differs (sha1 ${ha} vs ${hb})`);
    files++;
    bytes += size;
  }
  for (const [path, size] of b) if (!a.has(path)) mismatches.push(`extra ${path} (${size} bytes)`);
  return { equal: mismatches.length === 0, files, bytes, mismatches };
}
