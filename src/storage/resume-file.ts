/**
 * The resume file, `<out>/.bitstate/<infohash>.resume`: which pieces are verified and durably on
 * disk, and each data file's size and mtime when that was true (docs/resume.md). JSON, one object:
 *
 *   { "bitstate": "resume", "version": 1, "infoHash": hex, "pieceCount": n,
 *     "have": base64 bitfield (BEP 3 bit order), "files": [[size, mtimeNs] | null, …],
 *     "parts": [[size, mtimeNs] | null, sharedPieces…] , "check": sha1 hex of everything before it }
 *
 * Written atomically: a temp file beside it, fsync, rename over the old one, fsync the folder — a
 * crash leaves the old file or the new one, never a mix. Read defensively: only a regular file
 * (opened O_NONBLOCK, so a FIFO planted at the path cannot block the open), capped at what a resume
 * file of this torrent can need (`maxResumeBytes`), its shape matched before JSON.parse (an unknown
 * key, such as millions of nested arrays, is refused without building anything), checksummed,
 * every field checked; anything wrong is `corrupt` and the data is checked again.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { constants, type FileHandle, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Torrent } from '../metainfo/torrent.js';
import { Bitfield } from '../picker/bitfield.js';
import { removeStaleTemps } from './stale-temp-files.js';
import { StorageError } from './storage-error.js';

/** A resume file is never read past this size, whatever the torrent (see maxResumeBytes). */
export const MAX_RESUME_BYTES = 64 << 20;

/**
 * The largest resume file `encodeResume` can write for this torrent: the fixed fields, the bitfield
 * in base64, a stamp per file (`[size,"mtimeNs"],`: at most 16 + 25 digits and 7 characters) and
 * the parts list (a stamp, then at most one slot per piece and two per file: 16 digits and a comma
 * each). Anything longer was not written by bitstate for this torrent and is not read.
 */
export function maxResumeBytes(torrent: Pick<Torrent, 'pieceCount' | 'files'>): number {
  const STAMP = 48;
  const have = 4 * Math.ceil(Math.ceil(torrent.pieceCount / 8) / 3);
  const slots = Math.min(torrent.pieceCount, 2 * torrent.files.length);
  return Math.min(MAX_RESUME_BYTES, 256 + have + (torrent.files.length + 1) * STAMP + slots * 17);
}

const HEAD_RE =
  /\{"bitstate":"resume","version":1,"infoHash":"[0-9a-f]{40}","pieceCount":\d{1,16},"have":"[A-Za-z0-9+/]*={0,2}","files":\[/y;
const STAMP_RE = /null|\[\d{1,16},"\d{1,25}"\]/y;
const PARTS_RE = /,"parts":\[/y;
const SLOT_RE = /\d{1,16}/y;

/**
 * True when `body` has the exact shape `encodeResume` writes (JSON.stringify: no spaces, this key
 * order), checked before JSON.parse so that unknown structure (millions of nested arrays under an
 * unknown key) costs nothing but this scan. Linear, one sticky match per element: a single regex
 * over 262,144 file stamps overflows irregexp's backtracking stack.
 */
export function hasResumeShape(body: string): boolean {
  let at = 0;
  const take = (re: RegExp): boolean => {
    re.lastIndex = at;
    if (!re.test(body)) return false;
    at = re.lastIndex;
    return true;
  };
  if (!take(HEAD_RE)) return false;
  if (body[at] === ']') at++;
  else
    for (;;) {
      if (!take(STAMP_RE)) return false;
      const c = body[at++];
      if (c === ']') break;
      if (c !== ',') return false;
    }
  if (!take(PARTS_RE) || !take(STAMP_RE)) return false;
  while (body[at] === ',') {
    at++;
    if (!take(SLOT_RE)) return false;
  }
  return at === body.length - 2 && body.endsWith(']}');
}

/** A data file's size and modification time (nanoseconds, as a decimal string), or null if absent. */
export type FileStamp = readonly [size: number, mtimeNs: string] | null;

export interface ResumeState {
  readonly have: Bitfield;
  /** One stamp per torrent file (null: padding, unselected or not stored). */
  readonly files: readonly FileStamp[];
  /** The parts file's stamp and the pieces of its slots (selective download; null stamp: none). */
  readonly parts: { readonly stamp: FileStamp; readonly sharedPieces: readonly number[] };
}

export type ResumeRead =
  | { readonly ok: true; readonly state: ResumeState }
  | { readonly ok: false; readonly reason: 'missing' | 'corrupt'; readonly detail: string };

export function resumeFilePath(torrent: Pick<Torrent, 'infoHashHex'>, stateDir: string): string {
  return join(stateDir, `${torrent.infoHashHex}.resume`);
}

/** The stamp of what lstat saw: size and mtime, or null when it is not a regular file. */
export function stampOfStats(st: BigIntStats): FileStamp {
  return st.isFile() ? [Number(st.size), st.mtimeNs.toString()] : null;
}

/** True when both are stamps of a file and the same (a missing file matches nothing). */
export const sameStamp = (a: FileStamp | undefined, b: FileStamp | undefined): boolean =>
  a != null && b != null && a[0] === b[0] && a[1] === b[1];

function checksum(body: string): string {
  return createHash('sha1').update(body).digest('hex');
}

/** The file's bytes: the body, then the checksum of the body as its last field. */
export function encodeResume(torrent: Pick<Torrent, 'infoHashHex' | 'pieceCount'>, s: ResumeState): string {
  const body = JSON.stringify({
    bitstate: 'resume',
    version: 1,
    infoHash: torrent.infoHashHex,
    pieceCount: torrent.pieceCount,
    have: Buffer.from(s.have.bytes).toString('base64'),
    files: s.files,
    parts: [s.parts.stamp, ...s.parts.sharedPieces],
  });
  return `${body.slice(0, -1)},"check":"${checksum(body)}"}\n`;
}

const isStamp = (v: unknown): v is FileStamp =>
  v === null ||
  (Array.isArray(v) &&
    v.length === 2 &&
    Number.isSafeInteger(v[0]) &&
    v[0] >= 0 &&
    typeof v[1] === 'string' &&
    /^\d{1,25}$/.test(v[1]));

/** Parses and checks a resume file's text for this torrent; throws a string saying what is wrong. */
export function decodeResume(
  torrent: Pick<Torrent, 'infoHashHex' | 'pieceCount' | 'files'>,
  text: string,
): ResumeState {
  const m = /^(\{.*),"check":"([0-9a-f]{40})"\}\n?$/s.exec(text);
  if (m === null) throw 'no checksum';
  const body = `${m[1]}}`;
  if (checksum(body) !== m[2]) throw 'checksum mismatch';
  if (!hasResumeShape(body)) throw 'not the shape of a bitstate resume file';
  const o = JSON.parse(body) as Record<string, unknown>;
  if (o.bitstate !== 'resume' || o.version !== 1) throw 'not a bitstate resume file (version 1)';
  if (o.infoHash !== torrent.infoHashHex) throw `info-hash ${String(o.infoHash)}`;
  if (o.pieceCount !== torrent.pieceCount) throw `pieceCount ${String(o.pieceCount)}`;
  if (typeof o.have !== 'string') throw 'no bitfield';
  const bytes = Buffer.from(o.have, 'base64');
  if (!Bitfield.isWellFormed(torrent.pieceCount, bytes)) throw 'malformed bitfield';
  const files = o.files;
  if (!Array.isArray(files) || files.length !== torrent.files.length || !files.every(isStamp))
    throw 'malformed file list';
  const parts = o.parts;
  if (!Array.isArray(parts) || parts.length < 1 || !isStamp(parts[0])) throw 'malformed parts';
  const shared = parts.slice(1);
  if (
    !shared.every(
      (p, k) => Number.isSafeInteger(p) && p >= 0 && p < torrent.pieceCount && (k === 0 || p > shared[k - 1]),
    )
  )
    throw 'malformed parts';
  return {
    have: new Bitfield(torrent.pieceCount, bytes),
    files,
    parts: { stamp: parts[0] as FileStamp, sharedPieces: shared as number[] },
  };
}

export async function readResumeFile(
  torrent: Pick<Torrent, 'infoHashHex' | 'pieceCount' | 'files'>,
  path: string,
): Promise<ResumeRead> {
  let h: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would wait for a writer forever, in a libuv thread
    // that neither --timeout nor a signal can free.
    h = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'missing', detail: 'no resume file' };
    return { ok: false, reason: 'corrupt', detail: `cannot open: ${String(code)}` };
  }
  try {
    const st = await h.stat();
    if (!st.isFile()) return { ok: false, reason: 'corrupt', detail: 'not a regular file' };
    const limit = maxResumeBytes(torrent);
    if (st.size > limit)
      return { ok: false, reason: 'corrupt', detail: `${st.size} bytes (limit ${limit} for this torrent)` };
    const text = (await h.readFile()).toString('utf8');
    if (text.length > limit) return { ok: false, reason: 'corrupt', detail: 'grew while read' };
    return { ok: true, state: decodeResume(torrent, text) };
  } catch (e) {
    return { ok: false, reason: 'corrupt', detail: e instanceof Error ? e.message : String(e) };
  } finally {
    await h.close();
  }
}

/**
 * Writes `path` atomically and durably: temp file, fsync, rename, fsync of the folder. The temp
 * name is this write's own (`<path>.<pid>.<random>.tmp`): two processes saving one path at once
 * (two runs on one folder closing together) each rename a whole file of their own into place —
 * with one shared `<path>.tmp`, one could rename the other's half-written file. Created new
 * (O_EXCL, O_NOFOLLOW: nothing planted there is opened, so never a FIFO that would block the
 * open), and removed when anything fails; a crashed save's, left behind, is removed by a later
 * save once stale (stale-temp-files.ts).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  let h: FileHandle | undefined;
  try {
    h = await open(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      0o644,
    );
    await h.writeFile(data);
    await h.sync();
    await h.close();
    h = undefined;
    await rename(tmp, path);
    const dir = await open(dirname(path), constants.O_RDONLY);
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (e) {
    await h?.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw StorageError.fromSystem(e, 'cannot save', path); // the path says what: a resume file, a .torrent, the DHT state
  }
  // A crashed save's temp file has a name no later save reuses: removed here once stale.
  await removeStaleTemps(path);
}

export function writeResumeFile(
  torrent: Pick<Torrent, 'infoHashHex' | 'pieceCount'>,
  path: string,
  state: ResumeState,
): Promise<void> {
  return writeFileAtomic(path, encodeResume(torrent, state));
}
