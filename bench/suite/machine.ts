/**
 * The machine a run was taken on (CPUs, memory, Node, kernel) and its load while the suite ran:
 * other engineers' tests share this machine, so every figure is reported beside the load.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly kernel: string;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
  };
}

/** Samples the 1-minute load average every `everyMs` until stopped. */
export class LoadSampler {
  private readonly samples: number[] = [];
  private readonly timer: NodeJS.Timeout;
  constructor(everyMs = 5000) {
    this.samples.push(loadavg()[0] ?? 0);
    this.timer = setInterval(() => this.samples.push(loadavg()[0] ?? 0), everyMs);
    this.timer.unref();
  }
  /** Samples from index `from` on (to report one part's load). */
  summary(from = 0): {
    readonly min: number;
    readonly mean: number;
    readonly max: number;
    readonly n: number;
  } {
    const s = this.samples.slice(from);
    if (s.length === 0) return { min: Number.NaN, mean: Number.NaN, max: Number.NaN, n: 0 };
    return {
      min: Math.min(...s),
      mean: s.reduce((a, b) => a + b, 0) / s.length,
      max: Math.max(...s),
      n: s.length,
    };
  }
  mark(): number {
    this.samples.push(loadavg()[0] ?? 0);
    return this.samples.length - 1;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** USER_HZ on Linux (`getconf CLK_TCK`): /proc reports CPU times in these. */
export const CLOCK_TICKS = 100;

/** utime and stime, in clock ticks, from the text of /proc/PID/stat or /proc/PID/task/TID/stat. */
export function statCpuTicks(stat: string): { readonly user: number; readonly system: number } {
  // The command name (field 2) may hold spaces and parentheses; the fields after its last closing
  // parenthesis are fixed: utime and stime are fields 14 and 15 of the line, 12 and 13 after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]), system: Number(fields[12]) };
}

/** User + system CPU seconds of a live process (all its threads), from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const { user, system } = statCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return (user + system) / CLOCK_TICKS;
}

/** Peak resident set size of a live process, in bytes (VmHWM). */
export function processPeakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : Number.NaN;
}
