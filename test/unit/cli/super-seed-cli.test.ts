/**
 * `--super-seed` (BEP 16) from the CLI, from source in a child process (127.0.0.1; every child and
 * server stopped by the test, each child killed after a hard bound):
 * - `bitstate seed --super-seed` dialling a conforming downloader (test/helpers/flawed-downloader.ts,
 *   flaw `none`): the downloader is never told the seed has every piece, is told of two pieces at
 *   most ahead of what it has, and still gets every piece, hash-checked; the `seeding` event says
 *   `superSeed`. The same seed without the flag tells it of every piece at once (the control).
 * - where it can never apply, one line and exit 2: `download --super-seed` without `--seed`, and
 *   with `--select` (a partial seed).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { withDhtOff } from '../../helpers/dht-off.js';
import { startFlawedDownloader } from '../../helpers/flawed-downloader.js';
import { assertOneLineError, runCli } from '../../helpers/run-cli.js';
import { tempDir } from '../../helpers/temp-dir.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const PIECES = 12;

async function torrentIn(dir: string): Promise<{ path: string; data: string }> {
  const data = join(dir, 'data');
  await mkdir(data, { recursive: true });
  const bytes = Buffer.alloc(PIECES * 16_384 - 1000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 14)) & 0xff;
  await writeFile(join(data, 'ss.bin'), bytes);
  const path = join(dir, 'ss.torrent');
  await writeFile(path, await createTorrent(join(data, 'ss.bin'), { pieceLength: 16_384 }));
  return { path, data };
}

/** `bitstate seed` (plus `extra`) dialling a conforming downloader until it has every piece; then Ctrl-C. */
async function seedTo(t: import('node:test').TestContext, extra: readonly string[]) {
  const dir = await tempDir(t, 'bitstate-super-seed-cli-');
  const { path, data } = await torrentIn(dir);
  const torrent = parseTorrent(await readFile(path));
  const downloader = await startFlawedDownloader({ torrent, flaw: 'none' });
  t.after(() => downloader.close());
  const args = withDhtOff([
    'seed',
    path,
    '--data',
    data,
    '--no-tracker',
    '--port',
    '0',
    '--peer',
    `127.0.0.1:${downloader.port}`,
    '--json',
    ...extra,
  ]);
  const script = `import(${JSON.stringify(MAIN)}).then((m) => m.main(process.argv.slice(1)))`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BITSTATE_DEBUG: '' },
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  t.after(() => {
    clearTimeout(killer);
    child.kill('SIGKILL');
  });
  const events: Record<string, unknown>[] = [];
  let stderr = '';
  let buffered = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffered += d;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) events.push(JSON.parse(line) as Record<string, unknown>);
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  // Until the downloader has every piece (or the child ends): each of its pieces is one event here.
  let ended = false;
  void closed.then(() => (ended = true));
  while (!ended && downloader.announced().pieces < PIECES) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGINT');
  const code = await closed;
  return { code, stderr, events, announced: downloader.announced(), told: downloader.told() };
}

test('seed --super-seed: a downloader is told of two pieces at a time, never of all, and gets every one', async (t) => {
  const r = await seedTo(t, ['--super-seed']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.announced, { pieces: PIECES, bad: 0 }, 'every piece, each passing its hash');
  assert.equal(r.told.all, false, 'never a haveAll nor a full bitfield');
  assert.ok(r.told.mostAhead <= 2, `at most two pieces shown ahead: ${r.told.mostAhead}`);
  assert.ok(
    r.events.some((e) => e.type === 'seeding' && e.superSeed === true),
    'the seeding event says superSeed',
  );
});

test('seed without --super-seed: the same downloader is told of every piece at once (the control)', async (t) => {
  const r = await seedTo(t, []);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.announced, { pieces: PIECES, bad: 0 });
  assert.equal(r.told.all, true);
  assert.equal(r.told.mostAhead, PIECES);
  assert.ok(r.events.some((e) => e.type === 'seeding' && e.superSeed === undefined));
});

test('download --super-seed without --seed: one line, exit 2', async (t) => {
  const dir = await tempDir(t, 'bitstate-super-seed-cli-');
  const { path } = await torrentIn(dir);
  const r = await runCli(['download', path, '--out', join(dir, 'out'), '--no-tracker', '--super-seed']);
  assertOneLineError(r, { command: 'download', pattern: /--super-seed goes with --seed/ });
});

test('download --seed --super-seed with --select: a partial seed never super-seeds, one line, exit 2', async (t) => {
  const dir = await tempDir(t, 'bitstate-super-seed-cli-');
  const { path } = await torrentIn(dir);
  const r = await runCli([
    'download',
    path,
    '--out',
    join(dir, 'out'),
    '--no-tracker',
    '--seed',
    '--super-seed',
    '--select',
    '0',
  ]);
  assertOneLineError(r, { command: 'download', pattern: /--super-seed is for a full seed/ });
});
