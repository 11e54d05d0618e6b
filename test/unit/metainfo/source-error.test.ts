import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetainfoError } from '../../../src/metainfo/metainfo-error.js';
import { escapeName, sourceError } from '../../../src/metainfo/source-error.js';

const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

test('a missing or unsuitable path is bad-source naming the path; a machine fault is a plain Error', () => {
  const missing = sourceError(
    'x.torrent',
    errno('ENOENT', "ENOENT: no such file or directory, open 'x.torrent'"),
  );
  assert.ok(missing instanceof MetainfoError && missing.code === 'bad-source');
  assert.equal(missing.message, 'cannot read x.torrent: no such file or directory (ENOENT)');
  const folder = sourceError('/tmp', errno('EISDIR', 'EISDIR: illegal operation on a directory, read'));
  assert.ok(folder instanceof MetainfoError);
  assert.equal(folder.message, 'cannot read /tmp: illegal operation on a directory (EISDIR)');
  const io = sourceError('/mnt/a', errno('EIO', 'EIO: i/o error, read'));
  assert.ok(!(io instanceof MetainfoError) && io instanceof Error);
  assert.equal(io.message, 'cannot read /mnt/a: i/o error (EIO)');
  assert.equal((io as { badInput?: unknown }).badInput, undefined);
});

test('escapeName shows printable ASCII and escapes the rest', () => {
  assert.equal(escapeName(Buffer.from([0x6e, 0xff, 0xfe, 0x5c, 0x0a, 0x41])), 'n\\xff\\xfe\\x5c\\x0aA');
});
