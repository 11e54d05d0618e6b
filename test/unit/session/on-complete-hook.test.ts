/**
 * The --on-complete hook below the CLI (src/session/on-complete-hook.ts): the environment counts the
 * files stored (padding left out, a selection's only) and names a v2 torrent's whole SHA-256; a
 * command spawn refuses is a `hook.exited` with its error, not a throw; stop() before start() keeps
 * it from ever starting; start() twice runs it once. Real /bin/sh, nothing else.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HookEvent } from '../../../src/session/download-event.js';
import { CompletionHook, completionEnvironment } from '../../../src/session/on-complete-hook.js';

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
