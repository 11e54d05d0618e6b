/**
 * `bitstate probe` end to end: exit 0 against bitstate's own seeder, 1 with the shortest script and
 * a replay line against a seeder that corrupts its blocks (and the replay line, run, gives the same
 * script), 1 for an address with no client, 2 for bad input; `--json` is one event per line.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { startFlawedDownloader } from '../../helpers/flawed-downloader.js';
import { startFlawedPeer } from '../../helpers/flawed-peer.js';
import { runCli } from '../../helpers/run-cli.js';
import { listeningSeeder, randomFileTorrent, tempDir } from '../../helpers/session.js';
import { getFreePort } from '../../interop/harness/ports.js';

async function torrentFile(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t, 'bitstate-probe-cli-');
  const { data } = await randomFileTorrent(dir, { size: 150_000 });
  const bytes = await createTorrent(join(data, 'file.bin'), { pieceLength: 32768 });
  const file = join(dir, 'p.torrent');
  await writeFile(file, bytes);
  return { file, data, torrent: parseTorrent(bytes), payload: await readFile(join(data, 'file.bin')) };
}

test('probe: exit 0 and one JSON event per connection against a conforming seeder', async (t) => {
  const { file, data, torrent } = await torrentFile(t);
  const port = await listeningSeeder(t, torrent, data);
  const r = await runCli(
    ['probe', file, '--peer', `127.0.0.1:${port}`, '--runs', '6', '--hostile', '--json'],
    {
      timeoutMs: 60_000,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
  assert.deepEqual(
    events.map((e) => e.type),
    [...Array(6).fill('probe.run'), 'probe.done'],
  );
  assert.equal(events.at(-1)!.violation, false);
});

test('probe: exit 1 with the shortest script and a replay line that replays it', async (t) => {
  const { file, torrent, payload } = await torrentFile(t);
  const peer = await startFlawedPeer({ torrent, payload, flaw: 'corruptBlocks' });
  t.after(() => peer.close());
  const args = ['probe', file, '--peer', `127.0.0.1:${peer.port}`];
  // A negative seed (fast-check makes them): its replay line must still parse.
  const r = await runCli([...args, '--runs', '30', '--seed=-7'], { timeoutMs: 60_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stdout,
    /VIOLATION after \d+ scripts and \d+ shrinks; the shortest script found:\n {2}0\. requestPiece pick=0\n/,
  );
  assert.match(r.stdout, /violation piece\.badHash \(BEP 3\)/);
  const replay = /replay: (--seed=-?\d+ --path [\d:]+)/.exec(r.stdout);
  assert.ok(replay !== null, r.stdout);
  const again = await runCli([...args, ...replay[1]!.split(' '), '--json'], { timeoutMs: 60_000 });
  assert.equal(again.code, 1, again.stderr);
  const done = JSON.parse(again.stdout.trim().split('\n').at(-1)!) as {
    script: string[];
    violation: boolean;
  };
  assert.deepEqual(done.script, ['requestPiece pick=0']);
});

test('probe: exit 1 for an address with no client, 2 for bad input, one line each', async (t) => {
  const { file } = await torrentFile(t);
  const closed = await getFreePort();
  const unreachable = await runCli(['probe', file, '--peer', `127.0.0.1:${closed}`]);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /^bitstate probe: 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
  for (const bad of [
    ['probe', file],
    ['probe', file, '--peer', 'nowhere'],
    ['probe', file, '--peer', '127.0.0.1:1', '--runs', '0'],
    ['probe', file, '--peer', '127.0.0.1:1', '--path', '1:2'],
    ['probe', file, '--peer', '127.0.0.1:1', '--seed', '1', '--path', 'x'],
    ['probe', join(file, 'missing.torrent'), '--peer', '127.0.0.1:1'],
  ]) {
    const r = await runCli(bad);
    assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('probe --data: exit 1 against a downloader that asks past a piece end, its replay line with --data', async (t) => {
  const { file, data, torrent } = await torrentFile(t);
  const peer = await startFlawedDownloader({ torrent, flaw: 'pastPieceEnd' });
  t.after(() => peer.close());
  const args = ['probe', file, '--peer', `127.0.0.1:${peer.port}`];
  const r = await runCli([...args, '--data', data, '--runs', '10'], { timeoutMs: 60_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /as it downloads/);
  assert.match(r.stdout, /the shortest script found:\n {2}0\. unchoke\n/);
  assert.match(r.stdout, /violation request\.pastPieceEnd \(BEP 3\)/);
  const replay = /replay: (--seed=-?\d+ --path [\d:]+ --data \S+)/.exec(r.stdout);
  assert.ok(replay !== null, r.stdout);
  const again = await runCli([...args, ...replay[1]!.split(' '), '--json'], { timeoutMs: 60_000 });
  assert.equal(again.code, 1, again.stderr);
  const events = again.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; role?: string; script?: string[] });
  assert.equal(events[0]!.role, 'serve');
  assert.deepEqual(events.at(-1)!.script, ['unchoke']);
});

test('probe --data: a folder without the data, or with other data, is exit 2 in one line', async (t) => {
  const { file, data } = await torrentFile(t);
  const missing = await runCli(['probe', file, '--peer', '127.0.0.1:1', '--data', join(data, 'nowhere')]);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /^bitstate probe: .*file\.bin is missing\n$/);
  await writeFile(join(data, 'file.bin'), new Uint8Array(150_000));
  const wrong = await runCli(['probe', file, '--peer', '127.0.0.1:1', '--data', data]);
  assert.equal(wrong.code, 2, wrong.stderr);
  assert.match(wrong.stderr, /^bitstate probe: no piece of .* matches the torrent\n$/);
});

test('probe --connections: 2 for a count that is not 1 to 64, in one line', async (t) => {
  const { file } = await torrentFile(t);
  for (const n of ['0', '65', 'x', '-1', '2.5']) {
    const r = await runCli(['probe', file, '--peer', '127.0.0.1:1', `--connections=${n}`]);
    assert.equal(r.code, 2, `--connections ${n}: ${r.stderr}`);
    assert.match(r.stderr, /^bitstate probe: --connections /);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('probe --connections 3: exit 0, each JSON run carries its three connections', async (t) => {
  const { file, data, torrent } = await torrentFile(t);
  const port = await listeningSeeder(t, torrent, data);
  const args = ['probe', file, '--peer', `127.0.0.1:${port}`, '--runs', '4', '--connections', '3'];
  const r = await runCli([...args, '--json'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
  const runs = events.filter((e) => e.type === 'probe.run') as unknown as {
    run: number;
    findings: unknown[];
    connections: { connection: number; steps: number; findings: unknown[] }[];
  }[];
  assert.deepEqual(
    runs.map((r) => r.run),
    [1, 2, 3, 4],
  );
  for (const run of runs) {
    assert.deepEqual(
      run.connections.map((c) => c.connection),
      [0, 1, 2],
    );
    assert.ok(Array.isArray(run.findings));
  }
  assert.equal(events.at(-1)!.connections, 12);
  const text = await runCli(args, { timeoutMs: 60_000 });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /no violation in 4 groups of 3 scripts at once \(seed -?\d+\)\n$/);
  assert.match(
    text.stdout,
    // Each connection's line, then its findings (notes such as request.unanswered) indented under it.
    /run 3 \(3 connections at once\)\n {2}connection 0: .*\n(?: {4}.*\n)* {2}connection 1: .*\n(?: {4}.*\n)* {2}connection 2: /,
  );
});

test('probe --connections 2: exit 1 against a seeder whose blocks differ by connection, the replay line says --connections 2', async (t) => {
  const { file, torrent, payload } = await torrentFile(t);
  const peer = await startFlawedPeer({ torrent, payload, flaw: 'sharedBuffer' });
  t.after(() => peer.close());
  const args = ['probe', file, '--peer', `127.0.0.1:${peer.port}`];
  const r = await runCli([...args, '--runs', '10', '--seed', '3', '--connections', '2', '--no-shrink'], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /\n {2}connection 0:\n/);
  assert.match(r.stdout, /\n {2}connection 1:\n/);
  assert.match(
    r.stdout,
    /violation (block\.differs|piece\.badHash) \(BEP 3\) on connection [01] after step \d+: /,
  );
  assert.match(r.stdout, /replay: --seed=3 --path [\d:]+ --connections 2\n/);
});
