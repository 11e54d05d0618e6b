/** .torrent files made by Debian's mktorrent 1.1 (v1 torrents, BEP 3). */
import { rm } from 'node:fs/promises';
import { HarnessError } from './harness-error.js';
import { runProcess } from './processes.js';

export const MKTORRENT = '/usr/bin/mktorrent';

export interface MakeTorrentOptions {
  /** The file or folder to describe. */
  readonly source: string;
  /** Where to write the .torrent (replaced if it exists: mktorrent itself refuses to overwrite). */
  readonly out: string;
  /** Piece length in bytes: a power of two from 32 KiB (2^15) to 256 MiB (2^28). Default 256 KiB. */
  readonly pieceLength?: number;
  /** Announce URLs; the first is `announce`, all go to `announce-list`. None: a tracker-less torrent. */
  readonly announce?: readonly string[];
  /** Overrides the torrent's name (default: the source's basename). */
  readonly name?: string;
  readonly private?: boolean;
  readonly timeoutMs?: number;
}

/** mktorrent's `-l` exponent for a piece length in bytes. */
export function pieceLengthExponent(pieceLength: number): number {
  const exp = Math.log2(pieceLength);
  if (!Number.isInteger(exp) || exp < 15 || exp > 28) {
    throw new HarnessError('badArgument', `piece length ${pieceLength} is not a power of two in 2^15..2^28`, {
      pieceLength,
    });
  }
  return exp;
}

/** Runs mktorrent; resolves with the .torrent's path. */
export async function makeTorrent(opts: MakeTorrentOptions): Promise<string> {
  const args = ['-l', String(pieceLengthExponent(opts.pieceLength ?? 256 * 1024)), '-o', opts.out];
  // -d: no creation date, so the same payload always gives the same file.
  args.push('-d');
  if (opts.announce && opts.announce.length > 0) args.push('-a', opts.announce.join(','));
  if (opts.name !== undefined) args.push('-n', opts.name);
  if (opts.private) args.push('-p');
  args.push(opts.source);
  await rm(opts.out, { force: true });
  await runProcess(MKTORRENT, args, { timeoutMs: opts.timeoutMs ?? 120_000, name: 'mktorrent' });
  return opts.out;
}
