/**
 * The throughput part's second placement (issue #8, twelfth pass): the seeders on the first half of
 * the CPUs this process may use, the downloader on the rest. On one machine the seeders otherwise
 * share the downloader's cores, and what a download then measures depends on how the scheduler
 * shares them between the seeders' threads and the downloader's (a single-threaded downloader is
 * one thread among the seeders' many). Split, the seeders run beside the downloader as seeders on
 * other machines would, and each downloader gets the same cores whatever its threads.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface CpuSplit {
  /** CPUs the seeders run on. */
  readonly swarm: readonly number[];
  /** CPUs the downloader runs on. */
  readonly downloader: readonly number[];
  /** Every CPU this process may use: where a seeder goes back to after a split round. */
  readonly all: readonly number[];
}

/** "0-1", "0,2-3": a CPU list as Linux prints it (/proc/PID/status `Cpus_allowed_list`, taskset -c). */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m === null) throw new Error(`not a CPU list: '${text}'`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let c = from; c <= to; c++) cpus.push(c);
  }
  return cpus;
}

/** The CPUs split in two: the first half (rounded down) for the seeders; none with fewer than 2. */
export function cpuSplit(allowed: readonly number[]): CpuSplit | undefined {
  if (allowed.length < 2) return undefined;
  const half = Math.floor(allowed.length / 2);
  return { swarm: allowed.slice(0, half), downloader: allowed.slice(half), all: [...allowed] };
}

/** The CPUs this process may run on, from /proc/self/status; undefined where that is not there. */
export function allowedCpus(): number[] | undefined {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m?.[1] === undefined ? undefined : parseCpuList(m[1]);
  } catch {
    return undefined;
  }
}

/** Every thread of process `pid` to `cpus` (`taskset -a -p`; threads it starts later inherit it). */
export function pinProcess(pid: number, cpus: readonly number[]): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus.join(','), String(pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 10_000,
  });
}
