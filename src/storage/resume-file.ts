/**
 * The resume file, `<out>/.bitstate/<infohash>.resume`: which pieces are verified and durably on
 * disk, and each data file's size and mtime when that was true (docs/resume.md). JSON, one object:
 *
 *   { "bitstate": "resume", "version": 1, "infoHash": hex, "pieceCount": n,
 *     "have": base64 bitfield (BEP 3 bit order), "files": [[size, mtimeNs] | null, …],
 *     "parts": [[size, mtimeNs] | null, sharedPieces…] , "check": sha1 hex of everything before it }
 *
 * Written atomically: a temp file beside it, fsync, rename over the old one, fsync the folder — a
 * crash leaves the old file or the new one, never a mix. Read defensively: size-capped, checksummed,
 * every field checked; anything wrong is `corrupt` and the data is checked again.
 */
import { createHash } from 'node:crypto';
import { constants, type FileHandle, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Torrent } from '../metainfo/torrent.js';
import { Bitfield } from '../picker/bitfield.js';
import { StorageError } from './storage-error.js';

/** A resume file is never read past this size (a bitfield of 100 M pieces is 12.5 MiB). */
export const MAX_RESUME_BYTES = 64 << 20;

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

/** The stamp of `path` now: size and mtime, or null when there is no such file. */
export async function stampOf(path: string | null): Promise<FileStamp> {
  if (path === null) return null;
  const st = await stat(path, { bigint: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
    throw StorageError.fromSystem(e, 'cannot inspect', path);
  });
  return st === undefined || !st.isFile() ? null : [Number(st.size), st.mtimeNs.toString()];
}

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
    h = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'missing', detail: 'no resume file' };
    return { ok: false, reason: 'corrupt', detail: `cannot open: ${String(code)}` };
  }
  try {
    const { size } = await h.stat();
    if (size > MAX_RESUME_BYTES)
      return { ok: false, reason: 'corrupt', detail: `${size} bytes (limit ${MAX_RESUME_BYTES})` };
    const text = (await h.readFile()).toString('utf8');
    return { ok: true, state: decodeResume(torrent, text) };
  } catch (e) {
    return { ok: false, reason: 'corrupt', detail: e instanceof Error ? e.message : String(e) };
  } finally {
    await h.close();
  }
}

/** Writes `path` atomically and durably: temp file, fsync, rename, fsync of the folder. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp`;
  let h: FileHandle | undefined;
  try {
    h = await open(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
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
    throw StorageError.fromSystem(e, 'cannot save the resume file', path);
  }
}

export function writeResumeFile(
  torrent: Pick<Torrent, 'infoHashHex' | 'pieceCount'>,
  path: string,
  state: ResumeState,
): Promise<void> {
  return writeFileAtomic(path, encodeResume(torrent, state));
}
