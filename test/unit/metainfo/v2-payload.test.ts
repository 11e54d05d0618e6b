/**
 * v2-only torrents (BEP 52) load into the Torrent as libtorrent 2.0.8 lays them out: files in the
 * `file tree`'s key order, each starting a piece after an implicit padding file (after the last one
 * too), a single entry as a single-file torrent named as its file; `pieces` from `piece layers`, or
 * a short file's `pieces root`; info-hash the SHA-256 of the info dictionary, cut to 20 bytes for
 * the swarm. The torrents are made here with bencode, their hashes with the slow merkle tree
 * (test/helpers/v2-torrent.ts), not with the code under test. Every malformed
 * one is a MetainfoError naming its field. (The layouts were checked against libtorrent 2.0.8's
 * torrent_info; test/interop/v2-libtorrent.test.ts parses torrents libtorrent made.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BencodeInput, bencode } from '../../../src/metainfo/bencode.js';
import {
  MAX_FILES,
  MAX_PATH_DEPTH,
  MAX_PIECES,
  MAX_V2_FILE_LENGTH,
  MAX_V2_PATHS_BYTES,
} from '../../../src/metainfo/limits.js';
import { MetainfoError } from '../../../src/metainfo/metainfo-error.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { createPieceHash } from '../../../src/metainfo/piece-hash.js';
import { pieceHash, type Torrent } from '../../../src/metainfo/torrent.js';
import { torrentFromMetadata } from '../../../src/metainfo/torrent-from-metadata.js';
import { pieceLayerPlan } from '../../../src/metainfo/v2-payload.js';
import { rejected } from '../../helpers/metainfo-rejected.js';
import { BLOCK, fileHashes, type Spec, sha256, v2Torrent, withLayers } from '../../helpers/v2-torrent.js';

const B = BLOCK;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const bytesOf = (length: number, seed: number) =>
  Uint8Array.from({ length }, (_, i) => (i * 7 + seed * 131 + (i >> 9)) & 0xff);

/** The torrent's payload: each file's bytes, zeros for padding. */
function payloadOf(t: Torrent, data: ReadonlyMap<string, Uint8Array>): Buffer {
  return Buffer.concat(
    t.files.map((f) =>
      f.padding ? new Uint8Array(f.length) : (data.get(f.path.join('/')) ?? new Uint8Array(0)),
    ),
  );
}

/** Every piece of `payload` hashes, through createPieceHash, to the torrent's pieceHash. */
function assertPiecesVerify(t: Torrent, payload: Uint8Array): void {
  assert.equal(payload.length, t.totalLength);
  for (let i = 0; i < t.pieceCount; i++) {
    const h = createPieceHash(t, i);
    h.update(payload.subarray(i * t.pieceLength, (i + 1) * t.pieceLength));
    assert.equal(hex(h.digest()), hex(pieceHash(t, i)), `piece ${i}`);
  }
}

const layout = (t: Torrent) => t.files.map((f) => [f.path.join('/'), f.length, f.offset, f.padding]);

test('a single file shorter than a piece: named as the file, padded to the piece, its pieces root the piece hash', () => {
  const data = bytesOf(20_000, 1);
  const bytes = v2Torrent([{ path: ['one.bin'], data }], { pieceLength: 2 * B, name: 'one.bin' });
  const t = parseTorrent(bytes);
  assert.equal(t.version, 'v2');
  assert.equal(t.multiFile, false);
  assert.equal(t.name, 'one.bin');
  assert.deepEqual(layout(t), [
    ['one.bin', 20_000, 0, false],
    ['.pad/12768', 12_768, 20_000, true],
  ]);
  assert.equal(t.totalLength, 2 * B);
  assert.equal(t.pieceCount, 1);
  assert.equal(hex(t.pieces), hex(fileHashes(data, 2 * B).root));
  // The identity: SHA-256 of the info dictionary; the swarm's 20 bytes are its first 20.
  const infoBytes = Buffer.from(t.infoBytes);
  assert.ok(bytes.includes(infoBytes));
  assert.equal(hex(t.infoHashV2!), hex(sha256(infoBytes)));
  assert.equal(hex(t.infoHash), hex(sha256(infoBytes)).slice(0, 40));
  assert.equal(t.infoHashHex, hex(sha256(infoBytes)).slice(0, 40));
  assertPiecesVerify(t, payloadOf(t, new Map([['one.bin', data]])));
});

test("a single entry named otherwise than `name` is still a single file, named as the file (libtorrent's name)", () => {
  const t = parseTorrent(v2Torrent([{ path: ['file.txt'], data: bytesOf(5, 2) }], { name: 'display' }));
  assert.equal(t.multiFile, false);
  assert.equal(t.name, 'file.txt');
  assert.deepEqual(t.files[0]!.path, ['file.txt']);
  // One entry that is a folder is a multi-file torrent, under `name`.
  const folder = parseTorrent(v2Torrent([{ path: ['d', 'f'], data: bytesOf(5, 2) }], { name: 'n' }));
  assert.equal(folder.multiFile, true);
  assert.equal(folder.name, 'n');
  assert.deepEqual(folder.files[0]!.path, ['d', 'f']);
});

test('multi-file: files shorter than, equal to and longer than a piece, in key order, each starting a piece', () => {
  const P = 2 * B;
  const data = new Map([
    ['a/short', bytesOf(5, 3)],
    ['a/z-equal', bytesOf(P, 4)],
    ['b-long', bytesOf(2 * P + B + 100, 5)],
    ['c-exact-multiple', bytesOf(3 * P, 6)],
    ['d-last', bytesOf(B + 1, 7)],
  ]);
  // Given out of order: the file tree's keys are sorted, and their order is the files'.
  const specs = [...data].reverse().map(([p, d]) => ({ path: p.split('/'), data: d }));
  const t = parseTorrent(v2Torrent(specs, { pieceLength: P, name: 'multi' }));
  assert.equal(t.multiFile, true);
  assert.equal(t.name, 'multi');
  assert.deepEqual(layout(t), [
    ['a/short', 5, 0, false],
    [`.pad/${P - 5}`, P - 5, 5, true],
    ['a/z-equal', P, P, false],
    ['b-long', 2 * P + B + 100, 2 * P, false],
    [`.pad/${B - 100}`, B - 100, 4 * P + B + 100, true],
    ['c-exact-multiple', 3 * P, 5 * P, false],
    ['d-last', B + 1, 8 * P, false],
    // After the last file too, as libtorrent 2.0.8 pads it: the last piece is whole on the wire.
    [`.pad/${B - 1}`, B - 1, 8 * P + B + 1, true],
  ]);
  assert.equal(t.totalLength, 9 * P);
  assert.equal(t.pieceCount, 9);
  const expected = Buffer.concat(
    [...data.values()].map((d) => {
      const h = fileHashes(d, P);
      return h.layer ?? h.root;
    }),
  );
  assert.equal(hex(t.pieces), hex(expected));
  assertPiecesVerify(t, payloadOf(t, data));
});

test('empty files and symbolic links take no room: no padding after them, the padding of the file before them comes first', () => {
  const data = new Map([
    ['a', bytesOf(5, 8)],
    ['b-empty', new Uint8Array(0)],
    ['c', bytesOf(5, 9)],
  ]);
  const specs: Spec[] = [...data].map(([p, d]) => ({ path: [p], data: d }));
  // A link has no length and no pieces root; `x` (executable) is ignored.
  specs.push({ path: ['d-link'], leaf: { attr: 'l', 'symlink path': ['a'] } });
  specs.push({ path: ['e-exec'], leaf: { attr: 'x', length: 0 } });
  const t = parseTorrent(v2Torrent(specs));
  // libtorrent 2.0.8 (torrent_info): n/a 5 @0, pad @5, n/b 0 @16384, n/c 5 @16384, pad @16389.
  assert.deepEqual(layout(t), [
    ['a', 5, 0, false],
    [`.pad/${B - 5}`, B - 5, 5, true],
    ['b-empty', 0, B, false],
    ['c', 5, B, false],
    [`.pad/${B - 5}`, B - 5, B + 5, true],
    ['d-link', 0, 2 * B, false],
    ['e-exec', 0, 2 * B, false],
  ]);
  assert.equal(t.pieceCount, 2);
  assertPiecesVerify(t, payloadOf(t, data));
  // An empty file first: at offset 0 with the next file.
  const first = parseTorrent(v2Torrent([{ path: ['0'] }, { path: ['1'], data: bytesOf(3, 1) }]));
  assert.deepEqual(layout(first), [
    ['0', 0, 0, false],
    ['1', 3, 0, false],
    [`.pad/${B - 3}`, B - 3, 3, true],
  ]);
});

test('a file no longer than a piece needs no piece layers: the key may be absent', () => {
  const t = parseTorrent(
    v2Torrent(
      [
        { path: ['a'], data: bytesOf(B, 1) },
        { path: ['b'], data: bytesOf(3, 2) },
      ],
      { layers: null },
    ),
  );
  assert.equal(t.pieceCount, 2);
});

test('names that differ only in case are renamed as in v1; a name that decodes like another is a duplicate', () => {
  const t = parseTorrent(
    v2Torrent([
      { path: ['README'], data: bytesOf(1, 1) },
      { path: ['readme'], data: bytesOf(2, 2) },
    ]),
  );
  assert.deepEqual(
    t.files.filter((f) => !f.padding).map((f) => [f.path.join('/'), f.renamedFrom?.join('/')]),
    [
      ['README', undefined],
      ['readme.1', 'readme'],
    ],
  );
  // 0xfe and 0xff are both invalid UTF-8: both names become U+FFFD.
  const leaf = `d0:d6:lengthi1e11:pieces root32:${'R'.repeat(32)}ee`;
  const twice = Buffer.from(
    `d4:infod9:file treed1:\xfe${leaf}1:\xff${leaf}e12:meta versioni2e4:name1:n12:piece lengthi16384eee`,
    'latin1',
  );
  rejected(twice, 'duplicate-path', 'info.file tree["\ufffd"]');
});

test('meta version: 2 or unsupported; absent with a file tree and no pieces, missing', () => {
  const file = [{ path: ['f'], data: bytesOf(5, 1) }];
  rejected(v2Torrent(file, { info: { 'meta version': 3 } }), 'unsupported', 'info.meta version', /3, not 2/);
  rejected(v2Torrent(file, { info: { 'meta version': 1 } }), 'unsupported', 'info.meta version');
  rejected(v2Torrent(file, { info: { 'meta version': '2' } }), 'wrong-type', 'info.meta version');
  rejected(v2Torrent(file, { info: { 'meta version': undefined } }), 'missing-field', 'info.meta version');
  rejected(v2Torrent(file, { info: { 'file tree': undefined } }), 'missing-field', 'info.file tree');
});

test('piece length: a power of two of at least 16 KiB (BEP 52)', () => {
  const file = [{ path: ['f'], data: bytesOf(5, 1) }];
  for (const pieceLength of [0, 1, B / 2, B - 1, B + 1, 3 * B, 2 ** 29])
    rejected(
      v2Torrent(file, { info: { 'piece length': pieceLength } }),
      'invalid-value',
      'info.piece length',
    );
  rejected(v2Torrent(file, { info: { 'piece length': 'x' } }), 'wrong-type', 'info.piece length');
  assert.equal(parseTorrent(v2Torrent(file, { pieceLength: 4 * B })).pieceLength, 4 * B);
});

test('a malformed file tree is refused where it is malformed', () => {
  const ok = { length: 5, 'pieces root': fileHashes(bytesOf(5, 1), B).root };
  const info = (tree: BencodeInput) =>
    withLayers({ 'file tree': tree, 'meta version': 2, name: 'n', 'piece length': B }, undefined);
  rejected(info([]), 'wrong-type', 'info.file tree');
  rejected(info({}), 'invalid-value', 'info.file tree', /no files/);
  rejected(info({ d: {} }), 'invalid-value', 'info.file tree', /no files/);
  rejected(info({ f: 5 }), 'wrong-type', 'info.file tree', /"f" is not a dictionary/);
  rejected(info({ f: { '': 5 } }), 'wrong-type', 'info.file tree["f"]');
  rejected(info({ '': ok }), 'invalid-value', 'info.file tree', /at the top/);
  rejected(
    info({ d: { '': ok, x: { '': ok } } }),
    'invalid-value',
    'info.file tree',
    /"d" is a file \(""\) and a folder/,
  );
  rejected(info({ f: { '': { length: 0 } } }), 'invalid-value', 'info.file tree', /empty \(total length 0\)/);
  rejected(
    info({ f: { '': { 'pieces root': ok['pieces root'] } } }),
    'missing-field',
    'info.file tree["f"].length',
  );
  rejected(info({ f: { '': { ...ok, length: -1 } } }), 'invalid-value', 'info.file tree["f"].length');
  rejected(info({ f: { '': { ...ok, length: '5' } } }), 'wrong-type', 'info.file tree["f"].length');
  rejected(
    info({ f: { '': { ...ok, length: MAX_V2_FILE_LENGTH + 1 } } }),
    'limit-exceeded',
    'info.file tree["f"].length',
  );
  rejected(info({ f: { '': { length: 5 } } }), 'missing-field', 'info.file tree["f"].pieces root');
  rejected(
    info({ f: { '': { length: 5, 'pieces root': 7 } } }),
    'wrong-type',
    'info.file tree["f"].pieces root',
  );
  rejected(
    info({ f: { '': { length: 5, 'pieces root': new Uint8Array(31).fill(1) } } }),
    'invalid-value',
    'info.file tree["f"].pieces root',
  );
  rejected(
    info({ f: { '': { length: 5, 'pieces root': new Uint8Array(32) } } }),
    'invalid-value',
    'info.file tree["f"].pieces root',
    /all zeros/,
  );
  rejected(info({ f: { '': { ...ok, attr: 'p' } } }), 'invalid-value', 'info.file tree["f"].attr');
  rejected(info({ d: { '..': { '': ok } } }), 'unsafe-path', 'info.file tree["d/.."][1]');
  rejected(info({ 'a\\b': { '': ok } }), 'unsafe-path', 'info.file tree["a\\\\b"][0]');
  let deep: BencodeInput = { '': ok };
  for (let i = 0; i <= MAX_PATH_DEPTH; i++) deep = { d: deep };
  rejected(
    info(deep),
    'limit-exceeded',
    `info.file tree[${JSON.stringify(
      Array(MAX_PATH_DEPTH + 1)
        .fill('d')
        .join('/'),
    )}]`,
  );
  rejected(info({ name: '..' }), 'wrong-type', 'info.file tree', /"name" is not a dictionary/);
});

test('more than MAX_FILES files, padding included, or more than MAX_PIECES pieces: limit-exceeded', () => {
  // MAX_FILES / 2 + 1 one-byte files: each has its padding.
  const count = MAX_FILES / 2 + 1;
  const leaf = `d0:d6:lengthi1e11:pieces root32:${'R'.repeat(32)}ee`;
  const names = Array.from({ length: count }, (_, i) => i.toString(36).padStart(4, '0'));
  const many = Buffer.from(
    `d4:infod9:file treed${names.map((n) => `4:${n}${leaf}`).join('')}e12:meta versioni2e4:name1:n12:piece lengthi16384eee`,
    'latin1',
  );
  rejected(many, 'limit-exceeded', 'info.file tree', new RegExp(`more than ${MAX_FILES} files`));
  const huge = withLayers(
    {
      'file tree': { f: { '': { length: MAX_PIECES * B + 1, 'pieces root': new Uint8Array(32).fill(1) } } },
      'meta version': 2,
      name: 'n',
      'piece length': B,
    },
    undefined,
  );
  rejected(huge, 'limit-exceeded', 'info.file tree', /pieces \(limit/);
});

test('paths spelled out past MAX_V2_PATHS_BYTES: limit-exceeded, however few bytes the file tree is', () => {
  // A folder 15 deep of 255-byte names holds the files: the tree names it once, each file's path
  // spells it again (3,845 bytes a file). A v1 or hybrid torrent spells every path in its `files`.
  const chain = Array.from({ length: 15 }, (_, i) => String(i).padStart(255, 'x'));
  const perFile = Buffer.byteLength([...chain, 'xxxxx'].join('/'));
  const torrent = (count: number) => {
    let folder: Map<string, BencodeInput> = new Map();
    for (let i = 0; i < count; i++)
      folder.set(i.toString(36).padStart(5, '0'), new Map([['', { length: 0 }]]));
    for (const c of [...chain].reverse()) folder = new Map([[c, folder]]);
    // One non-empty file, at the top: its path is one byte.
    folder.set('!', new Map([['', { length: 1, 'pieces root': new Uint8Array(32).fill(1) }]]));
    return bencode({ info: { 'file tree': folder, 'meta version': 2, name: 'n', 'piece length': B } });
  };
  const fits = Math.floor((MAX_V2_PATHS_BYTES - 1) / perFile);
  const within = torrent(fits);
  assert.ok(within.length < MAX_V2_PATHS_BYTES / 100, 'the file tree is small');
  assert.equal(parseTorrent(within).files.length, fits + 2); // and the one file's padding
  rejected(torrent(fits + 1), 'limit-exceeded', 'info.file tree', /paths of more than \d+ bytes/);
});

test('piece layers missing from a .torrent for a file longer than a piece: unsupported (only a v2 magnet fetches them)', () => {
  const long = [{ path: ['big'], data: bytesOf(3 * B, 1) }];
  const message = /^piece layers missing: "big" is longer than a piece and has no layer/;
  rejected(v2Torrent(long, { layers: null }), 'unsupported', 'piece layers', message);
  rejected(v2Torrent(long, { layers: [] }), 'unsupported', 'piece layers', message);
  // A layer for another root does not count.
  const other = fileHashes(bytesOf(3 * B, 2), B);
  rejected(v2Torrent(long, { layers: [[other.root, other.layer!]] }), 'unsupported', 'piece layers', message);
});

test('a wrong piece layer is refused, naming its file', () => {
  const data = bytesOf(3 * B + 5, 1);
  const { root, layer } = fileHashes(data, B);
  const long = [{ path: ['d', 'big'], data }];
  rejected(
    v2Torrent(long, { layers: [[root, layer!.subarray(32)]] }),
    'invalid-value',
    'piece layers',
    /the layer of "d\/big" is 96 bytes, not 128 \(4 pieces/,
  );
  const flipped = Buffer.from(layer!);
  flipped[40]! ^= 1;
  rejected(
    v2Torrent(long, { layers: [[root, flipped]] }),
    'invalid-value',
    'piece layers',
    /"d\/big" does not hash to its pieces root/,
  );
  rejected(
    v2Torrent(long, {
      layers: [
        [root, layer!],
        [new Uint8Array(31).fill(9), layer!],
      ],
    }),
    'invalid-value',
    'piece layers',
    /key of 31 bytes/,
  );
  rejected(
    v2Torrent(long, { layers: [[root, layer!.subarray(1)]] }),
    'invalid-value',
    'piece layers',
    /not whole 32-byte hashes/,
  );
  const notDict = Buffer.concat([
    Buffer.from(
      bencode({
        info: {
          'file tree': { big: { '': { length: data.length, 'pieces root': root } } },
          'meta version': 2,
          name: 'n',
          'piece length': B,
        },
      }),
    ).subarray(0, -1),
    Buffer.from('12:piece layersli1eee'),
  ]);
  rejected(notDict, 'wrong-type', 'piece layers');
  // Two identical files share a root and a layer.
  const twins = parseTorrent(
    v2Torrent([
      { path: ['x'], data },
      { path: ['y'], data },
    ]),
  );
  assert.equal(twins.pieceCount, 8);
  assertPiecesVerify(
    twins,
    payloadOf(
      twins,
      new Map([
        ['x', data],
        ['y', data],
      ]),
    ),
  );
});

test("a magnet's v2-only metadata: loads when no file needs a layer or with the fetched layers, else unsupported", () => {
  const short = parseTorrent(v2Torrent([{ path: ['s'], data: bytesOf(9, 1) }]));
  const fromMagnet = torrentFromMetadata(short.infoBytes, { trackers: [], infoHashHex: short.infoHashHex });
  assert.equal(fromMagnet.version, 'v2');
  assert.equal(hex(fromMagnet.pieces), hex(short.pieces));
  const long = parseTorrent(v2Torrent([{ path: ['l'], data: bytesOf(2 * B + 1, 1) }]));
  assert.throws(
    () => torrentFromMetadata(long.infoBytes, { trackers: [], infoHashHex: long.infoHashHex }),
    (err: unknown) =>
      err instanceof MetainfoError &&
      err.code === 'unsupported' &&
      /^piece layers missing: "l" is longer than a piece and has no layer/.test(err.message),
  );
  // With the layers fetched from peers beside the info dictionary: the torrent the .torrent makes.
  const { root: piecesRoot, layer } = fileHashes(bytesOf(2 * B + 1, 1), long.pieceLength);
  const fromPeers = torrentFromMetadata(
    long.infoBytes,
    { trackers: [], infoHashHex: long.infoHashHex, infoHashV2: long.infoHashV2! },
    new Map([[piecesRoot, layer!]]),
  );
  assert.equal(hex(fromPeers.pieces), hex(long.pieces));
  // A btmh that is not this info dictionary's SHA-256: not the magnet's torrent.
  assert.throws(
    () =>
      torrentFromMetadata(
        long.infoBytes,
        { trackers: [], infoHashHex: long.infoHashHex, infoHashV2: new Uint8Array(32).fill(1) },
        new Map([[piecesRoot, layer!]]),
      ),
    (err: unknown) => err instanceof MetainfoError && err.code === 'invalid-value',
  );
});

test("a v2 magnet's plan: each file longer than a piece once per pieces root, none for v1; bounded like parseTorrent", () => {
  const data = bytesOf(3 * B + 7, 1);
  const t = parseTorrent(
    v2Torrent([
      { path: ['a'], data },
      { path: ['b'], data: bytesOf(100, 2) },
      { path: ['c'], data: new Uint8Array(0) },
      { path: ['d'], data }, // the same bytes as a: one root, one layer
      { path: ['e'], data: bytesOf(2 * B, 3) },
    ]),
  );
  const plan = pieceLayerPlan(t.infoBytes)!;
  assert.equal(plan.pieceLength, t.pieceLength);
  assert.deepEqual(
    plan.files.map((f) => [hex(f.piecesRoot), f.pieces]),
    [
      [hex(fileHashes(data, t.pieceLength).root), Math.ceil(data.length / t.pieceLength)],
      [hex(fileHashes(bytesOf(2 * B, 3), t.pieceLength).root), Math.ceil((2 * B) / t.pieceLength)],
    ],
  );
  const v1 = Buffer.from(
    `d6:lengthi5e4:name1:a12:piece lengthi16384e6:pieces20:${'x'.repeat(20)}e`,
    'latin1',
  );
  assert.equal(pieceLayerPlan(v1), undefined);
  const huge = bencode({
    'file tree': { f: { '': { length: MAX_PIECES * B + 1, 'pieces root': new Uint8Array(32).fill(1) } } },
    'meta version': 2,
    name: 'n',
    'piece length': B,
  });
  assert.throws(
    () => pieceLayerPlan(huge),
    (err: unknown) => err instanceof MetainfoError && err.code === 'limit-exceeded',
  );
});
