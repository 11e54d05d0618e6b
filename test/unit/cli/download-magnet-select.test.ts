/**
 * `bitstate download MAGNET --select / --only`: the files are chosen once the metadata is known
 * (fetched from a bitstate seeder on 127.0.0.1, which serves it: BEP 9); a malformed choice is
 * refused before anything is fetched, one that names no file after the .torrent is saved.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { readTorrentFile } from '../../../src/metainfo/read-torrent-file.js';
import { assertOneLineError, runCli } from '../../helpers/run-cli.js';
import { listeningSeeder, tempDir } from '../../helpers/session.js';

/** A two-file torrent seeded by a bitstate seeder on 127.0.0.1, and its magnet link (x.pe). */
async function magnetSwarm(t: TestContext) {
  const dir = await tempDir(t, 'bitstate-magnet-select-');
  const data = join(dir, 'data');
  await mkdir(join(data, 'show'), { recursive: true });
  const video = randomBytes(200_000);
  await writeFile(join(data, 'show', 'episode.mkv'), video);
  await writeFile(join(data, 'show', 'notes.txt'), randomBytes(150_000));
  const made = await runCli([
    'create',
    join(data, 'show'),
    '-o',
    join(dir, 'show.torrent'),
    '--announce',
    'http://127.0.0.1:1/announce',
    '--piece-length',
    '16384',
  ]);
  assert.equal(made.code, 0, made.stderr);
  const torrent = await readTorrentFile(join(dir, 'show.torrent'));
  const port = await listeningSeeder(t, torrent, data);
  const magnet = `magnet:?xt=urn:btih:${torrent.infoHashHex}&x.pe=127.0.0.1:${port}`;
  return { dir, torrent, magnet, video };
}

const swarm = ['--port', '0', '--no-tracker', '--quiet', '--timeout', '20'];

test('a magnet with --only fetches the metadata, then only the matching file; --select past the files exits 2 once it is known', async (t) => {
  const { dir, torrent, magnet, video } = await magnetSwarm(t);
  const out = join(dir, 'out');
  const r = await runCli(['download', magnet, '-o', out, '--only', '*.mkv', ...swarm], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await readFile(join(out, 'show', 'episode.mkv')), video);
  assert.equal(existsSync(join(out, 'show', 'notes.txt')), false, 'the unselected file is not made');
  assert.ok(existsSync(join(out, '.bitstate', `${torrent.infoHashHex}.torrent`)), 'the metadata is saved');

  // Known only once the metadata is: file 7 of 2. Into a new folder, so fetched again, saved, then refused.
  const past = await runCli(['download', magnet, '-o', join(dir, 'out2'), '--select', '7', ...swarm], {
    timeoutMs: 60_000,
  });
  assertOneLineError(past, { command: 'download', pattern: /--select: file 7 does not exist/ });
  assert.ok(existsSync(join(dir, 'out2', '.bitstate', `${torrent.infoHashHex}.torrent`)));
});

test('a magnet with a malformed --select or --only: exit 2 before anything is fetched or written', async (t) => {
  const dir = await tempDir(t, 'bitstate-magnet-select-');
  // x.pe names a port nobody listens on: a fetch would wait out --metadata-timeout.
  const magnet = `magnet:?xt=urn:btih:${'c'.repeat(40)}&x.pe=127.0.0.1:1`;
  const out = join(dir, 'out');
  for (const bad of [
    ['--select', '2-1'],
    ['--select', 'first'],
  ]) {
    const r = await runCli([
      'download',
      magnet,
      '-o',
      out,
      '--no-tracker',
      '--metadata-timeout',
      '60',
      ...bad,
    ]);
    assertOneLineError(r, { command: 'download', pattern: /--select/ });
  }
  assert.equal(existsSync(out), false, 'nothing written');
});

test('a FIFO planted where the magnet’s metadata is saved is not read (nor waited on): the metadata is fetched again', async (t) => {
  const { dir, torrent, magnet, video } = await magnetSwarm(t);
  const out = join(dir, 'out');
  await mkdir(join(out, '.bitstate'), { recursive: true });
  const saved = join(out, '.bitstate', `${torrent.infoHashHex}.torrent`);
  execFileSync('mkfifo', [saved]);
  const r = await runCli(['download', magnet, '-o', out, ...swarm], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await readFile(join(out, 'show', 'episode.mkv')), video);
  assert.ok((await lstat(saved)).isFile(), 'the fetched metadata replaced the FIFO');
});
