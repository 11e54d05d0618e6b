import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Bitfield } from '../../../src/picker/bitfield.js';
import { PickerError } from '../../../src/picker/picker-error.js';
import { BLOCK_LENGTH, PiecePicker } from '../../../src/picker/piece-picker.js';
import { mulberry32 } from '../../../src/picker/prng.js';
import { bits, blocksOf, labels } from './helpers.js';

const B = BLOCK_LENGTH;

/** `pieces` pieces of `blocks` blocks each; rarest-first from the start unless told otherwise. */
function picker(
  pieces: number,
  blocks: number,
  extra: { seed?: number; randomFirstPieces?: number; lastBlocks?: number } = {},
) {
  const last = extra.lastBlocks ?? blocks;
  return new PiecePicker({
    pieceCount: pieces,
    pieceLength: blocks * B,
    totalLength: (pieces - 1) * blocks * B + last * B,
    random: mulberry32(extra.seed ?? 7),
    randomFirstPieces: extra.randomFirstPieces ?? 0,
  });
}

describe('geometry', () => {
  test('a piece that ends in padding has blocks only up to its data: the padding is never asked for', () => {
    // Three pieces of 2 blocks; piece 0 holds 100 bytes then padding, piece 2 one block and 10 bytes.
    const p = new PiecePicker({
      pieceCount: 3,
      pieceLength: 2 * B,
      totalLength: 6 * B,
      randomFirstPieces: 0,
      dataLengths: new Map([
        [0, 100],
        [2, B + 10],
      ]),
    });
    assert.deepEqual(
      [0, 1, 2].map((i) => p.geometry.blockCount(i)),
      [1, 2, 2],
    );
    assert.equal(p.geometry.totalBlocks, 5);
    p.addAvailability(bits('111'));
    const picked = p.pick(bits('111'), 10, 'a');
    assert.deepEqual(
      picked.filter((b) => b.index !== 1).sort((x, y) => x.index - y.index || x.begin - y.begin),
      [
        { index: 0, begin: 0, length: 100 },
        { index: 2, begin: 0, length: B },
        { index: 2, begin: B, length: 10 },
      ],
    );
    // A whole block where the piece's data ends short is not one of ours.
    assert.equal(p.geometry.blockOf({ index: 0, begin: 0, length: B }), -1);
    assert.throws(
      () =>
        new PiecePicker({
          pieceCount: 1,
          pieceLength: B,
          totalLength: B,
          dataLengths: new Map([[0, B + 1]]),
        }),
      PickerError,
    );
  });

  test('the last piece and its last block are short', () => {
    const p = new PiecePicker({
      pieceCount: 3,
      pieceLength: 2 * B,
      totalLength: 4 * B + 100,
      randomFirstPieces: 0,
    });
    assert.equal(p.geometry.blockCount(2), 1);
    assert.equal(p.geometry.totalBlocks, 5);
    p.addAvailability(bits('001'));
    assert.deepEqual(p.pick(bits('001'), 5, 'a'), [{ index: 2, begin: 0, length: 100 }]);
  });

  test('options that do not add up are refused with the numbers', () => {
    assert.throws(
      () => new PiecePicker({ pieceCount: 3, pieceLength: B, totalLength: 2 * B }),
      (e: unknown) => e instanceof PickerError && e.code === 'invalidOptions' && e.numbers.pieceCount === 3,
    );
    assert.throws(
      () => new PiecePicker({ pieceCount: 1, pieceLength: B, totalLength: B, endgameMaxRequesters: 0 }),
    );
  });

  test('a bitfield of the wrong size is a PickerError', () => {
    const p = picker(4, 1);
    assert.throws(
      () => p.addAvailability(bits('111')),
      (e: unknown) => e instanceof PickerError && e.code === 'bitfieldSize',
    );
    assert.throws(
      () => p.addHave(4),
      (e: unknown) => e instanceof PickerError && e.code === 'pieceOutOfRange',
    );
    assert.throws(
      () => p.removeAvailability(bits('1000')),
      (e: unknown) => e instanceof PickerError && e.code === 'availabilityUnderflow',
    );
  });
});

describe('rarest first', () => {
  test('picks the piece fewest peers have, then the next', () => {
    const p = picker(4, 1);
    p.addAvailability(bits('1111'));
    p.addAvailability(bits('0111'));
    p.addAvailability(bits('0011'));
    p.addHave(3); // availability now 1, 2, 3, 4
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => p.availabilityOf(i)),
      [1, 2, 3, 4],
    );
    assert.deepEqual(labels(p, p.pick(bits('1111'), 1, 'a')), ['0:0']);
    assert.deepEqual(labels(p, p.pick(bits('1111'), 1, 'a')), ['1:0']);
    assert.deepEqual(labels(p, p.pick(bits('1111'), 2, 'a')), ['2:0', '3:0']);
  });

  test('only pieces the peer has', () => {
    const p = picker(4, 1);
    p.addAvailability(bits('1100'));
    p.addAvailability(bits('0011'));
    p.addAvailability(bits('0010'));
    assert.deepEqual(labels(p, p.pick(bits('0011'), 1, 'b')), ['3:0']);
    assert.deepEqual(labels(p, p.pick(bits('0011'), 5, 'b')), ['2:0']);
    assert.deepEqual(p.pick(bits('0011'), 5, 'b'), []);
  });

  test('ties are broken at random by the seed, never against rarity', () => {
    const firsts = new Set<number>();
    for (let seed = 0; seed < 20; seed++) {
      const p = picker(8, 1, { seed });
      p.addAvailability(bits('11111111'));
      p.addAvailability(bits('11110000'));
      const [first] = p.pick(bits('11111111'), 1, 'a');
      assert.ok(first !== undefined && first.index >= 4, 'one of the rarer pieces 4..7');
      firsts.add(first.index);
    }
    assert.ok(firsts.size >= 3, `seeds spread the choice: ${[...firsts]}`);
  });

  test('the first pieces are random among available, then rarest', () => {
    const firsts = new Set<number>();
    for (let seed = 0; seed < 20; seed++) {
      const p = picker(16, 1, { seed, randomFirstPieces: 4 });
      p.addAvailability(bits('1111111111111111'));
      p.addAvailability(bits('0111111111111111')); // piece 0 is the rarest
      const [first] = p.pick(bits('1111111111111111'), 1, 'a');
      firsts.add(first!.index);
    }
    assert.ok(firsts.size >= 5, `random start: ${[...firsts]}`);
    const p = picker(16, 1, { randomFirstPieces: 1 });
    p.addAvailability(bits('1111111111111111'));
    p.addAvailability(bits('0111111111111111'));
    p.markHave(5); // one piece verified: the random phase is over
    assert.deepEqual(labels(p, p.pick(bits('1111111111111111'), 1, 'a')), ['0:0']);
  });
});

describe('partial pieces first, each peer its own (piece affinity)', () => {
  test('a second peer starts a piece of its own instead of splitting the one another peer is fetching', () => {
    const p = picker(3, 4);
    p.addAvailability(bits('111'));
    p.addAvailability(bits('110'));
    p.addAvailability(bits('100'));
    assert.deepEqual(labels(p, p.pick(bits('111'), 2, 'a')), ['2:0', '2:1']);
    assert.equal(blocksOf(p, 2), 'rr..');
    assert.deepEqual(labels(p, p.pick(bits('111'), 3, 'b')), ['1:0', '1:1', '1:2']);
    assert.equal(blocksOf(p, 2), 'rr..', "a's piece is left to a");
    // Each finishes its own piece before starting another.
    assert.deepEqual(labels(p, p.pick(bits('111'), 3, 'a')), ['2:2', '2:3', '0:0']);
    assert.deepEqual(labels(p, p.pick(bits('111'), 1, 'b')), ['1:3']);
  });

  test("another peer's partial piece is joined only once no new piece is left", () => {
    const p = picker(2, 4);
    p.addAvailability(bits('11'));
    p.addAvailability(bits('11'));
    const mine = p.pick(bits('11'), 2, 'a')[0]!.index; // a tie: the seed chooses
    const other = 1 - mine;
    assert.deepEqual(labels(p, p.pick(bits('11'), 6, 'b')), [
      ...[0, 1, 2, 3].map((b) => `${other}:${b}`),
      `${mine}:2`,
      `${mine}:3`,
    ]);
  });

  test('a partial piece nobody is fetching (its peer left) is finished before a new one', () => {
    const p = picker(3, 4);
    p.addAvailability(bits('111'));
    p.addAvailability(bits('111'));
    const got = p.pick(bits('111'), 2, 'a');
    p.blockReceived(got[0]!, 'a');
    p.peerGone('a');
    const first = got[0]!.index;
    assert.equal(blocksOf(p, first), 'x...');
    assert.deepEqual(
      labels(p, p.pick(bits('111'), 3, 'b')),
      [1, 2, 3].map((b) => `${first}:${b}`),
    );
  });
});

describe('results', () => {
  test('receiving every block completes the piece; duplicates and strangers are refused', () => {
    const p = picker(2, 2);
    p.addAvailability(bits('11'));
    const refs = p.pick(bits('11'), 2, 'a');
    assert.equal(refs.length, 2);
    assert.equal(p.blockReceived(refs[0]!, 'b').accepted, false, 'not requested from b');
    assert.deepEqual(p.blockReceived(refs[0]!, 'a'), {
      accepted: true,
      pieceComplete: false,
      otherRequesters: [],
    });
    assert.equal(p.blockReceived(refs[0]!, 'a').accepted, false, 'already received');
    assert.equal(p.blockReceived({ ...refs[1]!, length: 5 }, 'a').accepted, false, 'not one of our blocks');
    assert.deepEqual(p.blockReceived(refs[1]!, 'a'), {
      accepted: true,
      pieceComplete: true,
      otherRequesters: [],
    });
    assert.equal(p.outstandingFor('a'), 0);
    p.pieceVerified(refs[0]!.index);
    assert.ok(p.have.has(refs[0]!.index));
    assert.equal(p.toJSON().blocksReceived, 2);
  });

  test('blockReturned makes the block requestable again', () => {
    const p = picker(1, 3);
    p.addAvailability(bits('1'));
    const refs = p.pick(bits('1'), 3, 'a');
    p.blockReturned(refs[1]!, 'b'); // not b's: ignored
    assert.equal(blocksOf(p, 0), 'rrr');
    p.blockReturned(refs[1]!, 'a');
    assert.equal(blocksOf(p, 0), 'r.r');
    assert.equal(p.outstandingFor('a'), 2);
    // The returned block comes first; the rest are endgame copies of a's two blocks.
    assert.deepEqual(labels(p, p.pick(bits('1'), 3, 'b')), ['0:1', '0:0', '0:2']);
    assert.equal(p.inEndgame, true);
  });

  test('peerGone returns every outstanding block, all requestable again', () => {
    const p = picker(2, 2);
    p.addAvailability(bits('11'));
    const refs = p.pick(bits('11'), 3, 'a');
    p.blockReceived(refs[0]!, 'a');
    const gone = p.peerGone('a');
    assert.deepEqual(labels(p, gone).sort(), labels(p, refs.slice(1)).sort());
    assert.equal(p.outstandingFor('a'), 0);
    assert.deepEqual(p.peerGone('a'), []);
    assert.equal(p.toJSON().blocksRequested, 0);
    assert.equal(p.pick(bits('11'), 10, 'b').length, 3);
  });

  test('pieceFailed resets every block and names the contributors', () => {
    const p = picker(1, 2);
    p.addAvailability(bits('1'));
    p.addAvailability(bits('1'));
    const [x] = p.pick(bits('1'), 1, 'a');
    const [y] = p.pick(bits('1'), 1, 'b');
    p.blockReceived(x!, 'a');
    assert.equal(p.blockReceived(y!, 'b').pieceComplete, true);
    assert.equal(p.toJSON().awaitingHash, 1);
    assert.deepEqual(p.pieceFailed(0).sort(), ['a', 'b']);
    assert.equal(blocksOf(p, 0), '..');
    assert.equal(p.toJSON().awaitingHash, 0);
    assert.equal(p.have.has(0), false);
    assert.equal(p.pick(bits('1'), 5, 'c').length, 2);
  });

  test('blockSenders names the peer each block came from, in endgame too; pieceFailed forgets them', () => {
    const p = picker(1, 3);
    p.addAvailability(bits('1'));
    p.addAvailability(bits('1'));
    const [x, y, z] = p.pick(bits('1'), 3, 'a');
    p.blockReceived(x!, 'a');
    // Endgame: b is also asked for the two blocks in flight, and sends the last one first.
    assert.equal(p.pick(bits('1'), 2, 'b').length, 2);
    p.blockReceived(z!, 'b');
    assert.deepEqual(p.blockSenders(0), ['a', undefined, 'b']);
    p.blockReceived(y!, 'a');
    assert.deepEqual(p.blockSenders(0), ['a', 'a', 'b']);
    assert.deepEqual(p.pieceFailed(0).sort(), ['a', 'b']);
    assert.deepEqual(p.blockSenders(0), []);
  });
});

describe('endgame', () => {
  test('once nothing is unrequested, other peers get the in-flight blocks, never twice to one peer', () => {
    const p = new PiecePicker({
      pieceCount: 2,
      pieceLength: B,
      totalLength: 2 * B,
      randomFirstPieces: 0,
      endgameMaxRequesters: 2,
    });
    for (let k = 0; k < 3; k++) p.addAvailability(bits('11'));
    assert.equal(p.pick(bits('11'), 2, 'a').length, 2);
    assert.equal(p.inEndgame, true);
    assert.deepEqual(p.pick(bits('11'), 5, 'a'), [], 'a already has both');
    const dup = p.pick(bits('11'), 5, 'b');
    assert.equal(dup.length, 2);
    assert.deepEqual(p.requestersOf(dup[0]!).sort(), ['a', 'b']);
    assert.deepEqual(p.pick(bits('11'), 5, 'c'), [], 'bounded at two requesters');
    const r = p.blockReceived(dup[0]!, 'b');
    assert.deepEqual(r, { accepted: true, pieceComplete: true, otherRequesters: ['a'] });
    assert.equal(p.outstandingFor('a'), 1, 'the cancelled copy is no longer outstanding to a');
    assert.equal(p.blockReceived(dup[0]!, 'a').accepted, false, 'a late duplicate is dropped');
  });

  test('a peer leaving in endgame leaves the other copy in flight', () => {
    const p = picker(1, 1);
    p.addAvailability(bits('1'));
    p.addAvailability(bits('1'));
    p.pick(bits('1'), 1, 'a');
    p.pick(bits('1'), 1, 'b');
    assert.equal(p.peerGone('a').length, 1);
    assert.equal(blocksOf(p, 0), 'r');
    assert.deepEqual(p.requestersOf({ index: 0, begin: 0, length: B }), ['b']);
  });

  test('no endgame while a piece some peer has is untouched; pieces nobody has do not count', () => {
    const p = picker(3, 1);
    p.addAvailability(bits('110'));
    p.pick(bits('110'), 1, 'a');
    assert.equal(p.inEndgame, false);
    p.pick(bits('110'), 1, 'a');
    assert.equal(p.inEndgame, true, 'piece 2 is available from nobody');
    p.addHave(2);
    assert.equal(p.inEndgame, false);
  });
});

describe('interest, completion, selection', () => {
  test('isInterested and wantsPiece follow what we still need', () => {
    const p = picker(10, 1);
    assert.equal(p.isInterested(bits('0000000000')), false);
    assert.equal(p.isInterested(bits('0000000001')), true);
    p.markHave(9);
    assert.equal(p.isInterested(bits('0000000001')), false);
    assert.equal(p.wantsPiece(9), false);
    assert.equal(p.wantsPiece(8), true);
    p.setWanted(8, false);
    assert.equal(p.isInterested(bits('0000000011')), false);
  });

  test('unwanted pieces are never started; complete means every wanted piece verified', () => {
    const p = picker(3, 1);
    p.addAvailability(bits('111'));
    p.setWanted(1, false);
    const refs = p.pick(bits('111'), 5, 'a');
    assert.deepEqual(labels(p, refs).sort(), ['0:0', '2:0']);
    for (const r of refs) {
      assert.equal(p.blockReceived(r, 'a').pieceComplete, true);
      p.pieceVerified(r.index);
    }
    assert.equal(p.isComplete(), true);
    p.setWanted(1, true);
    assert.equal(p.isComplete(), false);
    assert.deepEqual(labels(p, p.pick(bits('111'), 5, 'a')), ['1:0']);
  });

  test('toJSON is a small summary', () => {
    const p = picker(4, 2);
    p.addAvailability(Bitfield.full(4));
    p.pick(Bitfield.full(4), 3, 'a');
    const j = p.toJSON();
    assert.equal(j.requests, 3);
    assert.equal(j.partial, 2);
    assert.equal(j.totalBlocks, 8);
    assert.ok(JSON.stringify(j).length < 300);
  });
});

test('a leecher with a few pieces among 100,000 crowded ones gets them, rarest first', () => {
  const n = 100_000;
  const p = new PiecePicker({ pieceCount: n, pieceLength: B, totalLength: n * B, randomFirstPieces: 0 });
  p.addAvailability(Bitfield.full(n)); // a seed: bucket 1 holds every piece
  const leecher = new Bitfield(n);
  for (const i of [17, 50_000, 99_999]) leecher.set(i);
  p.addAvailability(leecher);
  p.addHave(50_000); // a third peer: 50,000 is the least rare
  assert.deepEqual(
    p
      .pick(leecher, 3, 'leecher')
      .map((r) => r.index)
      .slice(2),
    [50_000],
  );
  assert.deepEqual(p.pick(leecher, 3, 'leecher'), []);
});

test('a 100,000-piece torrent constructs and picks for 50 peers', () => {
  const n = 100_000;
  const p = new PiecePicker({
    pieceCount: n,
    pieceLength: 16 * B,
    totalLength: n * 16 * B - 1000,
    random: mulberry32(3),
  });
  const rnd = mulberry32(9);
  const peers: Bitfield[] = [];
  for (let k = 0; k < 50; k++) {
    const b = k % 5 === 0 ? Bitfield.full(n) : new Bitfield(n);
    if (k % 5 !== 0) for (let i = 0; i < n; i++) if (rnd() < 0.5) b.set(i);
    peers.push(b);
    p.addAvailability(b);
  }
  let total = 0;
  for (let round = 0; round < 4; round++)
    peers.forEach((b, k) => {
      const refs = p.pick(b, 64, `peer${k}`);
      for (const r of refs) assert.ok(b.has(r.index));
      total += refs.length;
    });
  assert.equal(total, 4 * 50 * 64);
  assert.equal(p.toJSON().requests, total);
  assert.equal(p.inEndgame, false);
});
