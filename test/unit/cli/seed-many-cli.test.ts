/**
 * `bitstate seed A.torrent B.torrent …` from source in a child process (127.0.0.1; every child
 * stopped by the test, killed after a hard bound): one process, one port for all; every `--json`
 * event carries its torrent's info-hash; Ctrl-C stops every torrent (a `done` for each) with
 * exit 0; a .torrent that cannot be read, or a torrent whose data is missing, is one line naming it
 * and exit 2 before anything is served; a torrent whose data is cut short while it seeds is a
 * `torrent.failed` event and the others serve on, and the process exits 1 by itself when the last
 * one has failed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import type { Torrent } from '../../../src/metainfo/torrent.js';
import { download } from '../../../src/session/download.js';
import { withDhtOff } from '../../helpers/dht-off.js';
import { assertOneLineError, runCli } from '../../helpers/run-cli.js';
import { type TestContext, tempDir, within } from '../../helpers/temp-dir.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

/** `DIR/data/NAME` of `size` bytes and `DIR/NAME.torrent`; returns the torrent's path and info-hash. */
async function torrentOf(
  dir: string,
  name: string,
  size: number,
): Promise<{ path: string; infoHash: string; torrent: Torrent }> {
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, 'data', name), Buffer.alloc(size, name.charCodeAt(0)));
  const bytes = await createTorrent(join(dir, 'data', name), { pieceLength: 16384 });
  const path = join(dir, `${name}.torrent`);
  await writeFile(path, bytes);
  const torrent = parseTorrent(bytes);
  return { path, infoHash: torrent.infoHashHex, torrent };
}

test('seed with several torrents: one port, events tagged by info-hash, Ctrl-C stops them all, exit 0', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-many-cli-');
  const a = await torrentOf(dir, 'a.bin', 40_000);
  const b = await torrentOf(dir, 'b.bin', 50_000);
  const args = withDhtOff([
    'seed',
    a.path,
    b.path,
    '--data',
    join(dir, 'data'),
    '--no-tracker',
    '--port',
    '0',
    '--json',
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
  let interrupted = false;
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffered += d;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) events.push(JSON.parse(line) as Record<string, unknown>);
    const checked = new Set(events.filter((e) => e.type === 'checked').map((e) => e.infoHash));
    if (!interrupted && checked.size === 2) {
      interrupted = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(code, 0, stderr);
  assert.ok(interrupted, `both torrents checked before the end: ${stderr}`);
  const hashes = new Set([a.infoHash, b.infoHash]);
  for (const e of events)
    assert.ok(hashes.has(e.infoHash as string), `event with its torrent: ${JSON.stringify(e)}`);
  const ports = new Set(events.filter((e) => e.type === 'listening').map((e) => e.port));
  assert.equal(ports.size, 1, 'one listening port for both');
  assert.deepEqual(
    new Set(events.filter((e) => e.type === 'done').map((e) => e.infoHash)),
    hashes,
    'each torrent ended as a single seed does (`done`: its data complete)',
  );
});

test('seed with several torrents, one of them not a torrent: one line naming it, exit 2, nothing served', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-many-bad-');
  const a = await torrentOf(dir, 'a.bin', 40_000);
  const bad = join(dir, 'bad.torrent');
  await writeFile(bad, 'd4:infoi1ee');
  const r = await runCli([
    'seed',
    a.path,
    bad,
    '--data',
    join(dir, 'data'),
    '--no-tracker',
    '--port',
    '0',
    '--json',
  ]);
  assertOneLineError(r, { command: 'seed' });
  assert.ok(r.stderr.includes(bad), r.stderr);
});

test('seed with several torrents, one of them without its data: one line naming the file, exit 2, nothing served', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-many-nodata-');
  const a = await torrentOf(dir, 'a.bin', 40_000);
  const elsewhere = join(dir, 'elsewhere');
  const b = await torrentOf(elsewhere, 'b.bin', 40_000);
  const r = await runCli([
    'seed',
    a.path,
    b.path,
    '--data',
    join(dir, 'data'),
    '--no-tracker',
    '--port',
    '0',
    '--json',
  ]);
  assertOneLineError(r, { command: 'seed', pattern: /b\.bin is missing/ });
});

/** `bitstate seed A B --json --port 0` in a child (killed after a hard bound and after the test), its events and stderr collected. */
function seedChild(t: TestContext, dir: string, torrents: readonly { path: string }[]) {
  const args = withDhtOff([
    'seed',
    ...torrents.map((x) => x.path),
    '--data',
    join(dir, 'data'),
    '--no-tracker',
    '--port',
    '0',
    '--json',
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
  const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  const events: Record<string, unknown>[] = [];
  const waiters: { test: (e: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  let stderr = '';
  let buffered = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffered += d;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const e = JSON.parse(line) as Record<string, unknown>;
      events.push(e);
      for (const w of waiters) if (w.test(e)) w.resolve();
    }
  });
  /** Resolves once an event passing `test` has come (or had come). */
  const seen = (test: (e: Record<string, unknown>) => boolean) =>
    new Promise<void>((resolve) => {
      if (events.some(test)) resolve();
      else waiters.push({ test, resolve });
    });
  return { child, exited, events, seen, stderr: () => stderr };
}

/** A download of `torrent` from 127.0.0.1:port into DIR/out (it asks for every block: the seeder reads them); stopped after the test. */
function fetchFrom(t: TestContext, port: number, torrent: Torrent, out: string) {
  const job = download(torrent, {
    out,
    peers: [{ host: '127.0.0.1', port }],
    trackers: false,
    listen: false,
  });
  t.after(() => job.stop());
  return job;
}

test('seed with several torrents: one whose data is cut short fails alone (torrent.failed), the other serves on; Ctrl-C then exits 1', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-many-fail-cli-');
  const a = await torrentOf(dir, 'a.bin', 40_000);
  const b = await torrentOf(dir, 'b.bin', 50_000);
  const c = seedChild(t, dir, [a, b]);
  const checked = (h: string) => c.seen((e) => e.type === 'checked' && e.infoHash === h);
  const listening = (h: string) => c.seen((e) => e.type === 'listening' && e.infoHash === h);
  // A session says `listening` after its check: both, for both torrents.
  await within(
    60_000,
    Promise.all([a, b].flatMap((x) => [checked(x.infoHash), listening(x.infoHash)])),
    'both torrents checked and listening',
  );
  const port = c.events.find((e) => e.type === 'listening')?.port as number;

  await truncate(join(dir, 'data', 'a.bin'), 0);
  fetchFrom(t, port, a.torrent, join(dir, 'out-a'));
  await within(
    60_000,
    c.seen((e) => e.type === 'torrent.failed' && e.infoHash === a.infoHash),
    "A's torrent.failed",
  );
  const result = await within(
    60_000,
    fetchFrom(t, port, b.torrent, join(dir, 'out-b')).done,
    'B after A failed',
  );
  assert.equal(result.result, 'complete', JSON.stringify(result));
  assert.deepEqual(await readFile(join(dir, 'out-b', 'b.bin')), await readFile(join(dir, 'data', 'b.bin')));

  c.child.kill('SIGINT');
  assert.equal(await within(60_000, c.exited, 'exit after Ctrl-C'), 1, c.stderr());
  const failed = c.events.find((e) => e.type === 'torrent.failed');
  assert.equal(failed?.left, 1, 'B was still seeding');
  assert.match(failed?.message as string, /a\.bin is shorter than the torrent says/);
  assert.match(c.stderr(), /^bitstate seed: a\.bin: .*shorter than the torrent says$/m);
});

test('seed with several torrents: once the last one has failed the process ends by itself, exit 1, naming each', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-many-allfail-cli-');
  const a = await torrentOf(dir, 'a.bin', 40_000);
  const b = await torrentOf(dir, 'b.bin', 50_000);
  const c = seedChild(t, dir, [a, b]);
  const checked = (h: string) => c.seen((e) => e.type === 'checked' && e.infoHash === h);
  const listening = (h: string) => c.seen((e) => e.type === 'listening' && e.infoHash === h);
  // A session says `listening` after its check: both, for both torrents.
  await within(
    60_000,
    Promise.all([a, b].flatMap((x) => [checked(x.infoHash), listening(x.infoHash)])),
    'both torrents checked and listening',
  );
  const port = c.events.find((e) => e.type === 'listening')?.port as number;
  await truncate(join(dir, 'data', 'a.bin'), 0);
  fetchFrom(t, port, a.torrent, join(dir, 'out-a'));
  await within(
    60_000,
    c.seen((e) => e.type === 'torrent.failed' && e.infoHash === a.infoHash),
    "A's torrent.failed",
  );
  await truncate(join(dir, 'data', 'b.bin'), 0);
  fetchFrom(t, port, b.torrent, join(dir, 'out-b'));
  assert.equal(await within(60_000, c.exited, 'the process ended by itself'), 1, c.stderr());
  assert.deepEqual(
    c.events.filter((e) => e.type === 'torrent.failed').map((e) => [e.infoHash, e.left]),
    [
      [a.infoHash, 1],
      [b.infoHash, 0],
    ],
  );
  assert.match(c.stderr(), /^bitstate seed: a\.bin: .*shorter than the torrent says; b\.bin: .*shorter/m);
});
