/**
 * BEP 52 hybrids: used through their v1 keys, and only when their v2 file tree lists the v1 files
 * (padding aside); their version and v2 info-hash are kept. libtorrent-made seeds are in
 * test/fixtures/torrents (`ok--libtorrent-hybrid-…`, `invalid-value--libtorrent-hybrid-…`,
 * `ok--libtorrent-v2-only`); v2-only torrents are v2-payload.test.ts's.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { type BencodeInput, bencode } from '../../../src/metainfo/bencode.js';
import { MetainfoError } from '../../../src/metainfo/metainfo-error.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { rejected } from '../../helpers/metainfo-rejected.js';

const ROOT = new Uint8Array(32);
const leaf = (length: number, extra: Record<string, BencodeInput> = {}) => ({
  '': { length, ...(length > 0 ? { 'pieces root': ROOT } : {}), ...extra },
});
/** Two files, a/x (20000) and y (5), padded to 16 KiB in v1 as libtorrent writes hybrids. */
const v1Files = () => [
  { length: 20000, path: ['a', 'x'] },
  { attr: 'p', length: 12768, path: ['.pad', '12768'] },
  { length: 5, path: ['y'] },
];
const tree = (): Record<string, BencodeInput> => ({ a: { x: leaf(20000) }, y: leaf(5) });
const hybrid = (fileTree: BencodeInput, files: BencodeInput = v1Files()) =>
  bencode({
    info: {
      'file tree': fileTree,
      files,
      'meta version': 2,
      name: 'h',
      'piece length': 16384,
      pieces: new Uint8Array(3 * 20),
    },
  });

test('a hybrid whose file tree lists the v1 files parses through its v1 keys', () => {
  const bytes = hybrid(tree());
  const t = parseTorrent(bytes);
  assert.equal(t.version, 'hybrid');
  // Its swarm is its v1 one (SHA-1); the v2 info-hash (SHA-256) is kept to show.
  const info = Buffer.from(t.infoBytes);
  assert.equal(t.infoHashHex, createHash('sha1').update(info).digest('hex'));
  assert.equal(Buffer.from(t.infoHashV2!).toString('hex'), createHash('sha256').update(info).digest('hex'));
  assert.equal(t.pieces.length, 3 * 20);
  assert.deepEqual(
    t.files.filter((f) => !f.padding).map((f) => [f.path.join('/'), f.length]),
    [
      ['a/x', 20000],
      ['y', 5],
    ],
  );
  // A single-file hybrid: the tree holds the name itself.
  const single = bencode({
    info: {
      'file tree': { s: leaf(7) },
      length: 7,
      'meta version': 2,
      name: 's',
      'piece length': 16384,
      pieces: new Uint8Array(20),
    },
  });
  assert.equal(parseTorrent(single).totalLength, 7);
  // A symbolic link has no length in v2, length 0 in v1.
  const link = { attr: 'l', 'symlink path': ['y'] };
  const withLink = hybrid({ ...tree(), z: { '': link } }, [
    ...v1Files(),
    { ...link, length: 0, path: ['z'] },
  ]);
  assert.equal(parseTorrent(withLink).files.length, 4);
});

test('a hybrid whose file tree and v1 files differ is refused (as libtorrent refuses it)', () => {
  const differ = /the v1 and v2 file lists differ/;
  const renamed = tree();
  renamed.z = renamed.y!;
  delete renamed.y;
  rejected(hybrid(renamed), 'invalid-value', 'info.file tree', differ);
  rejected(
    hybrid({ ...tree(), y: leaf(6) }),
    'invalid-value',
    'info.file tree',
    /v1 "y" \(5 bytes\), v2 "y" \(6 bytes\)/,
  );
  rejected(hybrid({ ...tree(), z: leaf(1) }), 'invalid-value', 'info.file tree', /v2 lists more files/);
  rejected(hybrid({ a: { x: leaf(20000) } }), 'invalid-value', 'info.file tree', /v2 lists 1 files, v1 2/);
  rejected(hybrid([]), 'wrong-type', 'info.file tree');
  rejected(hybrid({ ...tree(), y: 5 }), 'wrong-type', 'info.file tree');
  rejected(hybrid({ ...tree(), y: { '': { length: 'five' } } }), 'wrong-type', 'info.file tree');
});

test('a hybrid whose file tree repeats a name in a folder is refused where the tree is walked', () => {
  // Folder b twice, holding A and B: the v1 list is b/A, b/B. libtorrent 2.0.8 refuses it
  // ("invalid bencoding"); so does the walk, at the second "b" (byte 45).
  const bytes = new TextEncoder().encode(
    'd4:infod9:file treed1:bd1:Ad0:d6:lengthi1eeee1:bd1:Bd0:d6:lengthi1eeeee' +
      '5:filesld6:lengthi1e4:pathl1:b1:Aeed6:lengthi1e4:pathl1:b1:Beee' +
      `4:name1:t12:piece lengthi16384e6:pieces20:${'H'.repeat(20)}ee`,
  );
  assert.throws(
    () => parseTorrent(bytes),
    (err: unknown) => {
      assert.ok(err instanceof MetainfoError, String(err));
      assert.equal(err.code, 'bencode-duplicate-key');
      assert.equal(err.message, 'bencode: duplicate key "b" at byte 45');
      assert.equal(err.offset, 45);
      assert.equal(err.field, 'b');
      return true;
    },
  );
  // A file (the "" leaf's dictionary) named twice in a folder, listed twice in v1 as padding, so
  // only the tree can refuse it.
  const leafTwice = new TextEncoder().encode(
    'd4:infod9:file treed1:fd0:d6:lengthi1eee1:fd0:d6:lengthi1eeee' +
      '5:filesld6:lengthi1e4:pathl1:feed4:attr1:p6:lengthi1e4:pathl1:feee' +
      `4:name1:t12:piece lengthi16384e6:pieces20:${'H'.repeat(20)}ee`,
  );
  rejected(leafTwice, 'bencode-duplicate-key', 'f', /duplicate key "f" at byte 40/);
});
