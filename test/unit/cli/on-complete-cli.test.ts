/**
 * `bitstate download --on-complete CMD` from source in a child process (127.0.0.1, the DHT off, a real
 * seeder in this process, stopped after each test): CMD runs once, after the data is on disk (it
 * hashes the file itself), told the torrent by BITSTATE_* variables; its stdout and stderr reach our
 * stderr, never the --json stdout; a torrent named with `$(…)`, backticks, quotes, `;`, `&` and a
 * newline runs nothing of its name, even through unquoted expansions; a hook that exits 3 is one line
 * and exit 0; several torrents, a run each; a torrent complete at the start runs none; with --seed it
 * runs as seeding begins; one that outlives --on-complete-timeout is killed with what it started, as
 * is one running when Ctrl-C comes (exit 130); bad flags, exit 2.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { assertOneLineError, type CliResult, runCli } from '../../helpers/run-cli.js';
import { listeningSeeder, tempDir, within } from '../../helpers/session.js';
import type { TestContext } from '../../helpers/temp-dir.js';

/** `DIR/data/NAME` of random bytes, its torrent in DIR/NAME-ish.torrent, seeded from DIR/data. */
async function seeded(t: TestContext, dir: string, name: string, size = 120_000) {
  const data = join(dir, 'data');
  await mkdir(data, { recursive: true });
  const bytes = randomBytes(size);
  await writeFile(join(data, name), bytes);
  const torrentBytes = await createTorrent(join(data, name), { pieceLength: 16384 });
  const path = join(dir, `${createHash('sha1').update(name).digest('hex')}.torrent`);
  await writeFile(path, torrentBytes);
  const torrent = parseTorrent(torrentBytes);
  const port = await listeningSeeder(t, torrent, data);
  return { path, bytes, torrent, peer: `127.0.0.1:${port}` };
}

/**
 * The CLI with `extraArgs` after `args` (the --on-complete flags), bounded by `timeoutMs`; the
 * command given to --on-complete starts in `cwd` (the CLI runs from the checkout, where tsx is).
 */
function runWith(
  t: TestContext,
  args: readonly string[],
  o: Omit<NonNullable<Parameters<typeof runCli>[1]>, 'cwd'> & {
    readonly cwd: string;
    readonly extraArgs: readonly string[];
  },
): Promise<CliResult> {
  const { extraArgs, cwd, onLine, ...options } = o;
  const at = extraArgs.indexOf('--on-complete');
  const extra = extraArgs.map((a, i) => (i === at + 1 && at >= 0 ? `cd '${cwd}' || exit 97; ${a}` : a));
  // A hook's process group (--json says its pid) never outlives the test, whatever failed; nor the
  // bound: a hook left running holds our stderr pipe open, and runCli's wait for it, past the
  // SIGKILL of the CLI at its bound.
  const groups: number[] = [];
  const killGroups = () => {
    for (const pid of groups)
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {}
  };
  t.after(killGroups);
  const bound = setTimeout(killGroups, options.timeoutMs ?? 60_000);
  return runCli([...args, ...extra], {
    ...options,
    onLine: (line, signal) => {
      const e = (line.startsWith('{') ? JSON.parse(line) : {}) as { type?: string; pid?: number };
      if (e.type === 'hook.started' && e.pid !== undefined) groups.push(e.pid);
      onLine?.(line, signal);
    },
  }).finally(() => clearTimeout(bound));
}

const jsonLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/**
 * A hook written in Node: records its BITSTATE_* variables and the SHA-1 of the file at
 * BITSTATE_PATH as it finds it, in `record` (JSON); says a word on stdout and on stderr.
 */
async function recordingHook(dir: string): Promise<{ command: string; record: string }> {
  const script = join(dir, 'hook.cjs');
  const record = join(dir, 'record.json');
  await writeFile(
    script,
    `const fs = require('node:fs');
const crypto = require('node:crypto');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('BITSTATE_')));
const sha1 = crypto.createHash('sha1').update(fs.readFileSync(process.env.BITSTATE_PATH)).digest('hex');
fs.writeFileSync(process.argv[2], JSON.stringify({ env, sha1 }));
process.stdout.write('hook-said-this-on-stdout\\n');
process.stderr.write('hook-said-this-on-stderr\\n');
`,
  );
  return { command: `"${process.execPath}" "${script}" "${record}"`, record };
}

/** Every stdout line an NDJSON event: nothing of the hook's there. */
function assertCleanJson(r: CliResult): Record<string, unknown>[] {
  assert.doesNotMatch(r.stdout, /hook-said/);
  return jsonLines(r.stdout);
}

/** The pid a hook wrote to `file` (its background child), killed after the test if still there. */
async function childPid(t: TestContext, file: string): Promise<number> {
  const pid = Number(await readFile(file, 'utf8'));
  t.after(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  });
  return pid;
}

/** Whether `pid` still runs: gone, or a zombie (killed, its parent gone, not yet reaped), is not. */
function running(pid: number): boolean {
  try {
    // The state follows the parenthesised command name: `pid (comm) S …`.
    return !/\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Resolves once `pid` no longer runs (a signal's delivery is not its end), or rejects after 20 s. */
function ended(pid: number): Promise<void> {
  return within(
    20_000,
    new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (running(pid)) return;
        clearInterval(poll);
        resolve();
      }, 20);
    }),
    `process ${pid} still running`,
  );
}

test('--on-complete runs once the data is on disk, told the torrent by BITSTATE_* only; its output on stderr, --json stdout clean', async (t) => {
  const dir = await tempDir(t, 'bitstate-on-complete-');
  const a = await seeded(t, dir, 'a.bin');
  const out = join(dir, 'out');
  const hook = await recordingHook(dir);
  const r = await runWith(
    t,
    ['download', a.path, '-o', out, '--peer', a.peer, '--no-tracker', '--port', '0', '--json'],
    { timeoutMs: 60_000, cwd: dir, extraArgs: ['--on-complete', hook.command] },
  );
  assert.equal(r.code, 0, r.stderr);
  const { env, sha1 } = JSON.parse(await readFile(hook.record, 'utf8')) as {
    env: Record<string, string>;
    sha1: string;
  };
  assert.equal(sha1, createHash('sha1').update(a.bytes).digest('hex'), 'the hook found the whole file');
  delete env.BITSTATE_DEBUG; // the test's own, passed on as every variable is
  assert.deepEqual(env, {
    BITSTATE_NAME: 'a.bin',
    BITSTATE_INFO_HASH: a.torrent.infoHashHex,
    BITSTATE_DIR: out,
    BITSTATE_PATH: join(out, 'a.bin'),
    BITSTATE_FILES: '1',
    BITSTATE_SIZE: '120000',
  });
  assert.match(r.stderr, /hook-said-this-on-stdout/);
  assert.match(r.stderr, /hook-said-this-on-stderr/);
  const events = assertCleanJson(r);
  const types = events.map((e) => e.type);
  assert.equal(types.filter((x) => x === 'hook.started').length, 1);
  const exited = events.filter((e) => e.type === 'hook.exited');
  assert.equal(exited.length, 1);
  assert.equal(exited[0]!.code, 0);
  assert.equal(exited[0]!.signal, null);
  assert.ok(types.indexOf('hook.exited') < types.indexOf('done'), `the hook's end before done: ${types}`);
});

test('a torrent named with $(…), backticks, quotes, ; & and a newline: the hook gets the name as a string, nothing of it runs', async (t) => {
  const dir = await tempDir(t, 'bitstate-on-complete-name-');
  const name =
    'x $(touch pwned-dollar) `touch pwned-tick` \'q\' "d"; touch pwned-semi & touch pwned-amp\nnext';
  const a = await seeded(t, dir, name, 40_000);
  assert.equal(a.torrent.name, name, 'the metainfo validator takes the name');
  const out = join(dir, 'out');
  const run = join(dir, 'run');
  await mkdir(run);
  // The hook uses the name quoted, unquoted, and through a path: none of it is ever shell code.
  const command =
    'printf %s "$BITSTATE_NAME" > name.txt; : $BITSTATE_NAME $BITSTATE_PATH; cat "$BITSTATE_PATH" > copy.bin';
  const r = await runWith(
    t,
    ['download', a.path, '-o', out, '--peer', a.peer, '--no-tracker', '--port', '0', '--json'],
    { timeoutMs: 60_000, cwd: run, extraArgs: ['--on-complete', command] },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(join(run, 'name.txt'), 'utf8'), name);
  assert.deepEqual(await readFile(join(run, 'copy.bin')), a.bytes);
  for (const where of [run, out, dir, process.cwd()])
    assert.deepEqual(
      (await readdir(where)).filter((f) => f.startsWith('pwned')),
      [],
      `nothing ran in ${where}`,
    );
  assertCleanJson(r);
});

test('a hook that exits 3 is reported in one line; our exit stays 0; several torrents, one run each', async (t) => {
  const dir = await tempDir(t, 'bitstate-on-complete-many-');
  const a = await seeded(t, join(dir, 'a'), 'a.bin');
  const b = await seeded(t, join(dir, 'b'), 'b.bin');
  const out = join(dir, 'out');
  const command = 'printf %s "$BITSTATE_NAME" >> "$BITSTATE_INFO_HASH.ran"; exit 3';
  const args = ['-o', out, '--peer', a.peer, '--peer', b.peer, '--no-tracker', '--port', '0'];
  const r = await runWith(t, ['download', a.path, b.path, ...args], {
    timeoutMs: 60_000,
    cwd: dir,
    extraArgs: ['--on-complete', command],
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(join(dir, `${a.torrent.infoHashHex}.ran`), 'utf8'), 'a.bin', 'a: one run');
  assert.equal(await readFile(join(dir, `${b.torrent.infoHashHex}.ran`), 'utf8'), 'b.bin', 'b: one run');
  const failures = r.stderr.split('\n').filter((l) => l.includes('--on-complete'));
  assert.deepEqual(failures.sort(), [
    'a.bin: --on-complete failed: exit status 3',
    'b.bin: --on-complete failed: exit status 3',
  ]);
  // One torrent, --json: the event says it (NDJSON only, as every other news).
  const c = await seeded(t, join(dir, 'c'), 'c.bin');
  const one = await runWith(t, ['download', c.path, '-o', out, '--peer', c.peer, '--no-tracker', '--json'], {
    timeoutMs: 60_000,
    cwd: dir,
    extraArgs: ['--on-complete', 'exit 3'],
  });
  assert.equal(one.code, 0, one.stderr);
  const exited = jsonLines(one.stdout).filter((e) => e.type === 'hook.exited');
  assert.deepEqual(
    exited.map((e) => e.code),
    [3],
  );
});

test('a torrent already complete at the start runs no hook (Transmission: on the transition only)', async (t) => {
  const dir = await tempDir(t, 'bitstate-on-complete-resume-');
  const a = await seeded(t, dir, 'a.bin');
  const out = join(dir, 'out');
  const args = ['download', a.path, '-o', out, '--peer', a.peer, '--no-tracker', '--port', '0', '--json'];
  const first = await runWith(t, args, {
    timeoutMs: 60_000,
    cwd: dir,
    extraArgs: ['--on-complete', 'echo x >> runs'],
  });
  assert.equal(first.code, 0, first.stderr);
  const again = await runWith(t, args, {
    timeoutMs: 60_000,
    cwd: dir,
    extraArgs: ['--on-complete', 'echo x >> runs'],
  });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await readFile(join(dir, 'runs'), 'utf8'), 'x\n', 'the first run only');
  assert.equal(
    jsonLines(again.stdout).some((e) => e.type === 'hook.started'),
    false,
  );
});

test('with --seed the hook runs as seeding begins, seeding goes on to --seed-time', async (t) => {
  const dir = await tempDir(t, 'bitstate-on-complete-seed-');
  const a = await seeded(t, dir, 'a.bin');
  const out = join(dir, 'out');
  const hook = await recordingHook(dir);
  const r = await runWith(
    t,
    ['download', a.path, '-o', out, '--peer', a.peer, '--no-tracker', '--port', '0', '--json', '--seed'],
    { timeoutMs: 60_000, cwd: dir, extraArgs: ['--on-complete', hook.command, '--seed-time', '1'] },
  );
  assert.equal(r.code, 0, r.stderr);
  const { sha1 } = JSON.parse(await readFile(hook.record, 'utf8')) as { sha1: string };
  assert.equal(sha1, createHash('sha1').update(a.bytes).digest('hex'));
  const types = assertCleanJson(r).map((e) => e.type);
  const seeding = types.indexOf('seeding');
  assert.ok(seeding >= 0 && seeding < types.indexOf('hook.started'), `seeding, then the hook: ${types}`);
  assert.ok(types.indexOf('hook.exited') < types.indexOf('done'), `done last: ${types}`);
  assert.equal(types.filter((x) => x === 'hook.started').length, 1);
});

test('a hook outliving --on-complete-timeout is killed with the process it started, said in one line; exit 0', async (t) => {
  const dir = await tempDir(t, 'bitstate-on-complete-timeout-');
  const a = await seeded(t, dir, 'a.bin');
  const out = join(dir, 'out');
  const pidFile = join(dir, 'child.pid');
  const r = await runWith(
    t,
    ['download', a.path, '-o', out, '--peer', a.peer, '--no-tracker', '--port', '0'],
    {
      timeoutMs: 60_000,
      cwd: dir,
      // The sleep's output away from our stderr: left running, it would hold runCli's wait, not fail it.
      extraArgs: [
        '--on-complete',
        'sleep 300 >/dev/null 2>&1 & echo $! > child.pid; wait',
        '--on-complete-timeout',
        '1',
      ],
    },
  );
  const child = await childPid(t, pidFile);
  assert.equal(r.code, 0, r.stderr);
  await ended(child); // the sleep the hook started was killed with it
  assert.match(r.stderr, /^--on-complete killed: still running after .* \(--on-complete-timeout\)$/m);
});

test('Ctrl-C while the hook runs kills it (and what it started), exit 130', async (t) => {
  const dir = await tempDir(t, 'bitstate-on-complete-sigint-');
  const a = await seeded(t, dir, 'a.bin');
  const out = join(dir, 'out');
  const pidFile = join(dir, 'child.pid');
  const r = await runWith(
    t,
    ['download', a.path, '-o', out, '--peer', a.peer, '--no-tracker', '--port', '0', '--json'],
    {
      timeoutMs: 60_000,
      cwd: dir,
      extraArgs: [
        '--on-complete',
        'sleep 300 >/dev/null 2>&1 & echo $! > child.pid; echo started > started; wait',
        // Were Ctrl-C not to kill it, this would, and the run end 0.
        '--on-complete-timeout',
        '30',
      ],
      onLine: (line, signal) => {
        if ((JSON.parse(line) as { type: string }).type !== 'hook.started') return;
        // Once the hook has started its child (it says so in a file), Ctrl-C.
        const poll = setInterval(() => {
          if (!existsSync(join(dir, 'started'))) return;
          clearInterval(poll);
          signal('SIGINT');
        }, 20);
        t.after(() => clearInterval(poll));
      },
    },
  );
  const child = await childPid(t, pidFile);
  assert.equal(r.code, 130, r.stderr);
  await ended(child); // the sleep the hook started was killed with it
  const exited = jsonLines(r.stdout).filter((e) => e.type === 'hook.exited');
  assert.equal(exited.length, 1);
  assert.equal(exited[0]!.killed, 'stopped');
});

test('--on-complete flags checked before anything starts: exit 2, one line', async (t) => {
  const dir = await tempDir(t, 'bitstate-on-complete-usage-');
  const torrent = join(dir, 'a.torrent');
  await writeFile(join(dir, 'a.bin'), randomBytes(1000));
  await writeFile(torrent, await createTorrent(join(dir, 'a.bin'), { pieceLength: 16384 }));
  const out = join(dir, 'out');
  const cases = [
    ['--on-complete-timeout', '5'],
    ['--on-complete', ''],
    ['--on-complete', 'true', '--on-complete-timeout', 'soon'],
    ['--on-complete', 'true', '--on-complete-timeout', '0'],
    // Past a timer's 2^31-1 ms Node fires it at once: the hook would be killed as it starts.
    ['--on-complete', 'true', '--on-complete-timeout', '2147484'],
  ];
  // All at once (each a process that refuses and exits; nothing shared): one start-up's wait, not five.
  const results = await Promise.all(
    cases.map((extra) =>
      runCli(['download', torrent, '-o', out, '--no-tracker', ...extra], { timeoutMs: 60_000 }),
    ),
  );
  for (const r of results) assertOneLineError(r, { command: 'download', pattern: /--on-complete/ });
  assert.equal(existsSync(out), false, 'nothing written');
});
