/**
 * The picker's contiguous picks for a web seed (BEP 19): runs of adjacent fresh pieces, so one
 * HTTP GET covers several pieces; its own partial pieces still first; a run stops at a piece that
 * is not fresh (started by another peer, verified, unwanted) and goes on from a new piece.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PiecePicker } from '../../../src/picker/piece-picker.js';
import { bits } from './helpers.js';

const make = (n: number) =>
  new PiecePicker({
    pieceCount: n,
    pieceLength: 32,
    totalLength: n * 32,
    blockLength: 16,
    randomFirstPieces: 0,
    random: () => 0.5,
  });

/** The pieces of `refs`, in order, each once. */
const runOf = (refs: readonly { index: number }[]) => [...new Set(refs.map((r) => r.index))];

test('contiguous: a run of adjacent fresh pieces from the first one picked', () => {
  const p = make(16);
  p.addAvailability(bits('1111111111111111'));
  const picked = p.pick(bits('1111111111111111'), 8, 'web', true);
  assert.equal(picked.length, 8);
  const run = runOf(picked);
  assert.equal(run.length, 4);
  for (let k = 1; k < run.length; k++) assert.equal(run[k], run[0]! + k, `adjacent: ${run}`);
  // Blocks in payload order: one GET.
  for (let k = 1; k < picked.length; k++)
    assert.equal(
      picked[k]!.index * 32 + picked[k]!.begin,
      picked[k - 1]!.index * 32 + picked[k - 1]!.begin + 16,
    );
});

test('contiguous: without it, pieces come in rarest-first order, not adjacent', () => {
  const p = make(16);
  p.addAvailability(bits('1111111111111111'));
  p.addAvailability(bits('1010101010101010')); // the odd pieces are rarer
  const run = runOf(p.pick(bits('1111111111111111'), 8, 'peer'));
  assert.ok(
    run.every((i) => i % 2 === 1),
    `rarest: ${run}`,
  );
  const q = make(16);
  q.addAvailability(bits('1111111111111111'));
  q.addAvailability(bits('1010101010101010'));
  const web = runOf(q.pick(bits('1111111111111111'), 8, 'web', true));
  assert.equal(web[0]! % 2, 1, 'the run starts at a rarest piece');
  // Then adjacent up to the torrent's end (13, 14, 15), where a new run starts at a rarest piece.
  const end = Math.min(web.length, 16 - web[0]!);
  for (let k = 1; k < end; k++) assert.equal(web[k], web[0]! + k, `then adjacent: ${web}`);
  if (end < web.length) assert.equal(web[end]! % 2, 1, `a new run at a rarest piece: ${web}`);
});

test('contiguous: a run stops at a piece another peer started, and goes on from a new one', () => {
  const p = make(8);
  p.addAvailability(bits('11111111'));
  const other = runOf(p.pick(bits('00100000'), 1, 'peer')); // piece 2, one of its two blocks
  assert.deepEqual(other, [2]);
  const web = p.pick(bits('11111111'), 16, 'web', true);
  const pieces = runOf(web);
  // The run from the first new piece (3: rarest-first's tie broken by random 0.5) stops at the end;
  // the next starts at a new piece; piece 2, another peer's, comes last (endgame).
  assert.deepEqual(pieces.slice(0, 5), [3, 4, 5, 6, 7]);
  assert.equal(pieces[pieces.length - 1], 2);
  assert.equal(web.filter((r) => r.index !== 2).length, 14, 'every fresh piece');
});
