/**
 * The input review's `exit_codes.sh`, `create_big.sh` and `b/trailing-newline.torrent` as the user
 * runs them (the CLI in a child process): a path the user gave that is missing or unsuitable is one
 * line naming it, exit 2; a torrent too large to load is refused before its files are read, and
 * never written; a trailing newline loads.
 */
import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, open, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bencode } from '../../../src/metainfo/bencode.js';
import { assertOneLineError, runCli } from '../../helpers/run-cli.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-bad-input-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const gone = (path: string) =>
  access(path).then(
    () => false,
    () => true,
  );

describe('bad input at the CLI', { concurrency: true }, () => {
  it('info and download of a folder: exit 2, one line naming it', async () => {
    assertOneLineError(await runCli(['info', dir]), {
      command: 'info',
      pattern: new RegExp(`cannot read ${dir}: it is a folder$`),
      stdout: 'any',
    });
    assertOneLineError(await runCli(['download', dir, '--no-tracker', '-o', join(dir, 'out')]), {
      command: 'download',
      pattern: new RegExp(`cannot read ${dir}: it is a folder$`),
      stdout: 'any',
    });
  });

  it('create of a missing path: exit 2, one line naming it', async () => {
    const missing = join(dir, 'nonexistent');
    const r = await runCli(['create', missing, '-a', 'http://127.0.0.1:1/a', '-o', join(dir, 'x.torrent')]);
    assertOneLineError(r, {
      command: 'create',
      pattern: new RegExp(`cannot read ${missing}: no such file or directory \\(ENOENT\\)$`),
      stdout: 'any',
    });
  });

  it('create of a folder holding a name that is not UTF-8: exit 2, the name escaped', async () => {
    const folder = join(dir, 'bad');
    await mkdir(folder);
    await writeFile(Buffer.concat([Buffer.from(join(folder, 'n')), Buffer.from([0xff, 0xfe])]), 'x');
    const out = join(dir, 'bad.torrent');
    // Named as the user named the folder (relative to the CLI's working folder, the repository's
    // root), not as resolved.
    const given = relative(fileURLToPath(new URL('../../..', import.meta.url)), folder);
    assert.ok(given.startsWith('..'), given);
    const r = await runCli(['create', given, '-a', 'http://127.0.0.1:1/a', '-o', out]);
    assert.ok(
      r.stderr.startsWith(`bitstate create: ${given}/n\\xff\\xfe: the name is not valid UTF-8`),
      r.stderr,
    );
    assertOneLineError(r, { command: 'create', pattern: /n\\xff\\xfe/, stdout: 'any' });
    assert.ok(await gone(out));
  });

  it('create of 9 GiB at 16K: refused before hashing, exit 2, nothing written', async (t) => {
    const sparse = join(dir, 'sparse9g.bin');
    const handle = await open(sparse, 'w');
    await handle.truncate(9 * 2 ** 30);
    await handle.close();
    // Hashing reads the file, and a read moves an access time older than the file's mtime forward
    // (relatime, Linux's default, does): an atime still in 2000 afterwards means not a byte was read.
    const longAgo = new Date('2000-01-01T00:00:00Z');
    await utimes(sparse, longAgo, new Date());
    const out = join(dir, 'big.torrent');
    const r = await runCli(['create', sparse, '-a', 'http://127.0.0.1:1/a', '-l', '16K', '-o', out]);
    assertOneLineError(r, {
      command: 'create',
      pattern: /would be \d+ bytes \(limit 10000000.*piece length of 32768 or more fits/,
      stdout: 'any',
    });
    assert.ok(await gone(out), 'no torrent left behind');
    const atime = (await stat(sparse)).atimeMs;
    // The control: one byte read here moves it, so an unmoved atime is evidence (on a noatime
    // mount it would not be, and the test says so rather than passing on nothing).
    const reader = await open(sparse, 'r');
    await reader.read(Buffer.alloc(1), 0, 1, 0);
    await reader.close();
    if ((await stat(sparse)).atimeMs === longAgo.getTime()) {
      t.skip('this file system does not record reads (noatime): cannot tell whether the file was hashed');
      return;
    }
    assert.equal(atime, longAgo.getTime(), 'the file was read: hashed before the size was checked');
  });

  it('info of a torrent ending in a newline or NUL padding: exit 0', async () => {
    const torrent = bencode({
      info: { name: 'a', 'piece length': 16384, length: 1, pieces: new Uint8Array(20) },
    });
    for (const [name, tail] of [
      ['newline', '\n'],
      ['nul', '\0\0\0\0'],
    ] as const) {
      const file = join(dir, `trailing-${name}.torrent`);
      await writeFile(file, Buffer.concat([torrent, Buffer.from(tail)]));
      const r = await runCli(['info', file]);
      assert.equal(r.code, 0, r.stderr);
    }
  });
});
