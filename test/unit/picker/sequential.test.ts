/**
 * The picker's sequential mode (streaming): new pieces lowest index first, partial pieces still
 * first, a failed piece picked again before higher ones, unwanted pieces skipped; and the parts
 * layout of a selective download (which pieces are wanted and shared).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PiecePicker } from '../../../src/picker/piece-picker.js';
import { partsLayout, slotOf, wantedPieces } from '../../../src/storage/parts-layout.js';
import { bits } from './helpers.js';

const make = (n: number) =>
  new PiecePicker({ pieceCount: n, pieceLength: 32, totalLength: n * 32, blockLength: 16, sequential: true });

test('sequential: lowest missing pieces first, whatever their availability', () => {
  const p = make(8);
  p.addAvailability(bits('11111111'));
  p.addAvailability(bits('00001111')); // rarest-first would start at 0..3 too: make 4..7 rarer
  p.addAvailability(bits('11110000'));
  const first = p.pick(bits('11111111'), 4, 'a');
  assert.deepEqual(
    first.map((r) => r.index),
    [0, 0, 1, 1],
  );
  const next = p.pick(bits('11111111'), 2, 'b');
  assert.deepEqual(
    next.map((r) => r.index),
    [2, 2],
  );
});

test('sequential: a failed piece comes back before higher pieces; unwanted pieces are skipped', () => {
  const p = make(6);
  p.setWanted(1, false);
  p.addAvailability(bits('111111'));
  const a = p.pick(bits('111111'), 2, 'a');
  assert.deepEqual(
    a.map((r) => r.index),
    [0, 0],
  );
  for (const r of a) p.blockReceived(r, 'a');
  p.pieceFailed(0);
  assert.deepEqual(
    p.pick(bits('111111'), 4, 'b').map((r) => r.index),
    [0, 0, 2, 2],
  );
});

test('sequential: a peer without the low pieces gets the lowest it has', () => {
  const p = make(6);
  p.addAvailability(bits('000011'));
  assert.deepEqual(
    p.pick(bits('000011'), 2, 'a').map((r) => r.index),
    [4, 4],
  );
});

test('parts layout: wanted pieces of the selected files, shared pieces at the boundaries', () => {
  // files: 0 [0,50) 1 [50,100) 2 [100,150); pieces of 32: 0..4
  const t = {
    pieceLength: 32,
    pieceCount: 5,
    files: [
      { offset: 0, length: 50, padding: false },
      { offset: 50, length: 50, padding: false },
      { offset: 100, length: 50, padding: false },
    ],
  };
  const sel = [false, true, false];
  assert.deepEqual([...wantedPieces(t, sel).indexes()], [1, 2, 3]);
  const layout = partsLayout(t, sel);
  assert.deepEqual(layout.sharedPieces, [1, 3]);
  assert.equal(slotOf(layout, 3), 1);
  assert.equal(slotOf(layout, 2), -1);
});
