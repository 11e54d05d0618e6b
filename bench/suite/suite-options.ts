/** Command-line options of bench/suite.ts: which parts, what sizes, how many rounds. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchUsageError, parseSize } from '../bench-options.js';

/** The parts of issue #8, in the order they run (limits first: they frame every other figure). */
export const PARTS = [
  'limits',
  'throughput',
  'memory',
  'first-piece',
  'many-pieces',
  'scale',
  'seeding',
] as const;
export type SuitePart = (typeof PARTS)[number];

export interface SuiteOptions {
  readonly parts: readonly SuitePart[];
  /** Throughput and seeding payload. */
  readonly size: number;
  /** The big sparse payload of the memory part (bitstate only). */
  readonly bigSize: number;
  readonly rounds: number;
  /** Peer connections of the scale part. */
  readonly connections: number;
  /** Pieces of the many-pieces torrent (16 KiB each). */
  readonly manyPieces: number;
  readonly workDir: string;
  readonly timeoutSec: number;
  readonly json: string | undefined;
  /** Throughput part: also run each round with the seeders and the downloader on separate CPUs (table 1s). */
  readonly split: boolean;
}

export const SUITE_USAGE = `Usage: node --import tsx bench/suite.ts [options]     (npm run build first: bitstate runs from dist/)
  --parts LIST        comma-separated, default all: ${PARTS.join(',')}
  --size 1G           throughput and seeding payload (K, M, G are powers of 1024)
  --big-size 8G       memory part: bitstate on a sparse payload of this size beside the same at --size
  --rounds 3          rounds per measurement (tables show medians)
  --connections 500   scale part: peer connections at once
  --many-pieces 100000  many-pieces part: pieces of 16 KiB in the torrent
  --quick             small everything (64M, 256M, 1 round, 60 connections, 10000 pieces) to try the suite
  --dir PATH          payload cache and scratch (default: $TMPDIR/bitstate-suite)
  --timeout 900       seconds allowed per download
  --json FILE         write every measurement as JSON
  --shared-only       throughput part: skip the rounds with the seeders and the downloader on separate CPUs (table 1s)`;

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new BenchUsageError(`--${name} wants a positive integer, got '${text}'`);
  return n;
}

export function parseSuiteOptions(argv: readonly string[]): SuiteOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        parts: { type: 'string', default: PARTS.join(',') },
        size: { type: 'string' },
        'big-size': { type: 'string' },
        rounds: { type: 'string' },
        connections: { type: 'string' },
        'many-pieces': { type: 'string' },
        quick: { type: 'boolean', default: false },
        dir: { type: 'string', default: join(tmpdir(), 'bitstate-suite') },
        timeout: { type: 'string', default: '900' },
        json: { type: 'string' },
        'shared-only': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new BenchUsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const quick = values.quick === true;
  const pick = (k: string, full: string, small: string): string =>
    typeof values[k] === 'string' ? (values[k] as string) : quick ? small : full;
  const parts = String(values.parts)
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  for (const p of parts) {
    if (!(PARTS as readonly string[]).includes(p))
      throw new BenchUsageError(`unknown part '${p}' (known: ${PARTS.join(', ')})`);
  }
  if (parts.length === 0) throw new BenchUsageError('--parts is empty');
  const size = parseSize(pick('size', '1G', '64M'));
  const bigSize = parseSize(pick('big-size', '8G', '256M'));
  if (bigSize < size) throw new BenchUsageError(`--big-size (${bigSize}) is smaller than --size (${size})`);
  const manyPieces = positiveInt('many-pieces', pick('many-pieces', '100000', '10000'));
  return {
    // Always in the suite's own order, whatever order they were named in.
    parts: PARTS.filter((p) => parts.includes(p)),
    size,
    bigSize,
    rounds: positiveInt('rounds', pick('rounds', '3', '1')),
    connections: positiveInt('connections', pick('connections', '500', '60')),
    manyPieces,
    workDir: String(values.dir),
    timeoutSec: positiveInt('timeout', String(values.timeout)),
    json: typeof values.json === 'string' ? values.json : undefined,
    split: values['shared-only'] !== true,
  };
}
