/**
 * BEP 47 padding in the torrents we create as v2 or hybrid, placed as libtorrent 2.0 places it
 * (file_storage::canonicalize): after each non-empty file that does not end on a piece boundary,
 * the last one included; never after an empty file, never in a one-file torrent, never in v1.
 * test/interop/create-v2.test.ts checks the same layouts against libtorrent's own torrents.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type LaidOut,
  laidOutLength,
  layOutFiles,
  paddingPath,
} from '../../../src/metainfo/padding-layout.js';

const P = 16384;

/** The layout as `name@offset` and `pad(length)@offset`. */
function show(entries: readonly LaidOut<{ name: string; length: number }>[]): string[] {
  return entries.map((e) =>
    e.kind === 'file' ? `${e.file.name}@${e.offset}` : `pad(${e.length})@${e.offset}`,
  );
}

const f = (name: string, length: number) => ({ name, length });

test('padding after every non-empty file off a piece boundary, the last one included', () => {
  const files = [f('short', 10), f('exact', P), f('long', P + 1), f('last', 5)];
  const layout = layOutFiles(files, P, true);
  assert.deepEqual(show(layout), [
    'short@0',
    `pad(${P - 10})@10`,
    `exact@${P}`,
    `long@${2 * P}`,
    `pad(${P - 1})@${3 * P + 1}`,
    `last@${4 * P}`,
    `pad(${P - 5})@${4 * P + 5}`,
  ]);
  assert.equal(laidOutLength(layout), 5 * P);
  // Every non-empty file starts a piece: v1 piece i is v2 piece i.
  for (const e of layout) if (e.kind === 'file') assert.equal(e.offset % P, 0, e.file.name);
});

test('an empty file: no padding after it, and it sits where the padding before it ends', () => {
  const layout = layOutFiles([f('a', 10), f('empty', 0), f('b', 3), f('zero', 0)], P, true);
  assert.deepEqual(show(layout), [
    'a@0',
    `pad(${P - 10})@10`,
    `empty@${P}`,
    `b@${P}`,
    `pad(${P - 3})@${P + 3}`,
    `zero@${2 * P}`,
  ]);
  assert.equal(laidOutLength(layout), 2 * P);
});

test('one file: never padded (a single-file hybrid has `length`, no `files`); v1: never padded', () => {
  assert.deepEqual(show(layOutFiles([f('only', 10)], P, true)), ['only@0']);
  assert.deepEqual(show(layOutFiles([f('a', 10), f('b', 20)], P, false)), ['a@0', 'b@10']);
  assert.equal(laidOutLength(layOutFiles([f('a', 10), f('b', 20)], P, false)), 30);
  assert.equal(laidOutLength([]), 0);
});

test("a padding file's path is .pad/<length>, as libtorrent names it", () => {
  assert.deepEqual(paddingPath(16374), ['.pad', '16374']);
});
