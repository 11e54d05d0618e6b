/**
 * `readBlocklist(path)`: a blocklist file (docs/blocklist.md) read from disk into an IP filter —
 * gunzipped first when it starts with gzip's magic bytes (1f 8b; Transmission's and qBittorrent's
 * usual downloads are .gz), then parsed (blocklist-parse.ts). A file that cannot be read, does not
 * gunzip, is larger than MAX_BLOCKLIST_BYTES, or names no valid range is a BlocklistError (bad
 * input: exit 2 at the CLI); lines it cannot read are counted in the result, not fatal.
 */
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { type ParsedBlocklist, parseBlocklist } from './blocklist-parse.js';

/**
 * A blocklist's bytes at most, read or gunzipped: 256 MiB. The largest published lists are ~20 MB
 * as text (level1, ~800k P2P lines); the bound only keeps a wrong file from taking the memory.
 */
export const MAX_BLOCKLIST_BYTES = 256 * 1024 * 1024;

export class BlocklistError extends Error {
  override readonly name = 'BlocklistError';
  readonly code = 'badBlocklist' as const;
  readonly badInput = true;
}

const gunzipAsync = promisify(gunzip);

/**
 * The file at `path`, read, gunzipped if gzipped, and parsed; a BlocklistError when it cannot be used.
 * Read at most `maxBytes` + 1 bytes (a pipe, `/dev/zero` or a huge file is refused once past the
 * bound, not read whole first).
 */
export async function readBlocklist(path: string, maxBytes = MAX_BLOCKLIST_BYTES): Promise<ParsedBlocklist> {
  let bytes: Buffer;
  try {
    bytes = await readAtMost(path, maxBytes + 1);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BlocklistError(`cannot read blocklist ${path}: ${code ?? (err as Error).message}`);
  }
  return decodeBlocklist(path, bytes, maxBytes);
}

/** The first `limit` bytes of the file at `path` (all of it when shorter). */
async function readAtMost(path: string, limit: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < limit) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, limit - total));
      const { bytesRead } = await file.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
    }
    return Buffer.concat(chunks, total);
  } finally {
    await file.close();
  }
}

/** A blocklist file's bytes (named `path` in errors): gunzipped when gzipped, then parsed. */
export async function decodeBlocklist(
  path: string,
  bytes: Uint8Array,
  maxBytes = MAX_BLOCKLIST_BYTES,
): Promise<ParsedBlocklist> {
  if (bytes.length > maxBytes) throw new BlocklistError(`blocklist ${path} is larger than ${maxBytes} bytes`);
  let text = bytes;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      text = await gunzipAsync(bytes, { maxOutputLength: maxBytes });
    } catch (err) {
      // maxOutputLength reached: a gzip bomb, or a list too large; not a broken file.
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        throw new BlocklistError(`blocklist ${path} is larger than ${maxBytes} bytes gunzipped`);
      throw new BlocklistError(`blocklist ${path} does not gunzip: ${(err as Error).message}`);
    }
  }
  // latin1: every byte is a character, so no file fails to decode; ranges are ASCII, descriptions
  // (any encoding) are never looked at.
  const parsed = parseBlocklist(
    Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('latin1'),
  );
  if (parsed.ranges.size === 0)
    throw new BlocklistError(
      `blocklist ${path} has no valid IPv4 range` +
        (parsed.invalid > 0
          ? ` (${parsed.invalid} invalid lines, the first line ${parsed.firstInvalidLine})`
          : '') +
        (parsed.ipv6 > 0 ? ` (${parsed.ipv6} IPv6 ranges, not filtered)` : ''),
    );
  return parsed;
}
