/**
 * The bitstate CLI as a managed child process, run from the build (`bin/bitstate.js` → `dist/`), the
 * way a user runs it: `bitstate download <torrent> --json …`. Its stdout is NDJSON (one
 * `DownloadEvent` per line, src/session/download-event.ts); each line is parsed as it arrives so a
 * test can wait for an event (e.g. the fifth `piece.verified`) while the download runs.
 *
 * The build must exist: `npm test` builds first; by hand, `npm run build`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { withDhtOff } from '../../helpers/dht-off.js';
import { HarnessError } from './harness-error.js';
import { repoRoot } from './paths.js';
import { compareTrees } from './payload.js';
import { type ManagedProcess, type ProcessExit, startProcess } from './processes.js';

/** One parsed NDJSON line: `type` plus the event's fields (and the display's `time`). */
export interface BitstateEvent {
  readonly type: string;
  readonly [field: string]: unknown;
}

export interface BitstateDownloadOptions {
  readonly torrent: string;
  /** `--out`: the folder the torrent's `<name>` lands in. */
  readonly out: string;
  /** `--peer HOST:PORT`, repeated. */
  readonly peers?: readonly string[];
  /** `--no-tracker`. */
  readonly noTracker?: boolean;
  /** `--timeout S` (bitstate's own stall timeout). */
  readonly stallTimeoutSec?: number;
  /** `--port N`; default 0 (any free port), so parallel tests never meet on 6881. */
  readonly port?: number;
  /** More arguments, appended as given. */
  readonly extraArgs?: readonly string[];
  /** Hard lifetime of the process (SIGKILL after). Default 60 s. */
  readonly timeoutMs?: number;
}

export interface BitstateRun {
  readonly process: ManagedProcess;
  /** Every NDJSON event so far, in order. */
  readonly events: readonly BitstateEvent[];
  /** stdout lines that were not a JSON object (there should be none with --json). */
  readonly strayLines: readonly string[];
  /** The first event (already seen or future) that `match` accepts; rejects on exit or timeout. */
  waitForEvent(
    match: (e: BitstateEvent, all: readonly BitstateEvent[]) => boolean,
    ms: number,
  ): Promise<BitstateEvent>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ProcessExit>;
  /** The process's stderr tail and the last events, for assertion messages. */
  describe(): string;
  stop(): Promise<void>;
}

/** Absolute path of bin/bitstate.js; throws a HarnessError when dist/ has not been built. */
export function bitstateBin(): string {
  const root = repoRoot();
  const main = join(root, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) {
    throw new HarnessError('spawnFailed', `bitstate is not built (${main} missing): run \`npm run build\``, {
      main,
    });
  }
  return join(root, 'bin', 'bitstate.js');
}

/** The `bitstate download` argument list for these options (always with --json). */
export function bitstateDownloadArgs(o: BitstateDownloadOptions): string[] {
  const args = ['download', o.torrent, '--out', o.out, '--json', '--port', String(o.port ?? 0)];
  for (const p of o.peers ?? []) args.push('--peer', p);
  if (o.noTracker) args.push('--no-tracker');
  if (o.stallTimeoutSec !== undefined) args.push('--timeout', String(o.stallTimeoutSec));
  args.push(...(o.extraArgs ?? []));
  return withDhtOff(args);
}

/** Starts `bitstate download … --json` and parses its events as they come. */
export function startBitstateDownload(o: BitstateDownloadOptions): BitstateRun {
  const proc = startProcess(process.execPath, [bitstateBin(), ...bitstateDownloadArgs(o)], {
    name: 'bitstate download',
    timeoutMs: o.timeoutMs ?? 60_000,
    env: { ...process.env, BITSTATE_DEBUG: '1' },
    tailBytes: 16 * 1024,
  });
  const events: BitstateEvent[] = [];
  const strayLines: string[] = [];
  const waiters = new Set<() => void>();
  proc.onLine((line, stream) => {
    if (stream !== 'stdout') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      strayLines.push(line);
      return;
    }
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      typeof (parsed as { type?: unknown }).type === 'string'
    ) {
      events.push(parsed as BitstateEvent);
      for (const w of [...waiters]) w();
    } else {
      strayLines.push(line);
    }
  });
  const describe = (): string => {
    const last = events
      .slice(-8)
      .map((e) => JSON.stringify(e))
      .join('\n  ');
    return `exit ${JSON.stringify(proc.exit() ?? 'running')}; ${events.length} events, last:\n  ${last}\nstderr tail: ${
      proc.stderrTail().trim().slice(-2000) || '(empty)'
    }`;
  };
  return {
    process: proc,
    events,
    strayLines,
    exited: proc.exited,
    describe,
    waitForEvent(match, ms) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          let hit: BitstateEvent | undefined;
          try {
            hit = events.find((e) => match(e, events));
          } catch (err) {
            cleanup();
            reject(err);
            return true;
          }
          if (hit === undefined) return false;
          cleanup();
          resolve(hit);
          return true;
        };
        const cleanup = (): void => {
          waiters.delete(onEvent);
          clearTimeout(timer);
        };
        const onEvent = (): void => {
          check();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new HarnessError('notReady', `bitstate: no matching event after ${ms} ms; ${describe()}`, { ms }),
          );
        }, ms);
        if (check()) return;
        waiters.add(onEvent);
        void proc.exited.then(() => {
          // Lines are delivered before 'close'; one last look, then give up.
          if (!waiters.has(onEvent) || check()) return;
          cleanup();
          reject(new HarnessError('exited', `bitstate exited before the event; ${describe()}`, {}));
        });
      });
    },
    async stop() {
      await proc.stop(3000);
    },
  };
}

/** Runs `bitstate download` to its end (or the hard timeout) and returns the run. */
export async function runBitstateDownload(
  o: BitstateDownloadOptions,
): Promise<BitstateRun & { exit: ProcessExit }> {
  const run = startBitstateDownload(o);
  const exit = await run.exited;
  return Object.assign(run, { exit });
}

/**
 * What a complete `--json` download must show, as a list of problems (empty = fine): `metadata`
 * first (with the expected piece count), at least one `peer.connected`, a `piece.verified` for every
 * piece index, no `piece.failed` unless allowed, and `done` last.
 */
export function checkCompleteDownloadEvents(
  events: readonly BitstateEvent[],
  expected: {
    readonly pieceCount: number;
    /** The files' bytes, padding left out, as `metadata` and `done` count them (not libtorrent's total_size()). */
    readonly totalLength: number;
    readonly allowFailedPieces?: boolean;
  },
): string[] {
  const problems: string[] = [];
  const first = events[0];
  if (first?.type !== 'metadata') problems.push(`first event is ${first?.type ?? 'missing'}, not metadata`);
  else {
    if (first.pieceCount !== expected.pieceCount)
      problems.push(`metadata.pieceCount ${String(first.pieceCount)}, expected ${expected.pieceCount}`);
    if (first.totalLength !== expected.totalLength)
      problems.push(`metadata.totalLength ${String(first.totalLength)}, expected ${expected.totalLength}`);
  }
  if (!events.some((e) => e.type === 'peer.connected')) problems.push('no peer.connected event');
  const verified = new Set<number>();
  for (const e of events)
    if (e.type === 'piece.verified' && typeof e.index === 'number') verified.add(e.index);
  const missing: number[] = [];
  for (let i = 0; i < expected.pieceCount; i++) if (!verified.has(i)) missing.push(i);
  if (missing.length > 0)
    problems.push(`${missing.length} pieces never verified (first: ${missing.slice(0, 10).join(', ')})`);
  for (const i of verified)
    if (i < 0 || i >= expected.pieceCount) problems.push(`piece.verified for index ${i} out of range`);
  if (!expected.allowFailedPieces) {
    const failed = events.filter((e) => e.type === 'piece.failed').map((e) => e.index);
    if (failed.length > 0) problems.push(`piece.failed for ${failed.join(', ')}`);
  }
  const last = events.at(-1);
  if (last?.type !== 'done') problems.push(`last event is ${last?.type ?? 'missing'}, not done`);
  else if (last.totalLength !== expected.totalLength)
    problems.push(`done.totalLength ${String(last.totalLength)}, expected ${expected.totalLength}`);
  return problems;
}

/**
 * Everything a finished, successful run must satisfy, as a list of problems (empty = fine): exit 0,
 * nothing but NDJSON on stdout, the events of `checkCompleteDownloadEvents`, and `dest` equal to
 * `source` byte for byte (compareTrees).
 */
export async function checkSuccessfulDownload(
  run: BitstateRun,
  expected: {
    readonly source: string;
    readonly dest: string;
    readonly pieceCount: number;
    readonly totalLength: number;
    readonly allowFailedPieces?: boolean;
  },
): Promise<string[]> {
  const exit = await run.exited;
  const problems: string[] = [];
  if (exit.code !== 0)
    problems.push(`exit code ${exit.code} (signal ${exit.signal}, timed out ${exit.timedOut})`);
  if (run.strayLines.length > 0)
    problems.push(`stdout lines that are not NDJSON events: ${run.strayLines.slice(0, 3).join(' | ')}`);
  problems.push(...checkCompleteDownloadEvents(run.events, expected));
  // A failed run's files are partly written: the comparison would only repeat the events' story.
  if (exit.code !== 0) return problems;
  if (existsSync(expected.dest)) {
    const cmp = await compareTrees(expected.source, expected.dest);
    problems.push(...cmp.mismatches);
    if (cmp.equal && cmp.bytes !== expected.totalLength)
      problems.push(`compared ${cmp.bytes} bytes, expected ${expected.totalLength}`);
  } else problems.push(`${expected.dest} does not exist`);
  return problems;
}

/** `bitstate seed` running with `--json`: its port, its process and its events as they arrive. */
export interface BitstateSeeder {
  readonly port: number;
  readonly process: ManagedProcess;
  readonly events: Record<string, unknown>[];
}

/**
 * Starts `bitstate seed TORRENT --data DATA --port 0 --json …extra` (announcing unless `extra` says
 * `--no-tracker`) and resolves once it listens. The caller stops `process`.
 */
export async function startBitstateSeeder(
  torrent: string,
  data: string,
  extra: readonly string[] = [],
): Promise<BitstateSeeder> {
  const p = startProcess(
    process.execPath,
    [bitstateBin(), ...withDhtOff(['seed', torrent, '--data', data, '--port', '0', '--json', ...extra])],
    { name: 'bitstate seed', timeoutMs: 90_000 },
  );
  const events: Record<string, unknown>[] = [];
  p.onLine((line, stream) => {
    if (stream === 'stdout' && line.startsWith('{')) events.push(JSON.parse(line) as Record<string, unknown>);
  });
  try {
    const line = await p.waitForLine(/"type":"listening"/, 20_000);
    return { port: (JSON.parse(line) as { port: number }).port, process: p, events };
  } catch (err) {
    await p.stop();
    throw err;
  }
}
