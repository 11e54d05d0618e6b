/**
 * `bitstate download 'magnet:?…&so=0,2'` (BEP 53, select only) from a bitstate seeder on 127.0.0.1:
 * the metadata is fetched (BEP 9), then only the so= files are fetched, as `--select` fetches them —
 * the others never created, their bytes in the pieces they share with a selected file kept in the
 * parts file. The indexes are those `bitstate info --json` lists, BEP 47 padding files counted.
 * `--select` / `--only` win over so=; an so= past the files exits 2 once the metadata is known, a
 * malformed one before anything is fetched.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { assertOneLineError, runCli } from '../../helpers/run-cli.js';
import { listeningSeeder, tempDir } from '../../helpers/session.js';

const PIECE = 16_384;

/**
 * A folder `show` of files with these lengths (random bytes), its torrent (v1, or a hybrid with
 * BEP 47 padding after each file that does not end a piece), seeded on 127.0.0.1, and its magnet
 * link (x.pe) without so=.
 */
async function swarm(t: TestContext, lengths: readonly number[], format: 'v1' | 'hybrid') {
  const dir = await tempDir(t, 'bitstate-magnet-so-');
  const data = join(dir, 'data');
  await mkdir(join(data, 'show'), { recursive: true });
  const names = lengths.map((_, i) => `${String.fromCharCode(97 + i)}.bin`);
  const contents = new Map<string, Buffer>();
  for (const [i, name] of names.entries()) {
    contents.set(name, randomBytes(lengths[i]!));
    await writeFile(join(data, 'show', name), contents.get(name)!);
  }
  const bytes = await createTorrent(join(data, 'show'), { pieceLength: PIECE, format });
  await writeFile(join(dir, 'show.torrent'), bytes);
  const torrent = parseTorrent(bytes);
  const port = await listeningSeeder(t, torrent, data);
  const magnet = `magnet:?xt=urn:btih:${torrent.infoHashHex}&x.pe=127.0.0.1:${port}`;
  return { dir, torrent, magnet, names, contents };
}

const args = ['--port', '0', '--no-tracker', '--quiet', '--timeout', '20'];

/** The files of `show` in `out`: the `fetched` ones byte-exact, every other absent. */
async function assertOnly(
  out: string,
  s: { names: readonly string[]; contents: ReadonlyMap<string, Buffer> },
  fetched: readonly string[],
) {
  for (const name of s.names) {
    const path = join(out, 'show', name);
    if (fetched.includes(name)) assert.deepEqual(await readFile(path), s.contents.get(name), name);
    else assert.equal(existsSync(path), false, `${name} is not selected and must not exist`);
  }
}

test('so=0,2: only files 0 and 2 are fetched; the unselected file is not made, its bytes in the shared pieces go to the parts file', async (t) => {
  // 40,000 / 50,000 / 30,000 bytes in 16 KiB pieces: b.bin shares piece 2 with a.bin and piece 5 with c.bin.
  const s = await swarm(t, [40_000, 50_000, 30_000], 'v1');
  const out = join(s.dir, 'out');
  const r = await runCli(['download', `${s.magnet}&so=0,2`, '-o', out, ...args], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  await assertOnly(out, s, ['a.bin', 'c.bin']);
  const state = await readdir(join(out, '.bitstate'));
  assert.ok(state.includes(`${s.torrent.infoHashHex}.torrent`), 'the metadata is saved');
  const parts = await stat(join(out, '.bitstate', `${s.torrent.infoHashHex}.parts`));
  assert.ok(
    parts.size > 0 && parts.size <= 2 * PIECE,
    `parts file of the two shared pieces: ${parts.size} bytes`,
  );
});

test('so= counts BEP 47 padding files, as bitstate info --json and --select do: so=2 is the second file of data', async (t) => {
  const s = await swarm(t, [20_000, 30_000, 5_000], 'hybrid');
  // Whatever bitstate info --json numbers b.bin, that is the index so= takes.
  const info = await runCli(['info', join(s.dir, 'show.torrent'), '--json']);
  assert.equal(info.code, 0, info.stderr);
  const listed = (JSON.parse(info.stdout) as { files: { index: number; path: string[]; padding?: true }[] })
    .files;
  assert.deepEqual(
    listed.map((f) => [f.index, f.path.join('/'), f.padding === true]),
    [
      [0, 'a.bin', false],
      [1, '.pad/12768', true],
      [2, 'b.bin', false],
      [3, '.pad/2768', true],
      [4, 'c.bin', false],
      [5, '.pad/11384', true],
    ],
  );
  const out = join(s.dir, 'out');
  const r = await runCli(['download', `${s.magnet}&so=2`, '-o', out, ...args], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  await assertOnly(out, s, ['b.bin']);
  assert.equal(existsSync(join(out, 'show', '.pad')), false, 'padding is never written');
});

test('--select and --only win over so=; so= past the files exits 2 once the metadata is saved', async (t) => {
  const s = await swarm(t, [40_000, 50_000, 30_000], 'v1');
  const select = join(s.dir, 'select');
  const r = await runCli(['download', `${s.magnet}&so=0`, '-o', select, '--select', '1', ...args], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, r.stderr);
  await assertOnly(select, s, ['b.bin']);
  const only = join(s.dir, 'only');
  const o = await runCli(['download', `${s.magnet}&so=0-1`, '-o', only, '--only', 'c.bin', ...args], {
    timeoutMs: 60_000,
  });
  assert.equal(o.code, 0, o.stderr);
  await assertOnly(only, s, ['c.bin']);

  // File 3 of 3 (0-2): known only once the metadata is. Into a new folder: fetched, saved, refused.
  const past = join(s.dir, 'past');
  const p = await runCli(['download', `${s.magnet}&so=0,3`, '-o', past, ...args], { timeoutMs: 60_000 });
  assertOneLineError(p, {
    command: 'download',
    pattern: /so=: file 3 does not exist \(the torrent has 3 files/,
  });
  assert.ok(existsSync(join(past, '.bitstate', `${s.torrent.infoHashHex}.torrent`)), 'the metadata is saved');
  await assertOnly(past, s, []);
});

test('a malformed so=: exit 2 before anything is fetched or written', async (t) => {
  const dir = await tempDir(t, 'bitstate-magnet-so-');
  // x.pe names a port nobody listens on: a fetch would wait out --metadata-timeout.
  const magnet = `magnet:?xt=urn:btih:${'c'.repeat(40)}&x.pe=127.0.0.1:1`;
  const out = join(dir, 'out');
  for (const so of ['2-1', 'first', '1,,2', '']) {
    const r = await runCli([
      'download',
      `${magnet}&so=${so}`,
      '-o',
      out,
      '--no-tracker',
      '--metadata-timeout',
      '60',
    ]);
    assertOneLineError(r, { command: 'download', pattern: /so=.* is not file indexes and inclusive ranges/ });
  }
  assert.equal(existsSync(out), false, 'nothing written');
});
