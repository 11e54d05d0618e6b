/**
 * Runs the bitstate CLI from source (TypeScript through tsx, no build needed) in a child process,
 * bounded in time. Returns its exit code and what it wrote.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withDhtOff } from './dht-off.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(
  args: readonly string[],
  options: {
    timeoutMs?: number;
    cwd?: string;
    /**
     * Each whole line of stdout as it arrives (e.g. a `--json` event to act on mid-run), with a way
     * to send the child a signal (Ctrl-C: `signal('SIGINT')`).
     */
    onLine?: (line: string, signal: (s: NodeJS.Signals) => void) => void;
    /** Node's own flags for the child (e.g. `--trace-gc`), before the CLI's. */
    nodeArgs?: readonly string[];
    /** The child's process id, as soon as it is spawned (to look at it from outside: /proc/PID). */
    onSpawn?: (pid: number) => void;
  } = {},
): Promise<CliResult> {
  const script = `import(${JSON.stringify(MAIN)}).then((m) => m.main(process.argv.slice(1)))`;
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', '-e', script, ...withDhtOff(args)],
    {
      cwd: options.cwd ?? ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BITSTATE_DEBUG: '' },
    },
  );
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  let stdout = '';
  let stderr = '';
  let seen = 0;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    const end = stdout.lastIndexOf('\n') + 1;
    if (options.onLine === undefined || end <= seen) return;
    for (const line of stdout.slice(seen, end - 1).split('\n')) options.onLine(line, (s) => child.kill(s));
    seen = end;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Bad input as the CLI must answer it: exit 2, one line on stderr (starting `bitstate COMMAND: `
 * when `command` is given, matching `pattern` when given), no stack trace; nothing on stdout unless
 * `stdout` says it may be anything.
 */
export function assertOneLineError(
  r: CliResult,
  expect: { readonly command?: string; readonly pattern?: RegExp; readonly stdout?: 'empty' | 'any' } = {},
): void {
  assert.equal(r.code, 2, `exit code 2 expected: ${r.stderr}`);
  if (expect.stdout !== 'any') assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  if (expect.command !== undefined) assert.ok(lines[0]!.startsWith(`bitstate ${expect.command}: `), lines[0]);
  if (expect.pattern !== undefined) assert.match(lines[0]!, expect.pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}
