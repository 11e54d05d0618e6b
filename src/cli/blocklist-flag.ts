/**
 * `--blocklist FILE` (download, seed): the IP filter read (src/net/read-blocklist.ts) before the
 * session starts, and said once on stderr — how many ranges, and the lines that were skipped (how
 * many, the first's number), as Transmission and qBittorrent skip them. A file that cannot be used
 * is a BlocklistError: one line, exit 2.
 */
import type { IpRangeSet } from '../net/ip-range-set.js';
import { readBlocklist } from '../net/read-blocklist.js';
import type { DisplayMode } from './download-display.js';
import { printable } from './printable.js';

export async function blocklistOption(
  path: string | undefined,
  mode: DisplayMode,
  err: NodeJS.WritableStream = process.stderr,
): Promise<{ blocklist?: IpRangeSet }> {
  if (path === undefined) return {};
  const parsed = await readBlocklist(path);
  const skipped: string[] = [];
  if (parsed.invalid > 0)
    skipped.push(
      `${parsed.invalid} invalid line${parsed.invalid === 1 ? '' : 's'} skipped (the first: line ${parsed.firstInvalidLine})`,
    );
  if (parsed.ipv6 > 0)
    skipped.push(`${parsed.ipv6} IPv6 range${parsed.ipv6 === 1 ? '' : 's'} not filtered (IPv4 only)`);
  if (mode !== 'quiet' && (mode === 'terminal' || skipped.length > 0)) {
    const { ranges } = parsed;
    err.write(
      `${printable(`blocklist ${path}: ${ranges.size} range${ranges.size === 1 ? '' : 's'} (${ranges.addressCount} addresses) blocked${skipped.length === 0 ? '' : `; ${skipped.join('; ')}`}`)}\n`,
    );
  }
  return { blocklist: parsed.ranges };
}
