/**
 * Child processes for the interop tests and the benchmark: each runs in its own process group
 * (so a wrapper's descendants die with it), has a hard timeout, keeps the tail of its output for
 * error messages, and is killed when the test ends or when this Node process exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { HarnessError } from './harness-error.js';

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when the hard timeout killed it. */
  readonly timedOut: boolean;
}

export interface StartOptions {
  /** Shown in error messages; defaults to the command's basename. */
  readonly name?: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** SIGKILL the whole group after this long (ms). Default 120 s: nothing here may run unbounded. */
  readonly timeoutMs?: number;
  /** Bytes of stdout and of stderr kept for messages. Default 8 KiB each. */
  readonly tailBytes?: number;
}

export type LineMatcher = RegExp | ((line: string) => boolean);

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves (never rejects) when the process has exited. */
  readonly exited: Promise<ProcessExit>;
  /** Set once the process has exited. */
  exit(): ProcessExit | undefined;
  stdoutTail(): string;
  stderrTail(): string;
  /** Calls `listener` with each line of stdout/stderr (split at \n and \r). Returns an unsubscribe. */
  onLine(listener: (line: string, stream: 'stdout' | 'stderr') => void): () => void;
  /** The first line (recent or future) that matches; rejects if the process exits or time runs out. */
  waitForLine(match: LineMatcher, timeoutMs: number): Promise<string>;
  /** SIGTERM to the group, SIGKILL after `graceMs` (default 3 s). Safe to call twice. */
  stop(graceMs?: number): Promise<ProcessExit>;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_TAIL_BYTES = 8192;
const RECENT_LINES = 200;

/** Every process group still alive, killed if this Node process exits before stopping them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
  });
}

function matches(match: LineMatcher, line: string): boolean {
  return typeof match === 'function' ? match(line) : match.test(line);
}

export function startProcess(
  command: string,
  args: readonly string[],
  options: StartOptions = {},
): ManagedProcess {
  installExitHook();
  const name = options.name ?? command.split('/').pop() ?? command;
  const tailBytes = options.tailBytes ?? DEFAULT_TAIL_BYTES;
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: `kill(-pid)` reaches wrappers' children too.
    detached: true,
  });
  live.add(child);
  const tails = { stdout: '', stderr: '' };
  const partial = { stdout: '', stderr: '' };
  const recent: string[] = [];
  const listeners = new Set<(line: string, stream: 'stdout' | 'stderr') => void>();
  let exitInfo: ProcessExit | undefined;
  let timedOut = false;
  let spawnError: Error | undefined;

  const feed = (stream: 'stdout' | 'stderr', chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    tails[stream] = (tails[stream] + text).slice(-tailBytes);
    const parts = (partial[stream] + text).split(/\r\n|\n|\r/);
    partial[stream] = parts.pop() ?? '';
    for (const line of parts) {
      if (line.length === 0) continue;
      recent.push(line);
      if (recent.length > RECENT_LINES) recent.shift();
      for (const l of listeners) l(line, stream);
    }
  };
  child.stdout?.on('data', (c: Buffer) => feed('stdout', c));
  child.stderr?.on('data', (c: Buffer) => feed('stderr', c));

  const hardTimer = setTimeout(() => {
    timedOut = true;
    killGroup(child, 'SIGKILL');
  }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);

  const exited = new Promise<ProcessExit>((resolve) => {
    child.on('error', (err) => {
      spawnError = err;
      // A spawn failure emits no 'close' when no stdio was opened; settle here too.
      if (child.pid === undefined) {
        clearTimeout(hardTimer);
        live.delete(child);
        exitInfo = { code: null, signal: null, timedOut: false };
        resolve(exitInfo);
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(hardTimer);
      live.delete(child);
      // Stop the rest of the group (e.g. a wrapper's orphans) once the leader is gone.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // group already empty
        }
      }
      exitInfo = { code, signal, timedOut };
      resolve(exitInfo);
    });
  });

  const describe = (): string => {
    const err = tails.stderr.trim().slice(-1500);
    const out = tails.stdout.trim().slice(-1500);
    const spawnMsg = spawnError ? ` spawn error: ${spawnError.message};` : '';
    return `${spawnMsg} stderr tail: ${err || '(empty)'}; stdout tail: ${out || '(empty)'}`;
  };

  const proc: ManagedProcess = {
    name,
    pid: child.pid ?? -1,
    exited,
    exit: () => exitInfo,
    stdoutTail: () => tails.stdout,
    stderrTail: () => tails.stderr,
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitForLine(match, timeoutMs) {
      const seen = recent.find((line) => matches(match, line));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        let pending = true;
        const off = proc.onLine((line) => {
          if (!matches(match, line)) return;
          cleanup();
          resolve(line);
        });
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new HarnessError(
              'notReady',
              `${name}: no line matching ${String(match)} after ${timeoutMs} ms;${describe()}`,
              {
                timeoutMs,
              },
            ),
          );
        }, timeoutMs);
        void exited.then((exit) => {
          if (!pending) return;
          cleanup();
          reject(
            new HarnessError(
              spawnError ? 'spawnFailed' : 'exited',
              `${name} exited (code ${exit.code}, signal ${exit.signal}) before printing ${String(match)};${describe()}`,
              { ...exit },
            ),
          );
        });
        function cleanup(): void {
          pending = false;
          off();
          clearTimeout(timer);
        }
      });
    },
    async stop(graceMs = 3000) {
      if (exitInfo) return exitInfo;
      killGroup(child, 'SIGTERM');
      const kill = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(kill);
      return result;
    },
  };
  return proc;
}

export interface RunResult {
  readonly exit: ProcessExit;
  readonly elapsedMs: number;
  readonly stdoutTail: string;
  readonly stderrTail: string;
}

/**
 * Runs a command to its end. Rejects with a HarnessError (`timeout`, `exited` or `spawnFailed`)
 * unless it exits 0 within `timeoutMs`.
 */
export async function runProcess(
  command: string,
  args: readonly string[],
  options: StartOptions & {
    readonly timeoutMs: number;
    /** Each line of stdout/stderr as it arrives (the tails keep only the last few KiB). */
    readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  },
): Promise<RunResult> {
  const started = performance.now();
  const proc = startProcess(command, args, options);
  if (options.onLine !== undefined) proc.onLine(options.onLine);
  const exit = await proc.exited;
  const elapsedMs = performance.now() - started;
  const result = { exit, elapsedMs, stdoutTail: proc.stdoutTail(), stderrTail: proc.stderrTail() };
  if (exit.code === 0) return result;
  const tail = `stderr tail: ${result.stderrTail.trim().slice(-1500) || '(empty)'}; stdout tail: ${
    result.stdoutTail.trim().slice(-1500) || '(empty)'
  }`;
  if (exit.timedOut) {
    throw new HarnessError('timeout', `${proc.name} ran past ${options.timeoutMs} ms; ${tail}`, {
      timeoutMs: options.timeoutMs,
    });
  }
  const code = proc.pid === -1 ? 'spawnFailed' : 'exited';
  throw new HarnessError(
    code,
    `${proc.name} exited with code ${exit.code} (signal ${exit.signal}); ${tail}`,
    {
      ...exit,
      elapsedMs,
    },
  );
}

/** Anything with a `stop()`: processes, seeders, trackers. */
export interface Stoppable {
  stop(): Promise<unknown>;
}

/** Stops them all, in reverse order of start, ignoring failures (for finally blocks). */
export async function stopAll(items: readonly (Stoppable | undefined)[]): Promise<void> {
  for (const item of [...items].reverse()) {
    if (item === undefined) continue;
    try {
      await item.stop();
    } catch {
      // already gone
    }
  }
}

/** Registers `stop()` of each item to run when the node:test test `t` ends. */
export function stopOnEnd(t: { after(fn: () => unknown): void }, ...items: Stoppable[]): void {
  t.after(() => stopAll(items));
}

/**
 * `work`, unless `proc` exits first: then a HarnessError('exited') with its output tail. Leaves no
 * dangling rejection behind whichever way it ends.
 */
export function whileRunning<T>(proc: ManagedProcess, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    work.then(
      (v) => {
        settled = true;
        resolve(v);
      },
      (e: unknown) => {
        settled = true;
        reject(e);
      },
    );
    void proc.exited.then((exit) => {
      if (settled) return;
      settled = true;
      reject(
        new HarnessError(
          'exited',
          `${proc.name} exited (code ${exit.code}, signal ${exit.signal}); stderr tail: ${
            proc.stderrTail().trim().slice(-1500) || '(empty)'
          }; stdout tail: ${proc.stdoutTail().trim().slice(-1500) || '(empty)'}`,
          { ...exit },
        ),
      );
    });
  });
}
