/**
 * Runs one downloader under bench/measure.py (wait4 rusage) and returns what it cost. CPU and peak
 * RSS cover the child and the descendants it waited for; threads (libtorrent's, Node's workers)
 * are part of the child.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_PYTHON } from '../test/interop/harness/info-hash.js';
import { repoRoot } from '../test/interop/harness/paths.js';
import { startProcess } from '../test/interop/harness/processes.js';

export interface Measurement {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly userSeconds: number;
  readonly systemSeconds: number;
  readonly maxRssBytes: number;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  /** The end of stderr and stdout, for the report when something failed. */
  readonly outputTail: string;
}

export async function measure(
  command: string,
  args: readonly string[],
  opts: {
    readonly name: string;
    readonly timeoutMs: number;
    readonly cwd?: string;
    /** Run the command on these CPUs only (bench/suite/cpu-split.ts). */
    readonly cpus?: readonly number[];
  },
): Promise<Measurement> {
  const scratch = await mkdtemp(join(tmpdir(), 'bitstate-measure-'));
  const resultPath = join(scratch, 'result.json');
  try {
    const proc = startProcess(
      SYSTEM_PYTHON,
      [
        join(repoRoot(), 'bench', 'measure.py'),
        resultPath,
        ...(opts.cpus === undefined ? [] : ['--cpus', opts.cpus.join(',')]),
        '--',
        command,
        ...args,
      ],
      { name: opts.name, timeoutMs: opts.timeoutMs, cwd: opts.cwd ?? repoRoot() },
    );
    const exit = await proc.exited;
    const outputTail = `${proc.stderrTail().trim()}\n${proc.stdoutTail().trim()}`.trim().slice(-2000);
    let raw: Record<string, number | string> = {};
    try {
      raw = JSON.parse(await readFile(resultPath, 'utf8')) as Record<string, number | string>;
    } catch {
      // killed before measure.py wrote its result (timeout)
    }
    const num = (k: string): number => (typeof raw[k] === 'number' ? raw[k] : Number.NaN);
    return {
      wallSeconds: num('wallSeconds'),
      userSeconds: num('userSeconds'),
      systemSeconds: num('systemSeconds'),
      cpuSeconds: num('userSeconds') + num('systemSeconds'),
      maxRssBytes: num('maxRssKiB') * 1024,
      exitCode: exit.timedOut ? null : typeof raw.exitCode === 'number' ? raw.exitCode : exit.code,
      timedOut: exit.timedOut,
      outputTail: typeof raw.error === 'string' ? raw.error : outputTail,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
