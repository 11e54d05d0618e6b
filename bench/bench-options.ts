/** Command-line options of bench/download.bench.ts. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export const CLIENTS = ['bitstate', 'aria2', 'libtorrent'] as const;
export type BenchClient = (typeof CLIENTS)[number];

export interface BenchOptions {
  readonly size: number;
  readonly pieceLength: number;
  readonly seeders: number;
  readonly rounds: number;
  readonly clients: readonly BenchClient[];
  /** single: one file; tree: nested folders, a tiny file, unaligned sizes. */
  readonly layout: 'single' | 'tree';
  /** Payload cache and scratch space (outside the repository). */
  readonly workDir: string;
  /** Per download, seconds. */
  readonly timeoutSec: number;
  /** Also write the raw measurements here. */
  readonly json: string | undefined;
}

export const USAGE = `Usage: node --import tsx bench/download.bench.ts [options]   (or: npm run build && npm run bench -- [options])
  --size 1G             payload size (K, M, G suffixes are powers of 1024)
  --piece-length 1M     piece length, a power of two from 32K to 256M
  --seeders 4           python3-libtorrent seeders on 127.0.0.1
  --rounds 3            downloads per client (the table shows medians)
  --clients bitstate,aria2,libtorrent
  --layout single|tree  one file, or a multi-file tree
  --dir PATH            payload cache and scratch (default: $TMPDIR/bitstate-bench)
  --timeout 600         seconds allowed per download
  --json FILE           write the raw measurements as JSON`;

export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
  readonly badInput = true;
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** "1G" → 1073741824; "256M", "512K", "1000" (bytes). Also accepts "MiB"/"MB" spellings as powers of 1024. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim());
  const unit = UNITS[(m?.[2] ?? '').toUpperCase()];
  if (m === null || unit === undefined)
    throw new BenchUsageError(`not a size: '${text}' (e.g. 1G, 256M, 512K)`);
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new BenchUsageError(`size out of range: '${text}'`);
  return bytes;
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new BenchUsageError(`--${name} wants a positive integer, got '${text}'`);
  return n;
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        size: { type: 'string', default: '1G' },
        'piece-length': { type: 'string', default: '1M' },
        seeders: { type: 'string', default: '4' },
        rounds: { type: 'string', default: '3' },
        clients: { type: 'string', default: CLIENTS.join(',') },
        layout: { type: 'string', default: 'single' },
        dir: { type: 'string', default: join(tmpdir(), 'bitstate-bench') },
        timeout: { type: 'string', default: '600' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new BenchUsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const str = (k: string): string => String(values[k]);
  const clients = str('clients')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
  for (const c of clients) {
    if (!(CLIENTS as readonly string[]).includes(c)) {
      throw new BenchUsageError(`unknown client '${c}' (known: ${CLIENTS.join(', ')})`);
    }
  }
  if (clients.length === 0) throw new BenchUsageError('--clients is empty');
  const layout = str('layout');
  if (layout !== 'single' && layout !== 'tree')
    throw new BenchUsageError(`--layout is single or tree, got '${layout}'`);
  return {
    size: parseSize(str('size')),
    pieceLength: parseSize(str('piece-length')),
    seeders: positiveInt('seeders', str('seeders')),
    rounds: positiveInt('rounds', str('rounds')),
    clients: clients as BenchClient[],
    layout,
    workDir: str('dir'),
    timeoutSec: positiveInt('timeout', str('timeout')),
    json: typeof values.json === 'string' ? values.json : undefined,
  };
}
