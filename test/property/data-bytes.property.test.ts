/**
 * DataBytes (src/metainfo/piece-data-length.ts), the one place that says how many bytes of data —
 * padding left out — a set of pieces holds, against a byte-by-byte model: any file list, padding
 * files anywhere (a piece's end, its middle, across pieces, a whole piece of it), any set of pieces,
 * and a selective download's wanted pieces, where selecting a padding file changes nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DataBytes, dataLength, pieceDataLengths } from '../../src/metainfo/piece-data-length.js';
import type { TorrentFile } from '../../src/metainfo/torrent.js';
import { Bitfield } from '../../src/picker/bitfield.js';
import { wantedPieces } from '../../src/storage/parts-layout.js';

interface Layout {
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly totalLength: number;
  readonly files: readonly TorrentFile[];
}

/** Files of 0–300 bytes, some padding, laid end to end in pieces of 1–64 bytes; never empty. */
const layoutArb: fc.Arbitrary<Layout> = fc
  .record({
    pieceLength: fc.integer({ min: 1, max: 64 }),
    files: fc.array(fc.record({ length: fc.nat(300), padding: fc.boolean() }), {
      minLength: 1,
      maxLength: 12,
    }),
  })
  .filter(({ files }) => files.some((f) => f.length > 0))
  .map(({ pieceLength, files }) => {
    let offset = 0;
    const laid = files.map((f, i) => {
      const file = {
        path: [f.padding ? `.pad/${i}` : `f${i}`],
        length: f.length,
        offset,
        padding: f.padding,
      };
      offset += f.length;
      return file;
    });
    return { pieceLength, pieceCount: Math.ceil(offset / pieceLength), totalLength: offset, files: laid };
  });

/** The model: per piece, its bytes that belong to a file that is not padding, counted one by one. */
function dataPerPiece(t: Layout): number[] {
  const perPiece = new Array<number>(t.pieceCount).fill(0);
  for (const f of t.files)
    if (!f.padding)
      for (let b = f.offset; b < f.offset + f.length; b++) perPiece[Math.floor(b / t.pieceLength)]!++;
  return perPiece;
}

function bitfieldOf(size: number, bits: readonly boolean[]): Bitfield {
  const b = new Bitfield(size);
  bits.forEach((on, i) => {
    if (on && i < size) b.set(i);
  });
  return b;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

test('DataBytes: the data of any set of pieces is its bytes that are not padding, wherever the padding is', () => {
  fc.assert(
    fc.property(layoutArb, fc.array(fc.boolean(), { maxLength: 400 }), (t, bits) => {
      const data = new DataBytes(t);
      const model = dataPerPiece(t);
      const pieces = bitfieldOf(t.pieceCount, bits);
      const expected = sum(model.filter((_, p) => pieces.has(p)));
      assert.equal(data.of(pieces), expected);
      assert.equal(data.all, sum(t.files.filter((f) => !f.padding).map((f) => f.length)));
      assert.equal(dataLength(t), data.all, 'the size `bitstate info` says');
      assert.equal(data.of(Bitfield.full(t.pieceCount)), data.all, 'every piece: the files');
      assert.equal(data.of(new Bitfield(t.pieceCount)), 0);
      assert.equal(data.wanted(undefined), data.all);
      // A piece that ends in padding is requested up to its data's end: never less than its data.
      for (const [p, length] of pieceDataLengths(t)) assert.ok(model[p]! <= length, `piece ${p}`);
    }),
  );
});

test('DataBytes: a selective download wants the data of the pieces of its files; a padding file selected adds nothing', () => {
  fc.assert(
    fc.property(layoutArb, fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), (t, picks) => {
      const selected = t.files.map((_, i) => picks[i]!);
      const wanted = wantedPieces(t, selected);
      const data = new DataBytes(t);
      const model = dataPerPiece(t);
      assert.equal(data.wanted(wanted), sum(model.filter((_, p) => wanted.has(p))));
      // At least the selected files' bytes (a wanted piece may hold a neighbour's too), no padding.
      const selectedData = sum(t.files.filter((f, i) => selected[i] && !f.padding).map((f) => f.length));
      assert.ok(data.wanted(wanted) >= selectedData);
      // Selecting or not selecting the padding files wants the same pieces, so the same bytes.
      const withoutPadding = selected.map((s, i) => s && !t.files[i]!.padding);
      const withAllPadding = selected.map((s, i) => s || t.files[i]!.padding);
      assert.deepEqual(wantedPieces(t, withoutPadding).bytes, wanted.bytes);
      assert.deepEqual(wantedPieces(t, withAllPadding).bytes, wanted.bytes);
      // Verifying every wanted piece leaves nothing: the tracker's `left` reaches 0.
      assert.equal(data.wanted(wanted) - data.of(wanted), 0);
    }),
  );
});
