/**
 * The --on-complete hook below the CLI (src/session/on-complete-hook.ts): the environment counts the
 * files stored (padding left out, a selection's only) and names a v2 torrent's whole SHA-256; a
 * command spawn refuses is a `hook.exited` with its error, not a throw; stop() before start() keeps
 * it from ever starting; start() twice runs it once; killed, a program the shell ran keeps its SIGTERM
 * grace when the shell dies of the SIGTERM at once. Real /bin/sh and node, nothing else.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { download } from '../../../src/session/download.js';
import type { HookEvent } from '../../../src/session/download-event.js';
import {
  CompletionHook,
  completionEnvironment,
  OnCompleteError,
} from '../../../src/session/on-complete-hook.js';
import { randomFileTorrent } from '../../helpers/session.js';
import { tempDir, within } from '../../helpers/temp-dir.js';

/** Resolves once `check()` holds (looked at every 10 ms), or rejects after 20 s. */
async function until(check: () => boolean): Promise<void> {
  let poll: NodeJS.Timeout | undefined;
  try {
    await within(
      20_000,
      new Promise<void>((resolve) => {
        poll = setInterval(() => {
          if (check()) resolve();
        }, 10);
      }),
      'never came',
    );
  } finally {
    clearInterval(poll);
  }
}

const file = (path: string[], length: number, padding = false) => ({ path, length, offset: 0, padding });

test('the environment: files stored and their bytes (no padding; a selection its own), v2 hash whole, DIR absolute', () => {
  const torrent = {
    name: 'album',
    infoHashHex: 'ab'.repeat(20),
    infoHashV2: new Uint8Array(32).fill(0xcd),
    files: [file(['album', 'a'], 10), file(['album', '.pad', '6'], 6, true), file(['album', 'b'], 20)],
  };
  const env = completionEnvironment(torrent, 'out');
  assert.equal(env.BITSTATE_DIR, `${process.cwd()}/out`);
  assert.equal(env.BITSTATE_PATH, `${process.cwd()}/out/album`);
  assert.equal(env.BITSTATE_INFO_HASH_V2, 'cd'.repeat(32));
  assert.equal(env.BITSTATE_FILES, '2');
  assert.equal(env.BITSTATE_SIZE, '30');
  const some = completionEnvironment(torrent, '/o', [false, true, true]);
  assert.equal(some.BITSTATE_FILES, '1');
  assert.equal(some.BITSTATE_SIZE, '20');
  assert.equal(
    'BITSTATE_INFO_HASH_V2' in completionEnvironment({ ...torrent, infoHashV2: undefined }, '/o'),
    false,
  );
});

test('a command spawn refuses (a NUL in it) is a hook.exited with the error; settled resolves', async () => {
  const events: HookEvent[] = [];
  const hook = new CompletionHook({ command: 'true\0' }, {}, (e) => events.push(e));
  hook.start();
  await hook.settled;
  assert.equal(events.length, 1);
  assert.equal(events[0]!.type, 'hook.exited');
  assert.match((events[0] as { error?: string }).error ?? '', /null bytes|\\0|NUL/i);
});

test('stop() before start(): it never starts; start() twice runs it once', async () => {
  const stopped: HookEvent[] = [];
  const never = new CompletionHook({ command: 'exit 0' }, {}, (e) => stopped.push(e));
  never.stop();
  never.start();
  await never.settled;
  assert.deepEqual(stopped, []);
  const events: HookEvent[] = [];
  const once = new CompletionHook({ command: 'exit "$CODE"' }, { CODE: '7' }, (e) => events.push(e));
  once.start();
  once.start();
  await once.settled;
  assert.deepEqual(
    events.map((e) => (e.type === 'hook.exited' ? `exited ${e.code}` : e.type)),
    ['hook.started', 'exited 7'],
  );
});

test('killed: what the shell ran keeps its SIGTERM grace after the shell itself has died of it', async (t) => {
  const dir = await tempDir(t, 'bitstate-hook-grace-');
  // A program that cleans up on SIGTERM: it finishes once `release` exists.
  const script = join(dir, 'cleanup.cjs');
  await writeFile(
    script,
    `const fs = require('node:fs');
process.on('SIGTERM', () => {
  setInterval(() => {
    if (!fs.existsSync('release')) return;
    fs.writeFileSync('cleaned', '');
    process.exit(0);
  }, 10);
});
fs.writeFileSync('ready', '');
setInterval(() => {}, 1000);
`,
  );
  const events: HookEvent[] = [];
  // `; :` keeps the shell as the program's parent (no exec): SIGTERM to the group ends the shell at
  // once, while the program is still cleaning up.
  const hook = new CompletionHook(
    { command: `cd "${dir}" && "${process.execPath}" "${script}"; :` },
    {},
    (e) => events.push(e),
    { graceMs: 60_000 },
  );
  t.after(() => {
    hook.stop();
    const started = events.find((e) => e.type === 'hook.started');
    if (started?.type === 'hook.started')
      try {
        process.kill(-started.pid, 'SIGKILL');
      } catch {}
  });
  hook.start();
  await until(() => existsSync(join(dir, 'ready')));
  const started = events[0];
  assert.equal(started?.type, 'hook.started');
  const shell = (started as { pid: number }).pid;
  hook.stop();
  // The shell reaped: its exit handled here, in this process, before this looks again.
  await until(() => !existsSync(`/proc/${shell}`));
  await writeFile(join(dir, 'release'), '');
  await hook.settled;
  assert.equal(existsSync(join(dir, 'cleaned')), true, 'the program finished its clean-up, not SIGKILLed');
  assert.deepEqual(
    events.slice(1).map((e) => (e.type === 'hook.exited' ? [e.signal, e.killed] : e.type)),
    [['SIGTERM', 'stopped']],
  );
});

test('download() refuses an onComplete that could never run as asked, before it opens anything', async (t) => {
  const dir = await tempDir(t, 'bitstate-hook-option-');
  const { torrent } = await randomFileTorrent(dir, { size: 40_000 });
  const out = join(dir, 'out');
  for (const onComplete of [
    { command: 'true', timeoutMs: 2 ** 31 }, // past a timer's 2^31-1 ms: Node would fire it at once
    { command: 'true', timeoutMs: Number.POSITIVE_INFINITY },
    { command: 'true', timeoutMs: Number.NaN },
    { command: 'true', timeoutMs: 0 },
    { command: 'true', timeoutMs: -1 },
    { command: 42 as unknown as string },
    { command: '  ' },
    { command: 'true\0' },
  ]) {
    const job = download(torrent, { out, listen: false, trackers: false, onComplete });
    t.after(() => job.stop().catch(() => {}));
    await assert.rejects(within(10_000, job.done, 'refused'), OnCompleteError, JSON.stringify(onComplete));
  }
  assert.equal(existsSync(out), false, 'nothing written');
});
