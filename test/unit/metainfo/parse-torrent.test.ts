import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type BencodeInput, bencode } from '../../../src/metainfo/bencode.js';
import {
  MAX_PIECE_LENGTH,
  MAX_PIECES,
  MAX_TORRENT_FILE_BYTES,
  MAX_TRACKERS,
  MAX_WEB_SEEDS,
} from '../../../src/metainfo/limits.js';
import { MetainfoError } from '../../../src/metainfo/metainfo-error.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { readTorrentFile } from '../../../src/metainfo/read-torrent-file.js';
import { pieceHash, pieceLengthAt } from '../../../src/metainfo/torrent.js';

const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const sha1hex = (s: string) => createHash('sha1').update(Buffer.from(s, 'latin1')).digest('hex');
/** A bencoded byte string of `s` (latin1: one char per byte). */
const b = (s: string) => `${s.length}:${s}`;
const HASH_A = 'A'.repeat(20);
const HASH_B = 'B'.repeat(20);

test('single-file torrent from exact bytes', () => {
  const info = `d${b('length')}i20000e${b('name')}${b('a.txt')}${b('piece length')}i16384e${b('pieces')}${b(HASH_A + HASH_B)}e`;
  const file = `d${b('announce')}${b('http://127.0.0.1:6969/announce')}${b('comment')}${b('hi')}${b('created by')}${b('mktorrent 1.1')}${b('creation date')}i1700000000e${b('info')}${info}e`;
  const t = parseTorrent(latin1(file));
  assert.equal(t.infoHashHex, sha1hex(info));
  assert.equal(Buffer.from(t.infoHash).toString('hex'), sha1hex(info));
  assert.equal(Buffer.from(t.infoBytes).toString('latin1'), info);
  assert.equal(t.name, 'a.txt');
  assert.equal(t.multiFile, false);
  assert.deepEqual(t.files, [{ path: ['a.txt'], length: 20000, offset: 0, padding: false }]);
  assert.equal(t.totalLength, 20000);
  assert.equal(t.pieceLength, 16384);
  assert.equal(t.pieceCount, 2);
  assert.equal(pieceLengthAt(t, 1), 20000 - 16384);
  assert.equal(Buffer.from(pieceHash(t, 1)).toString('latin1'), HASH_B);
  assert.equal(t.announce, 'http://127.0.0.1:6969/announce');
  assert.deepEqual(t.announceList, [['http://127.0.0.1:6969/announce']]);
  assert.equal(t.comment, 'hi');
  assert.equal(t.createdBy, 'mktorrent 1.1');
  assert.equal(t.creationDate, 1700000000);
  assert.equal(t.private, false);
  assert.deepEqual(t.urlList, []);
});

test('multi-file torrent from exact bytes: offsets, padding (BEP 47), private, tiers, url-list', () => {
  const files =
    `ld${b('length')}i3e${b('path')}l${b('x')}ee` +
    `d${b('attr')}${b('p')}${b('length')}i16381e${b('path')}l${b('.pad')}${b('16381')}ee` +
    `d${b('length')}i5e${b('path')}l${b('dir')}${b('y')}ee` +
    `d${b('attr')}${b('p')}${b('length')}i16381e${b('path')}l${b('.pad')}${b('16381')}ee` +
    `d${b('length')}i1e${b('path')}l${b('z')}eee`;
  const info = `d${b('files')}${files}${b('name')}${b('root')}${b('piece length')}i16384e${b('pieces')}${b(HASH_A.repeat(3))}${b('private')}i1ee`;
  const tiers =
    `l l${b('http://a/1')}i5el${b('nested')}e${b('http://a/2')}e ${b('http://string-tier')} le l${b('http://b/1')}ee`.replaceAll(
      ' ',
      '',
    );
  const file = `d${b('announce')}${b('http://z/')}${b('announce-list')}${tiers}${b('info')}${info}${b('url-list')}${b('http://seed/')}e`;
  const t = parseTorrent(latin1(file));
  assert.equal(t.infoHashHex, sha1hex(info));
  assert.equal(t.multiFile, true);
  assert.equal(t.private, true);
  assert.deepEqual(
    t.files.map((f) => [f.path.join('/'), f.length, f.offset, f.padding]),
    [
      ['x', 3, 0, false],
      ['.pad/16381', 16381, 3, true],
      ['dir/y', 5, 16384, false],
      ['.pad/16381', 16381, 16389, true],
      ['z', 1, 32770, false],
    ],
  );
  assert.equal(t.totalLength, 32771);
  assert.equal(t.pieceCount, 3);
  // BEP 12 as libtorrent reads it: non-string entries and non-list tiers skipped, empty tiers dropped.
  assert.deepEqual(t.announceList, [['http://a/1', 'http://a/2'], ['http://b/1']]);
  assert.deepEqual(t.urlList, ['http://seed/']);
});

test('the info-hash covers the raw bytes of an info dictionary with unsorted keys', () => {
  const info = `d${b('name')}${b('n')}${b('piece length')}i16384e${b('length')}i1e${b('pieces')}${b(HASH_A)}e`;
  const t = parseTorrent(latin1(`d${b('info')}${info}e`));
  assert.equal(t.infoHashHex, sha1hex(info));
  const sorted = bencode({ length: 1, name: 'n', 'piece length': 16384, pieces: latin1(HASH_A) });
  assert.notEqual(t.infoHashHex, createHash('sha1').update(sorted).digest('hex'));
});

test('name.utf-8 and path.utf-8 are preferred; invalid UTF-8 becomes U+FFFD; files win over length', () => {
  const t = parseTorrent(
    bencode({
      info: {
        name: latin1('\xff'),
        'name.utf-8': 'répertoire',
        length: 99,
        files: [
          { length: 1, path: ['a'], 'path.utf-8': ['ä'] },
          { length: 1, path: [latin1('b\xfe')] },
        ],
        'piece length': 16384,
        pieces: latin1(HASH_A),
      },
    }),
  );
  assert.equal(t.name, 'répertoire');
  assert.equal(t.multiFile, true);
  assert.deepEqual(
    t.files.map((f) => f.path),
    [['ä'], ['b\ufffd']],
  );
});

interface Case {
  readonly why: string;
  readonly code: string;
  readonly field?: string;
  readonly info?: Record<string, BencodeInput | undefined>;
  readonly root?: BencodeInput;
}

const validInfo = (): Record<string, BencodeInput | undefined> => ({
  name: 'root',
  'piece length': 16384,
  pieces: latin1(HASH_A),
  files: [
    { length: 3, path: ['a'] },
    { length: 4, path: ['d', 'b'] },
  ],
});
const withFiles = (...paths: BencodeInput[][]) => ({
  ...validInfo(),
  files: paths.map((path) => ({ length: 1, path })),
});
const withInfo = (patch: Record<string, BencodeInput | undefined>) => ({ ...validInfo(), ...patch });

const cases: Case[] = [
  { why: 'root is not a dictionary', code: 'wrong-type', field: '(root)', root: 1 },
  { why: 'no info', code: 'missing-field', field: 'info', root: { announce: 'x' } },
  { why: 'info is a list', code: 'wrong-type', field: 'info', root: { info: [] } },
  { why: 'no name', code: 'missing-field', field: 'info.name', info: withInfo({ name: undefined }) },
  { why: 'name is an integer', code: 'wrong-type', field: 'info.name', info: withInfo({ name: 5 }) },
  { why: 'name ..', code: 'unsafe-path', field: 'info.name', info: withInfo({ name: '..' }) },
  { why: 'name empty', code: 'unsafe-path', field: 'info.name', info: withInfo({ name: '' }) },
  { why: 'name with /', code: 'unsafe-path', field: 'info.name', info: withInfo({ name: '/etc' }) },
  {
    why: 'no piece length',
    code: 'missing-field',
    field: 'info.piece length',
    info: withInfo({ 'piece length': undefined }),
  },
  {
    why: 'piece length 0',
    code: 'invalid-value',
    field: 'info.piece length',
    info: withInfo({ 'piece length': 0 }),
  },
  {
    why: 'piece length < 0',
    code: 'invalid-value',
    field: 'info.piece length',
    info: withInfo({ 'piece length': -16384 }),
  },
  {
    why: 'piece length too big',
    code: 'invalid-value',
    field: 'info.piece length',
    info: withInfo({ 'piece length': MAX_PIECE_LENGTH * 2 }),
  },
  {
    why: 'piece length a string',
    code: 'wrong-type',
    field: 'info.piece length',
    info: withInfo({ 'piece length': '16384' }),
  },
  { why: 'no pieces', code: 'missing-field', field: 'info.pieces', info: withInfo({ pieces: undefined }) },
  {
    why: 'pieces not a multiple of 20',
    code: 'piece-count-mismatch',
    field: 'info.pieces',
    info: withInfo({ pieces: latin1(`${HASH_A}x`) }),
  },
  {
    why: 'one hash too many',
    code: 'piece-count-mismatch',
    field: 'info.pieces',
    info: withInfo({ pieces: latin1(HASH_A + HASH_B) }),
  },
  {
    why: 'no hash at all',
    code: 'piece-count-mismatch',
    field: 'info.pieces',
    info: withInfo({ pieces: '' }),
  },
  {
    why: 'piece count over the limit',
    code: 'limit-exceeded',
    field: 'info.pieces',
    info: withInfo({ files: undefined, length: MAX_PIECES + 1, 'piece length': 1 }),
  },
  {
    why: 'neither length nor files',
    code: 'missing-field',
    field: 'info.length',
    info: withInfo({ files: undefined }),
  },
  {
    why: 'negative length',
    code: 'invalid-value',
    field: 'info.length',
    info: withInfo({ files: undefined, length: -1 }),
  },
  {
    why: 'length past 2^53',
    code: 'invalid-value',
    field: 'info.length',
    info: withInfo({ files: undefined, length: 2n ** 53n }),
  },
  {
    why: 'length a string',
    code: 'wrong-type',
    field: 'info.length',
    info: withInfo({ files: undefined, length: '5' }),
  },
  {
    why: 'empty payload',
    code: 'invalid-value',
    field: 'info.length',
    info: withInfo({ files: undefined, length: 0, pieces: '' }),
  },
  { why: 'files a dictionary', code: 'wrong-type', field: 'info.files', info: withInfo({ files: { a: 1 } }) },
  { why: 'files empty', code: 'invalid-value', field: 'info.files', info: withInfo({ files: [] }) },
  {
    why: 'file entry not a dictionary',
    code: 'wrong-type',
    field: 'info.files[1]',
    info: withInfo({ files: [{ length: 1, path: ['a'] }, 'b'] }),
  },
  {
    why: 'file without path',
    code: 'missing-field',
    field: 'info.files[0].path',
    info: withInfo({ files: [{ length: 1 }] }),
  },
  {
    why: 'file without length',
    code: 'missing-field',
    field: 'info.files[0].length',
    info: withInfo({ files: [{ path: ['a'] }] }),
  },
  {
    why: 'file length negative',
    code: 'invalid-value',
    field: 'info.files[0].length',
    info: withInfo({ files: [{ length: -3, path: ['a'] }] }),
  },
  {
    why: 'total past 2^53',
    code: 'invalid-value',
    field: 'info.files[1].length',
    info: withInfo({
      files: [
        { length: 2 ** 52, path: ['a'] },
        { length: 2 ** 52, path: ['b'] },
      ],
    }),
  },
  {
    why: 'path a string',
    code: 'wrong-type',
    field: 'info.files[0].path',
    info: withInfo({ files: [{ length: 1, path: 'a' }] }),
  },
  { why: 'path empty', code: 'unsafe-path', field: 'info.files[0].path', info: withFiles([]) },
  {
    why: 'component an integer',
    code: 'wrong-type',
    field: 'info.files[0].path[1]',
    info: withFiles(['a', 1]),
  },
  {
    why: 'component ..',
    code: 'unsafe-path',
    field: 'info.files[0].path[0]',
    info: withFiles(['..', 'etc']),
  },
  { why: 'component .', code: 'unsafe-path', field: 'info.files[0].path[1]', info: withFiles(['a', '.']) },
  { why: 'empty component', code: 'unsafe-path', field: 'info.files[0].path[0]', info: withFiles(['', 'x']) },
  {
    why: 'absolute component',
    code: 'unsafe-path',
    field: 'info.files[1].path[0]',
    info: withFiles(['ok'], ['/etc', 'passwd']),
  },
  { why: 'slash inside', code: 'unsafe-path', field: 'info.files[0].path[0]', info: withFiles(['a/b']) },
  {
    why: 'backslash inside',
    code: 'unsafe-path',
    field: 'info.files[0].path[0]',
    info: withFiles(['..\\x']),
  },
  { why: 'NUL inside', code: 'unsafe-path', field: 'info.files[0].path[0]', info: withFiles(['a\0b']) },
  { why: 'drive letter', code: 'unsafe-path', field: 'info.files[0].path[0]', info: withFiles(['C:x']) },
  {
    why: 'padding file with ..',
    code: 'unsafe-path',
    field: 'info.files[0].path[0]',
    info: withInfo({ files: [{ length: 1, path: ['..'], attr: 'p' }] }),
  },
  {
    why: 'component over 255 bytes',
    code: 'limit-exceeded',
    field: 'info.files[0].path[0]',
    info: withFiles(['é'.repeat(128)]),
  },
  {
    why: 'path deeper than 64',
    code: 'limit-exceeded',
    field: 'info.files[0].path',
    info: withFiles(Array(65).fill('d')),
  },
  {
    why: 'two files on one path',
    code: 'duplicate-path',
    field: 'info.files[2].path',
    info: withFiles(['a', 'b'], ['c'], ['a', 'b']),
  },
  {
    why: 'file then folder',
    code: 'duplicate-path',
    field: 'info.files[1].path',
    info: withFiles(['a'], ['a', 'b']),
  },
  {
    why: 'folder then file',
    code: 'duplicate-path',
    field: 'info.files[1].path',
    info: withFiles(['a', 'b', 'c'], ['a', 'b']),
  },
  { why: 'private a string', code: 'wrong-type', field: 'info.private', info: withInfo({ private: '1' }) },
];

for (const c of cases) {
  test(`rejects: ${c.why} → ${c.code} ${c.field ?? ''}`, () => {
    const bytes = bencode(c.root ?? { info: c.info! });
    assert.throws(
      () => parseTorrent(bytes),
      (err: unknown) => {
        assert.ok(err instanceof MetainfoError, String(err));
        assert.equal(err.code, c.code, err.message);
        assert.equal(err.field, c.field, err.message);
        assert.equal(err.badInput, true);
        if (c.field !== undefined) assert.ok(err.message.startsWith(c.field), err.message);
        return true;
      },
    );
  });
}

test('the valid base of the rejection table parses (so each case fails for its own reason)', () => {
  const t = parseTorrent(bencode({ info: validInfo() }));
  assert.equal(t.totalLength, 7);
  const padded = parseTorrent(
    bencode({
      info: withInfo({
        files: [
          { length: 1, path: ['.pad', '1'], attr: 'p' },
          { length: 1, path: ['.pad', '1'], attr: 'p' },
          { length: 1, path: ['a'] },
        ],
      }),
    }),
  );
  assert.equal(padded.files.length, 3);
});

test('trailing bytes after the root (a newline, NUL padding, garbage) are ignored as libtorrent, Transmission and aria2 ignore them', () => {
  const bytes = bencode({ info: validInfo() });
  const hash = parseTorrent(bytes).infoHashHex;
  for (const tail of ['\n', '\r\n', '\0\0\0\0', 'GARBAGE', 'd4:infoe']) {
    const t = parseTorrent(new Uint8Array([...bytes, ...latin1(tail)]));
    assert.equal(t.infoHashHex, hash, JSON.stringify(tail));
  }
});

test('integers outside int64 (up to 20 digits) are refused only where they are read', () => {
  const wide = (v: bigint) => bencode({ info: validInfo(), x: v, y: [-v] });
  assert.equal(parseTorrent(wide(2n ** 63n)).totalLength, 7);
  assert.equal(parseTorrent(wide(10n ** 20n - 1n)).totalLength, 7);
  const rejected = (bytes: Uint8Array, code: string, field?: string) =>
    assert.throws(
      () => parseTorrent(bytes),
      (err: unknown) => err instanceof MetainfoError && err.code === code && err.field === field,
    );
  rejected(wide(10n ** 20n), 'bencode-syntax'); // 21 digits: libtorrent's "integer overflow" too
  rejected(
    bencode({ info: withInfo({ files: undefined, length: 2n ** 63n }) }),
    'invalid-value',
    'info.length',
  );
  rejected(bencode({ info: withInfo({ 'piece length': 2n ** 64n }) }), 'invalid-value', 'info.piece length');
  // A private flag past int64 is still set: dropping it would leak a private torrent to DHT/PEX.
  assert.equal(parseTorrent(bencode({ info: withInfo({ private: 2n ** 63n }) })).private, true);
  assert.equal(
    parseTorrent(bencode({ info: validInfo(), 'creation date': 2n ** 63n })).creationDate,
    undefined,
  );
});

test('a torrent larger than MAX_TORRENT_FILE_BYTES is refused before decoding', () => {
  assert.throws(
    () => parseTorrent(new Uint8Array(MAX_TORRENT_FILE_BYTES + 1)),
    (err: unknown) =>
      err instanceof MetainfoError &&
      err.code === 'limit-exceeded' &&
      err.actual === MAX_TORRENT_FILE_BYTES + 1,
  );
});

test('readTorrentFile reads and parses, and refuses an oversized file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-read-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const good = bencode({ info: validInfo() });
  await writeFile(join(dir, 'good.torrent'), good);
  assert.equal((await readTorrentFile(join(dir, 'good.torrent'))).name, 'root');
  await writeFile(join(dir, 'big.torrent'), new Uint8Array(MAX_TORRENT_FILE_BYTES + 1));
  await assert.rejects(
    readTorrentFile(join(dir, 'big.torrent')),
    (err: unknown) => err instanceof MetainfoError && err.code === 'limit-exceeded',
  );
});

test('announce-list and url-list: each URL once, in its first tier; past MAX_TRACKERS / MAX_WEB_SEEDS the distinct ones counted, not kept', () => {
  const info = `d${b('length')}i1e${b('name')}${b('a')}${b('piece length')}i16384e${b('pieces')}${b(HASH_A)}e`;
  const tier = (...urls: string[]) => `l${urls.map(b).join('')}e`;
  const many = Array.from({ length: MAX_TRACKERS + 5 }, (_, i) => tier(`http://t${i}/a`)).join('');
  const tiers = `l${tier('http://a/1', 'http://b/1', 'http://a/1')}${tier('http://b/1')}${tier('udp://c:1', 'http://a/1')}${many}${tier('http://a/1', `http://t${MAX_TRACKERS + 4}/a`, `http://t${MAX_TRACKERS + 4}/a`)}e`;
  const seeds = `l${Array.from({ length: MAX_WEB_SEEDS + 3 }, (_, i) => b(`http://s${i % (MAX_WEB_SEEDS + 1)}/`)).join('')}e`;
  const t = parseTorrent(
    latin1(`d${b('announce-list')}${tiers}${b('info')}${info}${b('url-list')}${seeds}e`),
  );
  assert.deepEqual(t.announceList.slice(0, 3), [
    ['http://a/1', 'http://b/1'],
    ['udp://c:1'],
    ['http://t0/a'],
  ]);
  assert.equal(t.announceList.flat().length, MAX_TRACKERS);
  assert.equal(new Set(t.announceList.flat()).size, MAX_TRACKERS);
  assert.deepEqual(t.announceList.at(-1), [`http://t${MAX_TRACKERS - 4}/a`]);
  assert.equal(t.ignoredTrackers, 8);
  assert.equal(t.urlList.length, MAX_WEB_SEEDS);
  // s256 dropped; the repeats of s0 and s1, kept, are not counted.
  assert.equal(t.ignoredWebSeeds, 1);
  // Under the limits nothing is counted.
  const small = parseTorrent(latin1(`d${b('announce-list')}l${tier('http://a/1')}e${b('info')}${info}e`));
  assert.equal(small.ignoredTrackers, undefined);
  assert.equal(small.ignoredWebSeeds, undefined);
});

test('a key twice in a dictionary that is read is refused; in one nobody reads it is harmless (as libtorrent takes it)', () => {
  const info = `d${b('length')}i1e${b('name')}${b('a')}${b('piece length')}i16384e${b('pieces')}${b(HASH_A)}e`;
  const unread = `d${b('info')}${info}${b('x-extra')}d${b('k')}i1e${b('k')}i2eee`;
  assert.equal(parseTorrent(latin1(unread)).name, 'a');
  assert.throws(
    () => parseTorrent(latin1(`d${b('comment')}${b('a')}${b('comment')}${b('b')}${b('info')}${info}e`)),
    (err: unknown) =>
      err instanceof MetainfoError && err.code === 'bencode-duplicate-key' && err.field === 'comment',
  );
});
