/**
 * `bitstate download A.torrent B.torrent …` from source in a child process (127.0.0.1, the DHT off,
 * real seeders in this process, each stopped after the test): one process downloads both into
 * --out, exit 0, every `--json` event with its torrent's infoHash and one listening port; a torrent
 * whose files cannot be made fails alone (a `torrent.failed` event), the other completes, exit 1
 * naming it; a .torrent and a magnet link with --seed: both downloaded, both seeding, a downloader
 * in this process served by the child, Ctrl-C then exit 0; with --seed-time each ends on its own
 * and so does the process, exit 0; several torrents with --select,
 * --super-seed, a link or a .torrent that does not load, or one torrent twice (a link and its
 * .torrent too): one line, exit 2, nothing started.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { type DownloadResult, download } from '../../../src/session/download.js';
import { assertOneLineError, runCli } from '../../helpers/run-cli.js';
import { listeningSeeder, tempDir } from '../../helpers/session.js';
import type { TestContext } from '../../helpers/temp-dir.js';

/** `DIR/data/PATH` of random bytes, its torrent in `DIR/NAME.torrent`, seeded from DIR/data; returns what a test needs. */
async function seeded(t: TestContext, dir: string, name: string, folder = false) {
  await mkdir(dir, { recursive: true });
  const data = join(dir, 'data');
  const bytes = randomBytes(120_000);
  await mkdir(join(data, folder ? name : ''), { recursive: true });
  const file = folder ? join(data, name, 'x.bin') : join(data, name);
  await writeFile(file, bytes);
  const torrentBytes = await createTorrent(join(data, name), { pieceLength: 16384 });
  const path = join(dir, `${name}.torrent`);
  await writeFile(path, torrentBytes);
  const torrent = parseTorrent(torrentBytes);
  const port = await listeningSeeder(t, torrent, data);
  return { path, bytes, torrentBytes, infoHash: torrent.infoHashHex, peer: `127.0.0.1:${port}` };
}

const jsonLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('download with several torrents: one process, one port, both complete, events tagged by info-hash, exit 0', async (t) => {
  const dir = await tempDir(t, 'bitstate-download-many-cli-');
  const a = await seeded(t, dir, 'a.bin');
  const b = await seeded(t, dir, 'b.bin');
  const out = join(dir, 'out');
  const r = await runCli(
    [
      'download',
      a.path,
      b.path,
      '--out',
      out,
      '--peer',
      a.peer,
      '--peer',
      b.peer,
      '--no-tracker',
      '--port',
      '0',
      '--json',
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await readFile(join(out, 'a.bin')), a.bytes);
  assert.deepEqual(await readFile(join(out, 'b.bin')), b.bytes);
  const events = jsonLines(r.stdout);
  const hashes = new Set([a.infoHash, b.infoHash]);
  for (const e of events) assert.ok(hashes.has(e.infoHash as string), `tagged: ${JSON.stringify(e)}`);
  assert.equal(new Set(events.filter((e) => e.type === 'listening').map((e) => e.port)).size, 1, 'one port');
  assert.deepEqual(new Set(events.filter((e) => e.type === 'done').map((e) => e.infoHash)), hashes);
});

test('download with several torrents: one whose folder is taken by a file fails alone, the other completes, exit 1 naming it', async (t) => {
  const dir = await tempDir(t, 'bitstate-download-many-cli-fail-');
  const a = await seeded(t, dir, 'a.bin');
  const c = await seeded(t, dir, 'c', true);
  const out = join(dir, 'out');
  await mkdir(out);
  await writeFile(join(out, 'c'), 'a file where the torrent c wants its folder');
  const r = await runCli(
    [
      'download',
      c.path,
      a.path,
      '--out',
      out,
      '--peer',
      a.peer,
      '--peer',
      c.peer,
      '--no-tracker',
      '--port',
      '0',
      '--json',
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(await readFile(join(out, 'a.bin')), a.bytes, 'a.bin complete');
  const failed = jsonLines(r.stdout).filter((e) => e.type === 'torrent.failed');
  assert.deepEqual(
    failed.map((e) => e.infoHash),
    [c.infoHash],
  );
  assert.match(r.stderr, /^bitstate download: c: /m);
});

test('download with a .torrent, a magnet link and --seed: both downloaded and seeding, a downloader served, Ctrl-C exits 0', async (t) => {
  const dir = await tempDir(t, 'bitstate-download-many-cli-seed-');
  const a = await seeded(t, join(dir, 'a'), 'a.bin');
  const b = await seeded(t, join(dir, 'b'), 'b.bin');
  const link = `magnet:?xt=urn:btih:${b.infoHash}&x.pe=${b.peer}`;
  const out = join(dir, 'out');
  let port = 0;
  const seeding = new Set<unknown>();
  /** The fetch from the child once both seed, then Ctrl-C. */
  let fetched: Promise<DownloadResult> | undefined;
  const r = await runCli(
    [
      'download',
      a.path,
      link,
      '--out',
      out,
      '--peer',
      a.peer,
      '--no-tracker',
      '--port',
      '0',
      '--json',
      '--seed',
    ],
    {
      timeoutMs: 60_000,
      onLine: (line, signal) => {
        const e = JSON.parse(line) as Record<string, unknown>;
        if (e.type === 'listening') port = e.port as number;
        if (e.type === 'seeding') seeding.add(e.infoHash);
        if (seeding.size < 2 || fetched !== undefined) return;
        const job = download(parseTorrent(b.torrentBytes), {
          out: join(dir, 'fetched'),
          trackers: false,
          listen: false,
          peers: [{ host: '127.0.0.1', port }],
        });
        t.after(() => job.stop());
        fetched = job.done.finally(() => signal('SIGINT'));
      },
    },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await fetched)?.result, 'complete', 'a downloader got b.bin from the seeding process');
  assert.deepEqual(await readFile(join(dir, 'fetched', 'b.bin')), b.bytes);
  assert.deepEqual(await readFile(join(out, 'a.bin')), a.bytes);
  assert.deepEqual(await readFile(join(out, 'b.bin')), b.bytes);
  const events = jsonLines(r.stdout);
  for (const e of events)
    assert.ok(e.infoHash === a.infoHash || e.infoHash === b.infoHash, `tagged: ${JSON.stringify(e)}`);
  assert.equal(
    events.find((e) => e.infoHash === b.infoHash)?.type,
    'metadata.fetching',
    "the link's first event",
  );
  assert.deepEqual(
    new Set(events.filter((e) => e.type === 'done').map((e) => e.infoHash)),
    new Set([a.infoHash, b.infoHash]),
    'each ended complete after seeding',
  );
});

test('download with several torrents, --seed --seed-time 1: each seeds its own second once complete, then the process ends by itself, exit 0', async (t) => {
  const dir = await tempDir(t, 'bitstate-download-many-cli-seed-time-');
  const a = await seeded(t, join(dir, 'a'), 'a.bin');
  const b = await seeded(t, join(dir, 'b'), 'b.bin');
  const link = `magnet:?xt=urn:btih:${b.infoHash}&x.pe=${b.peer}`;
  const out = join(dir, 'out');
  const r = await runCli(
    [
      'download',
      link,
      a.path,
      '--out',
      out,
      '--peer',
      a.peer,
      '--no-tracker',
      '--port',
      '0',
      '--json',
      '--seed',
      '--seed-time',
      '1',
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await readFile(join(out, 'a.bin')), a.bytes);
  assert.deepEqual(await readFile(join(out, 'b.bin')), b.bytes);
  const events = jsonLines(r.stdout);
  for (const h of [a.infoHash, b.infoHash]) {
    const own = events.filter((e) => e.infoHash === h).map((e) => e.type);
    assert.ok(
      own.indexOf('seeding') >= 0 && own.indexOf('seeding') < own.indexOf('done'),
      `${h}: ${own.join(',')}`,
    );
  }
});

test('download with several torrents: --select, --super-seed, --metadata-timeout without a link, a bad link, a bad .torrent or one torrent twice is one line, exit 2', async (t) => {
  const dir = await tempDir(t, 'bitstate-download-many-cli-bad-');
  const data = join(dir, 'data');
  await mkdir(data);
  await writeFile(join(data, 'a.bin'), randomBytes(20_000));
  const a = join(dir, 'a.torrent');
  await writeFile(a, await createTorrent(join(data, 'a.bin'), { pieceLength: 16384 }));
  const bad = join(dir, 'bad.torrent');
  await writeFile(bad, 'd4:infoi1ee');
  const aHash = parseTorrent(await readFile(a)).infoHashHex;
  const base = ['--out', join(dir, 'out'), '--no-tracker', '--port', '0'];
  const cases: [string[], RegExp][] = [
    [['download', a, a, '--select', '0', ...base], /--select goes with one torrent/],
    // BEP 16 is one full seed's way to spread a torrent.
    [['download', a, a, '--seed', '--super-seed', ...base], /--super-seed goes with one torrent/],
    [['download', a, a, '--metadata-timeout', '5', ...base], /--metadata-timeout goes with a magnet link/],
    [['download', a, 'magnet:?xt=urn:btih:zz', ...base], /magnet/],
    [['download', a, bad, ...base], /bad\.torrent/],
    [['download', a, a, ...base], /same torrent/],
    [['download', `magnet:?xt=urn:btih:${aHash}&dn=x`, a, ...base], /same torrent/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(args);
    assertOneLineError(r, { command: 'download', pattern });
  }
});
