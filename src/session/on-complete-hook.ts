/**
 * `--on-complete CMD` (`onComplete`): a command run once when a torrent's download completes — every
 * wanted piece verified and the data synced to disk — as aria2's `--on-bt-download-complete`,
 * Transmission's `script-torrent-done-filename` and qBittorrent's "run external program on torrent
 * finished" (docs/on-complete.md). CMD goes to `/bin/sh -c` as the user wrote it; what the torrent
 * names (its name, its paths) never enters the command string, only environment variables
 * (`BITSTATE_NAME`, `BITSTATE_PATH`, …): a torrent named `$(rm -rf ~)` is a string in `$BITSTATE_NAME`,
 * never shell. Its stdout and stderr are our stderr (stdout stays the `--json` events'), its stdin
 * /dev/null. It runs in a process group of its own, which is killed (SIGTERM, then SIGKILL) when it
 * outlives `timeoutMs`, when the session is stopped (Ctrl-C), and when this process exits while it
 * runs (not when a signal we do not catch ends us: SIGHUP, SIGKILL). `hook.started` and
 * `hook.exited` report it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Torrent } from '../metainfo/torrent.js';
import type { HookEvent } from './download-event.js';

export interface OnCompleteHook {
  /** Run by `/bin/sh -c`; the torrent's facts are in its environment (completionEnvironment). */
  readonly command: string;
  /**
   * Its process group is killed after this long (default DEFAULT_HOOK_TIMEOUT_MS; at most
   * MAX_HOOK_TIMEOUT_MS, about 24.8 days: checkOnComplete).
   */
  readonly timeoutMs?: number;
}

/** How long a hook may run before it is killed: a minute (aria2 and Transmission do not wait at all). */
export const DEFAULT_HOOK_TIMEOUT_MS = 60_000;
/** After SIGTERM, a hook's group still there this much later is sent SIGKILL. */
export const HOOK_KILL_GRACE_MS = 2_000;
/** The longest timeout: a timer's 2^31-1 ms (about 24.8 days); Node fires a longer one at once. */
export const MAX_HOOK_TIMEOUT_MS = 2 ** 31 - 1;

/** An `onComplete` that could never run as asked, refused before the session opens anything. */
export class OnCompleteError extends Error {
  override readonly name = 'OnCompleteError';
  readonly badInput = true;
}

/**
 * An OnCompleteError for a command that is not text sh could run (none, blank, a NUL in it, which
 * no process can be given), or a timeout that is not a number of ms from 1 to MAX_HOOK_TIMEOUT_MS.
 */
export function checkOnComplete(hook: OnCompleteHook | undefined): void {
  if (hook === undefined) return;
  const { command, timeoutMs } = hook as { command: unknown; timeoutMs?: unknown };
  if (typeof command !== 'string' || command.trim().length === 0)
    throw new OnCompleteError('onComplete.command: a command for /bin/sh -c, not a blank or no string');
  if (command.includes('\0')) throw new OnCompleteError('onComplete.command: a NUL byte cannot be run');
  if (
    timeoutMs !== undefined &&
    !(typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= MAX_HOOK_TIMEOUT_MS)
  )
    throw new OnCompleteError(
      `onComplete.timeoutMs: more than 0 and at most ${MAX_HOOK_TIMEOUT_MS} ms, not ${String(timeoutMs)}`,
    );
}

/**
 * What the hook is told, as environment variables (names prefixed `BITSTATE_`): the torrent's name,
 * its info-hash as the CLI prints it (v1's SHA-1, or a v2 torrent's SHA-256 cut to 20 bytes, as
 * qBittorrent's %K), its full v2 SHA-256 (v2 and hybrid, qBittorrent's %J), the output folder
 * (absolute), the content path (`DIR/<name>`: the file of a single-file torrent, the folder of a
 * multi-file one, qBittorrent's %F), the files stored and their bytes (padding files left out; with
 * a selection, the selected files).
 */
export function completionEnvironment(
  torrent: Pick<Torrent, 'name' | 'infoHashHex' | 'infoHashV2' | 'files'>,
  out: string,
  selected?: readonly boolean[],
): Record<string, string> {
  const dir = resolve(out);
  const stored = torrent.files.filter((f, i) => !f.padding && selected?.[i] !== false);
  return {
    BITSTATE_NAME: torrent.name,
    BITSTATE_INFO_HASH: torrent.infoHashHex,
    ...(torrent.infoHashV2 === undefined
      ? {}
      : { BITSTATE_INFO_HASH_V2: Buffer.from(torrent.infoHashV2).toString('hex') }),
    BITSTATE_DIR: dir,
    BITSTATE_PATH: resolve(dir, torrent.name),
    BITSTATE_FILES: String(stored.length),
    BITSTATE_SIZE: String(stored.reduce((n, f) => n + f.length, 0)),
  };
}

/** Process groups of hooks still running: killed if this process exits first (a second Ctrl-C). */
const liveGroups = new Set<number>();
const killLiveGroups = () => {
  for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
};

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** How often a killed hook's group is looked at, while its grace runs, for being empty. */
const GROUP_LOOK_MS = 50;

/** Resolves once no process of the group `pid` is left, or at `deadline` (performance.now()). */
function groupGone(pid: number, deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const look = () => {
      const left = deadline - performance.now();
      if (left <= 0 || !groupAlive(pid)) resolve();
      else setTimeout(look, Math.min(GROUP_LOOK_MS, left));
    };
    look();
  });
}

/**
 * Whether a process of the group `pid` is still there (signal 0 is sent to none). A zombie not yet
 * reaped by init counts: the wait is bounded by the grace all the same.
 */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * One torrent's hook: `start()` runs it, once; `stop()` kills it (or keeps it from starting: the
 * session was stopped); `settled` resolves once it has exited (at once when it never started).
 */
export class CompletionHook {
  readonly #hook: OnCompleteHook;
  readonly #env: Record<string, string>;
  readonly #emit: (e: HookEvent) => void;
  readonly #graceMs: number;
  #state: 'idle' | 'running' | 'over' = 'idle';
  #settled: Promise<void> = Promise.resolve();
  #kill: ((reason: 'timeout' | 'stopped') => void) | undefined;

  /** `graceMs`: from SIGTERM to SIGKILL (HOOK_KILL_GRACE_MS; a test gives its own). */
  constructor(
    hook: OnCompleteHook,
    env: Record<string, string>,
    emit: (e: HookEvent) => void,
    { graceMs = HOOK_KILL_GRACE_MS }: { readonly graceMs?: number } = {},
  ) {
    this.#hook = hook;
    this.#env = env;
    this.#emit = emit;
    this.#graceMs = graceMs;
  }

  get settled(): Promise<void> {
    return this.#settled;
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    this.#settled = this.#run().finally(() => {
      this.#state = 'over';
      this.#kill = undefined;
    });
  }

  /** Ctrl-C or stop(): a running hook is killed, one not started never starts. */
  stop(): void {
    if (this.#state === 'idle') this.#state = 'over';
    this.#kill?.('stopped');
  }

  #run(): Promise<void> {
    const started = performance.now();
    const timeoutMs = this.#hook.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
    return new Promise<void>((done) => {
      let child: ChildProcess;
      try {
        child = spawn('/bin/sh', ['-c', this.#hook.command], {
          // A group of its own (setsid): the timeout and Ctrl-C kill what it started too.
          detached: true,
          stdio: ['ignore', 2, 2],
          env: { ...process.env, ...this.#env },
        });
      } catch (err) {
        // Refused before any process (a NUL in a library caller's command): said as a failed start.
        this.#emit({
          type: 'hook.exited',
          code: null,
          signal: null,
          elapsedMs: 0,
          error: err instanceof Error ? err.message : String(err),
        });
        done();
        return;
      }
      const pid = child.pid;
      let killed: 'timeout' | 'stopped' | undefined;
      let timer: NodeJS.Timeout | undefined;
      let grace: NodeJS.Timeout | undefined;
      /** When the SIGTERM's grace is over (performance.now()): what is left of the group is SIGKILLed. */
      let graceEnds = 0;
      let ended = false;
      const end = (e: { code: number | null; signal: string | null; error?: string }) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        const elapsedMs = performance.now() - started;
        const finish = () => {
          clearTimeout(grace);
          if (pid !== undefined) {
            // Killed: what is left of its group goes with it, now.
            if (killed !== undefined) killGroup(pid, 'SIGKILL');
            liveGroups.delete(pid);
          }
          if (liveGroups.size === 0) process.off('exit', killLiveGroups);
          this.#emit({
            type: 'hook.exited',
            code: e.code,
            signal: e.signal,
            elapsedMs,
            ...(killed === undefined ? {} : { killed }),
            ...(e.error === undefined ? {} : { error: e.error }),
          });
          done();
        };
        // Killed, the shell dies of the SIGTERM at once, while what it ran may still be cleaning up
        // after it: the rest of the grace is theirs (until the group is empty), then SIGKILL.
        if (pid !== undefined && killed !== undefined) void groupGone(pid, graceEnds).then(finish);
        else finish();
      };
      // A spawn that fails (no /bin/sh, no process to be had) has no pid and says so here.
      child.once('error', (err) => end({ code: null, signal: null, error: err.message }));
      if (pid === undefined) return;
      child.once('exit', (code, signal) => end({ code, signal }));
      if (liveGroups.size === 0) process.on('exit', killLiveGroups);
      liveGroups.add(pid);
      this.#emit({ type: 'hook.started', command: this.#hook.command, pid });
      this.#kill = (reason) => {
        if (killed !== undefined) return;
        killed = reason;
        graceEnds = performance.now() + this.#graceMs;
        killGroup(pid, 'SIGTERM');
        grace = setTimeout(() => killGroup(pid, 'SIGKILL'), this.#graceMs);
      };
      timer = setTimeout(() => this.#kill?.('timeout'), timeoutMs);
    });
  }
}
