/**
 * `bitstate seed A.torrent B.torrent …` from source in a child process (127.0.0.1; every child
 * stopped by the test, killed after a hard bound): one process, one port for all; every `--json`
 * event carries its torrent's info-hash; Ctrl-C stops every torrent (a `done` for each) with
 * exit 0; a .torrent that cannot be read, or a torrent whose data is missing, is one line naming it
 * and exit 2 before anything is served.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { withDhtOff } from '../../helpers/dht-off.js';
import { assertOneLineError, runCli } from '../../helpers/run-cli.js';
import { tempDir } from '../../helpers/temp-dir.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

/** `DIR/data/NAME` of `size` bytes and `DIR/NAME.torrent`; returns the torrent's path and info-hash. */
async function torrentOf(
  dir: string,
  name: string,
  size: number,
): Promise<{ path: string; infoHash: string }> {
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, 'data', name), Buffer.alloc(size, name.charCodeAt(0)));
  const bytes = await createTorrent(join(dir, 'data', name), { pieceLength: 16384 });
  const path = join(dir, `${name}.torrent`);
  await writeFile(path, bytes);
  return { path, infoHash: parseTorrent(bytes).infoHashHex };
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
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
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
