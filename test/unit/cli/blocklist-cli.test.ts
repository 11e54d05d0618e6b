/**
 * `--blocklist FILE` as a user meets it (the CLI from source, in a child process): a file that cannot
 * be read or names no range is one line and exit 2, before anything starts; a file with lines it
 * cannot read is used, and what was skipped is said once (how many, the first line's number).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { runCli } from '../../helpers/run-cli.js';
import { randomFileTorrent, tempDir } from '../../helpers/session.js';

/** DIR/a.torrent of a random file in DIR/data. */
async function torrentFile(dir: string): Promise<string> {
  const { data } = await randomFileTorrent(dir, { size: 40_000 });
  const path = join(dir, 'a.torrent');
  await writeFile(path, await createTorrent(join(data, 'file.bin'), { pieceLength: 32768 }));
  return path;
}

test('download --blocklist with a missing file or one with no range: one line, exit 2', async (t) => {
  const dir = await tempDir(t, 'bitstate-blocklist-cli-');
  const torrentPath = await torrentFile(dir);
  const missing = await runCli(['download', torrentPath, '-o', dir, '--blocklist', join(dir, 'nope.p2p')]);
  assert.equal(missing.code, 2, missing.stderr);
  assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
  assert.match(missing.stderr, /cannot read blocklist .*nope\.p2p: ENOENT/);
  const emptyList = join(dir, 'empty.p2p');
  await writeFile(emptyList, '# only comments\n\n');
  const empty = await runCli(['seed', torrentPath, '-d', join(dir, 'data'), '--blocklist', emptyList]);
  assert.equal(empty.code, 2, empty.stderr);
  assert.equal(empty.stderr.trim().split('\n').length, 1, empty.stderr);
  assert.match(empty.stderr, /has no valid IPv4 range/);
});

test('download --blocklist with invalid and IPv6 lines: used, and the skipped lines said once', async (t) => {
  const dir = await tempDir(t, 'bitstate-blocklist-cli-');
  const torrentPath = await torrentFile(dir);
  const list = join(dir, 'list.p2p');
  await writeFile(
    list,
    '# test\nOrg:10.0.0.0-10.0.0.255\nnot a range\n10.1.0.0/16\nalso bad\nv6:2001:db8::-2001:db8::ff\n',
  );
  // No peer, no tracker: it gives up after a second without data (exit 1).
  const r = await runCli([
    'download',
    torrentPath,
    '-o',
    join(dir, 'out'),
    '--no-tracker',
    '--port',
    '0',
    '--timeout',
    '1',
    '--blocklist',
    list,
  ]);
  assert.equal(r.code, 1, r.stderr);
  const said = r.stderr.split('\n').filter((l) => l.startsWith('blocklist '));
  assert.deepEqual(said, [
    `blocklist ${list}: 2 ranges (65792 addresses) blocked; 2 invalid lines skipped (the first: line 3); 1 IPv6 range not filtered (IPv4 only)`,
  ]);
});
