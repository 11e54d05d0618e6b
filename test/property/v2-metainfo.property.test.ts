/**
 * v2-only torrents (BEP 52), generated: whatever the files — shorter than, equal to, longer than a
 * piece, empty, in folders, given in any order — parseTorrent lays them out as libtorrent 2.0.8
 * does (the file tree's key order, each data file at a piece boundary, an implicit padding file
 * after each that ends inside a piece) with the piece hashes of the slow merkle tree
 * (test/helpers/v2-torrent.ts), and every piece of the payload verifies through createPieceHash.
 * Mutated ones (byte flips — most bytes are piece-layer hashes —, truncations, insertions of bencode
 * pieces, deletions), and of the libtorrent-made seed, are accepted consistently, every invariant
 * holding, or refused with a MetainfoError only.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MetainfoError } from '../../src/metainfo/metainfo-error.js';
import { parseTorrent } from '../../src/metainfo/parse-torrent.js';
import { createPieceHash } from '../../src/metainfo/piece-hash.js';
import { pieceHash } from '../../src/metainfo/torrent.js';
import { filePathsArbitrary } from '../helpers/file-paths-arbitrary.js';
import { acceptOrTyped, assertInvariants } from '../helpers/torrent-invariants.js';
import { BLOCK, fileHashes, v2Torrent } from '../helpers/v2-torrent.js';

const SEED = new Uint8Array(
  readFileSync(new URL('../fixtures/torrents/ok--libtorrent-v2-only.torrent', import.meta.url)),
);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Lower case only: no two names equal but for case (renamed, as v2-payload.test.ts shows). */
const component = fc
  .string({ unit: fc.constantFrom('a', 'b', 'z', '0', '.', '-', 'é', '日'), minLength: 1, maxLength: 4 })
  .filter((c) => c !== '.' && c !== '..');

/** Paths where none is another's folder. */
const filePaths = filePathsArbitrary(component, 6);

const generated = fc
  .record({
    pieceLength: fc.constantFrom(BLOCK, 2 * BLOCK, 4 * BLOCK),
    paths: filePaths,
    // Per file: empty, inside a piece, a whole piece, two, or past a piece.
    sizes: fc.array(
      fc.oneof(
        fc.constant(0),
        fc.integer({ min: 1, max: 1000 }),
        fc.constant(-1),
        fc.constant(-2),
        fc.integer({ min: 1001, max: 9 * BLOCK }),
      ),
      { minLength: 6, maxLength: 6 },
    ),
    seed: fc.integer({ min: 0, max: 255 }),
  })
  .map((g) => {
    const files = g.paths.map((path, i) => {
      const s = g.sizes[i]!;
      const length = s === -1 ? g.pieceLength : s === -2 ? 2 * g.pieceLength : s;
      return { path, data: Uint8Array.from({ length }, (_, k) => (k * 13 + i * 7 + g.seed) & 0xff) };
    });
    if (files.every((f) => f.data.length === 0)) files[0]!.data = Uint8Array.of(g.seed);
    return { pieceLength: g.pieceLength, files };
  });

/** Path components compared as the file tree's keys are sorted: by their UTF-8 bytes. */
function byKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = Buffer.compare(Buffer.from(a[i]!), Buffer.from(b[i]!));
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

describe('v2-only torrents', () => {
  it('generated ones parse to the files, offsets and piece hashes generated, and every piece verifies', () => {
    fc.assert(
      fc.property(generated, ({ pieceLength, files }) => {
        const bytes = v2Torrent(files, { pieceLength, name: 'gen' });
        const t = parseTorrent(bytes);
        assertInvariants(t, bytes);
        const P = pieceLength;
        const sorted = [...files].sort((a, b) => byKeys(a.path, b.path));
        const expected: [string, number, number, boolean][] = [];
        const pieces: Uint8Array[] = [];
        let offset = 0;
        for (const f of sorted) {
          expected.push([f.path.join('/'), f.data.length, offset, false]);
          offset += f.data.length;
          if (f.data.length > 0) {
            const h = fileHashes(f.data, P);
            pieces.push(h.layer ?? h.root);
          }
          const tail = f.data.length % P;
          if (tail !== 0) {
            expected.push([`.pad/${P - tail}`, P - tail, offset, true]);
            offset += P - tail;
          }
        }
        assert.deepEqual(
          t.files.map((f) => [f.path.join('/'), f.length, f.offset, f.padding]),
          expected,
        );
        const single = files.length === 1 && files[0]!.path.length === 1;
        assert.equal(t.multiFile, !single);
        assert.equal(t.name, single ? files[0]!.path[0] : 'gen');
        assert.equal(t.totalLength, offset);
        assert.equal(hex(t.pieces), hex(Buffer.concat(pieces)));
        // The payload, padding as zeros: each piece hashes to its pieceHash.
        const data = new Map(files.map((f) => [f.path.join('/'), f.data]));
        const payload = Buffer.concat(
          t.files.map((f) => (f.padding ? new Uint8Array(f.length) : data.get(f.path.join('/'))!)),
        );
        for (let i = 0; i < t.pieceCount; i++) {
          const h = createPieceHash(t, i);
          h.update(payload.subarray(i * P, (i + 1) * P));
          assert.equal(hex(h.digest()), hex(pieceHash(t, i)), `piece ${i}`);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('mutated ones are accepted consistently or refused with a MetainfoError only', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        bytes: fc.constantFrom(
          'de',
          'le',
          'i0e',
          '0:',
          '1:l',
          '4:attr',
          'd0:d',
          '6:length',
          'i-1e',
          'i99999999999e',
        ),
      }),
      fc.record({
        kind: fc.constant('delete' as const),
        at: fc.nat(),
        count: fc.integer({ min: 1, max: 8 }),
      }),
    );
    type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;
    const mutate = (input: Uint8Array, m: Mutation): Uint8Array => {
      const at = input.length === 0 ? 0 : m.at % input.length;
      const out = Buffer.from(input);
      switch (m.kind) {
        case 'flip':
          out[at] = out[at]! ^ m.xor;
          return out;
        case 'truncate':
          return out.subarray(0, at);
        case 'insert':
          return Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes, 'latin1'), out.subarray(at)]);
        case 'delete':
          return Buffer.concat([out.subarray(0, at), out.subarray(at + m.count)]);
      }
    };
    const base = fc.oneof(
      generated.map(({ pieceLength, files }) => v2Torrent(files, { pieceLength }) as Uint8Array),
      fc.constant(SEED),
    );
    fc.assert(
      fc.property(base, fc.array(mutation, { minLength: 1, maxLength: 4 }), (bytes, mutations) => {
        const input = mutations.reduce(mutate, bytes);
        const first = acceptOrTyped(input);
        assert.deepEqual(acceptOrTyped(input), first, 'the same bytes give the same answer');
        if (first instanceof MetainfoError) assert.equal(first.badInput, true);
        else assertInvariants(first, input);
      }),
      { numRuns: 800 },
    );
  });
});
