/**
 * Names that differ only in case (src/metainfo/case-collisions.ts): parseTorrent gives each later
 * file a distinct name, as libtorrent does (`readme.1`), one that collides with nothing else; exact
 * duplicates are still refused; `bitstate info` and the storage layout use the on-disk names.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describeTorrent, torrentSummary } from '../../../src/cli/commands/info.js';
import { type BencodeInput, bencode } from '../../../src/metainfo/bencode.js';
import { resolveCaseCollisions } from '../../../src/metainfo/case-collisions.js';
import { MetainfoError } from '../../../src/metainfo/metainfo-error.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { readTorrentFile } from '../../../src/metainfo/read-torrent-file.js';
import type { Torrent } from '../../../src/metainfo/torrent.js';
import { checkDataFiles, SeedError } from '../../../src/session/seed.js';
import { fileLocations } from '../../../src/storage/layout.js';
import { runCli } from '../../helpers/run-cli.js';
import { tempDir } from '../../helpers/temp-dir.js';

/** A multi-file torrent named `root` of these paths, 1 byte each (padding where marked). */
function torrentOf(paths: readonly (readonly string[])[], padding: ReadonlySet<number> = new Set()): Torrent {
  const pieceLength = 1 << 20;
  const files = paths.map((path, i) => ({
    length: 1,
    path: [...path] as BencodeInput[],
    ...(padding.has(i) ? { attr: 'p' } : {}),
  }));
  const pieces = new Uint8Array(20 * Math.ceil(paths.length / pieceLength));
  return parseTorrent(bencode({ info: { name: 'root', 'piece length': pieceLength, pieces, files } }));
}

const onDisk = (t: Torrent) => t.files.map((f) => f.path.join('/'));
const renamedFrom = (t: Torrent) => t.files.map((f) => f.renamedFrom?.join('/'));

test('a later file whose name differs only in case gets .N before its extension; the first keeps its name', () => {
  const t = torrentOf([['README'], ['readme'], ['Readme'], ['Notes.txt'], ['notes.TXT'], ['other']]);
  assert.deepEqual(onDisk(t), ['README', 'readme.1', 'Readme.2', 'Notes.txt', 'notes.1.TXT', 'other']);
  assert.deepEqual(renamedFrom(t), [undefined, 'readme', 'Readme', undefined, 'notes.TXT', undefined]);
  assert.equal(t.files[0]!.renamedFrom, undefined);
  assert.equal('renamedFrom' in t.files[0]!, false, 'a file kept as named has no renamedFrom key');
});

test('a new name never takes another file’s name, as the torrent names it or as renamed before', () => {
  const t = torrentOf([['a.txt'], ['A.txt'], ['a.1.txt'], ['A.1.TXT'], ['a.TXT']]);
  // A.txt skips a.1.txt (a later file's own name); A.1.TXT collides with a.1.txt, a.TXT with a.txt.
  assert.deepEqual(onDisk(t), ['a.txt', 'A.2.txt', 'a.1.txt', 'A.1.1.TXT', 'a.3.TXT']);
});

test('a file that a case-insensitive file system would take for a folder is renamed, wherever it comes', () => {
  assert.deepEqual(onDisk(torrentOf([['Docs'], ['docs', 'x']])), ['Docs.1', 'docs/x']);
  assert.deepEqual(onDisk(torrentOf([['docs', 'x'], ['Docs']])), ['docs/x', 'Docs.1']);
  // Folders equal but for case are one folder there: only files that then collide are renamed.
  assert.deepEqual(
    onDisk(
      torrentOf([
        ['Docs', 'a'],
        ['docs', 'A'],
        ['DOCS', 'b'],
      ]),
    ),
    ['Docs/a', 'docs/A.1', 'DOCS/b'],
  );
});

test('Unicode: composed and decomposed accents (one name on macOS), and case beyond ASCII', () => {
  const composed = 'caf\u00e9';
  const decomposed = 'cafe\u0301';
  assert.deepEqual(onDisk(torrentOf([[composed], [decomposed]])), [composed, `${decomposed}.1`]);
  assert.deepEqual(onDisk(torrentOf([['ÄRGER.md'], ['ärger.md'], ['Σοφία'], ['σοφία']])), [
    'ÄRGER.md',
    'ärger.1.md',
    'Σοφία',
    'σοφία.1',
  ]);
});

test('the extension is from the last dot, as libtorrent takes it: a dotfile, a trailing dot', () => {
  assert.deepEqual(
    onDisk(torrentOf([['.bashrc'], ['.BASHRC'], ['x.'], ['X.'], ['a.tar.gz'], ['A.TAR.GZ']])),
    ['.bashrc', '.1.BASHRC', 'x.', 'X.1.', 'a.tar.gz', 'A.TAR.1.GZ'],
  );
});

test('a renamed name stays within NAME_MAX (255 bytes), cut on a character boundary', () => {
  const ascii = `${'a'.repeat(251)}.txt`;
  const wide = 'é'.repeat(127); // 254 bytes
  const t = torrentOf([[ascii], [ascii.toUpperCase()], [wide], ['É'.repeat(127)]]);
  assert.equal(t.files[1]!.path[0], `${'A'.repeat(249)}.1.TXT`);
  assert.equal(t.files[3]!.path[0], `${'É'.repeat(126)}.1`);
  for (const f of t.files) assert.ok(Buffer.byteLength(f.path.at(-1)!, 'utf8') <= 255);
});

test('exact duplicates are still refused; padding files (never written) are left alone', () => {
  assert.throws(
    () =>
      torrentOf([
        ['a', 'b'],
        ['A', 'b'],
        ['a', 'b'],
      ]),
    (err: unknown) => err instanceof MetainfoError && err.code === 'duplicate-path',
  );
  const t = torrentOf([['.pad', '1'], ['.PAD', '1'], ['x'], ['.pad', '1']], new Set([0, 1, 3]));
  assert.deepEqual(onDisk(t), ['.pad/1', '.PAD/1', 'x', '.pad/1']);
});

test('a torrent without such names is unchanged', () => {
  const t = torrentOf([['a'], ['b', 'a'], ['B', 'c']]);
  assert.deepEqual(onDisk(t), ['a', 'b/a', 'B/c']);
  assert.deepEqual(renamedFrom(t), [undefined, undefined, undefined]);
});

test('32,768 spellings of one name are renamed in linear work: each rename starts from the next free number', () => {
  const word = 'abcdefghijklmno';
  const paths: string[][] = [];
  for (let mask = 0; mask < 1 << word.length; mask++)
    paths.push([[...word].map((c, i) => ((mask >> i) & 1 ? c.toUpperCase() : c)).join('')]);
  const t = torrentOf(paths);
  assert.equal(new Set(t.files.map((f) => f.path[0]!.toLowerCase())).size, paths.length);
  assert.equal(t.files.at(-1)!.path[0], `${word.toUpperCase()}.${paths.length - 1}`);
  // The same files as the parser hands them over, renamed again with the candidates counted:
  // trying .1, .2, … from the start for every spelling would be ~5 × 10^8 tries.
  const stats = { probes: 0 };
  resolveCaseCollisions(
    paths.map((path, i) => ({ path, length: 1, offset: i, padding: false })),
    stats,
  );
  assert.equal(stats.probes, paths.length - 1, 'one candidate per renamed file');
});

test('the storage layout and `bitstate info` use the on-disk names', async (t) => {
  const torrent = torrentOf([['README'], ['readme']]);
  assert.deepEqual(
    fileLocations(torrent, '/out').map((l) => l.path),
    ['/out/root/README', '/out/root/readme.1'],
  );
  assert.match(
    describeTorrent(torrent),
    /^ {2}1 {2}1 {2}readme\.1 {2}\(the torrent's readme: another file's name but for case\)$/m,
  );
  assert.deepEqual(torrentSummary(torrent).files, [
    { index: 0, path: ['README'], length: 1 },
    { index: 1, path: ['readme.1'], length: 1, torrentPath: ['readme'] },
  ]);
  const dir = await tempDir(t, 'bitstate-case-');
  const file = join(dir, 'case.torrent');
  const pieces = new Uint8Array(20);
  const files = [
    { length: 1, path: ['README'] },
    { length: 1, path: ['readme'] },
  ];
  await writeFile(file, bencode({ info: { name: 'root', 'piece length': 16384, pieces, files } }));
  const r = await runCli(['info', '--json', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).files[1], {
    index: 1,
    path: ['readme.1'],
    length: 1,
    torrentPath: ['readme'],
  });
});

test('checkDataFiles names a missing renamed file with why (seed first serves it from its own name when that is a file of its own: seed-renamed.test.ts)', async (t) => {
  const dir = await tempDir(t, 'bitstate-case-seed-');
  await mkdir(join(dir, 'root'));
  await writeFile(join(dir, 'root', 'README'), 'x');
  await writeFile(join(dir, 'root', 'readme'), 'y'); // ext4 keeps both
  await assert.rejects(checkDataFiles(torrentOf([['README'], ['readme']]), dir), (err: unknown) => {
    assert.ok(err instanceof SeedError);
    assert.equal(err.code, 'missingFile');
    assert.match(
      err.message,
      /root\/readme\.1 is missing \(the torrent's readme, renamed: another file has its name but for case\)$/,
    );
    return true;
  });
});

test('the checked-in seed ok--case-collisions.torrent (made by create on ext4) lands as libtorrent lays it out', async () => {
  const t = await readTorrentFile(
    fileURLToPath(new URL('../../fixtures/torrents/ok--case-collisions.torrent', import.meta.url)),
  );
  assert.deepEqual(onDisk(t), ['DOCS.1', 'README', 'docs/Notes.txt', 'docs/notes.1.TXT', 'readme.1']);
  assert.deepEqual(renamedFrom(t), ['DOCS', undefined, undefined, 'docs/notes.TXT', 'readme']);
});
