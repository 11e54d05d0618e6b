/**
 * Properties of the metadata fetch's bookkeeping (machines/metadata-fetch.ts) under any sequence
 * of peers arriving (with any metadata_size), answering (right, forged, unasked, wrong size),
 * rejecting, answering after their request timed out (or after another peer's answer), leaving
 * and ticks: a piece is never asked twice of one peer at once, a peer never has more than
 * maxPerPeer requests out, a dropped peer is never asked again, a late answer never gets its peer
 * dropped, nothing larger than MAX_METADATA_SIZE is ever taken as the size; and once an honest
 * peer stays and answers everything it is asked, the metadata completes with exactly the honest
 * bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type MetadataCommand, MetadataFetch } from '../../machines/metadata-fetch.js';
import { MAX_METADATA_SIZE, METADATA_PIECE_LENGTH, metadataPieceLength } from '../../src/wire/ut-metadata.js';

const SIZE = 3 * METADATA_PIECE_LENGTH + 77;
const REAL = Uint8Array.from({ length: SIZE }, (_, i) => (i * 31) & 0xff);
const PEERS = ['a', 'b', 'c', 'd'];
const LIMITS = { maxPerPeer: 2, requestTimeoutTicks: 3, backoffTicks: 5 };

type Step =
  | { kind: 'ready'; peer: string; size: number | undefined }
  | { kind: 'answer'; peer: string; forged: boolean }
  | { kind: 'late'; peer: string; forged: boolean }
  | { kind: 'unasked'; peer: string; piece: number }
  | { kind: 'wrongSize'; peer: string }
  | { kind: 'reject'; peer: string }
  | { kind: 'gone'; peer: string }
  | { kind: 'tick' };

const peer = fc.constantFrom(...PEERS);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('ready' as const),
    peer,
    size: fc.constantFrom(SIZE, SIZE, 100, 0, MAX_METADATA_SIZE + 1, 2 ** 40, undefined),
  }),
  fc.record({ kind: fc.constant('answer' as const), peer, forged: fc.boolean() }),
  // Weighted: late answers need requests that timed out (several ticks) at a peer still there.
  { arbitrary: fc.record({ kind: fc.constant('late' as const), peer, forged: fc.boolean() }), weight: 3 },
  fc.record({ kind: fc.constant('unasked' as const), peer, piece: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('wrongSize' as const), peer }),
  fc.record({ kind: fc.constant('reject' as const), peer }),
  fc.record({ kind: fc.constant('gone' as const), peer }),
  { arbitrary: fc.constant({ kind: 'tick' as const }), weight: 4 },
);

/** A model of what is out: peer → pieces asked and not answered, and who was dropped. */
function run(steps: readonly Step[]) {
  const f = new MetadataFetch(LIMITS);
  const out = new Map<string, Set<number>>();
  /** Requests the fetch no longer counts as out (timed out, answered by another, discarded copy). */
  const late = new Map<string, Map<number, number>>();
  /** peer:piece → the size it was asked under. */
  const askedSize = new Map<string, number>();
  const dropped = new Set<string>();
  const apply = (commands: MetadataCommand[]) => {
    for (const c of commands) {
      if (c.type === 'snubbed') continue;
      if (c.type === 'drop') {
        dropped.add(c.peer);
        out.delete(c.peer);
        late.delete(c.peer);
        continue;
      }
      askedSize.set(`${c.peer}:${c.piece}`, f.size!);
      late.get(c.peer)?.delete(c.piece);
      assert.ok(!dropped.has(c.peer), `a dropped peer (${c.peer}) asked again`);
      const mine = out.get(c.peer) ?? new Set<number>();
      assert.ok(!mine.has(c.piece), 'the same piece asked twice of one peer');
      mine.add(c.piece);
      out.set(c.peer, mine);
    }
    // at most maxPerPeer per peer; what the fetch stopped counting is late, answerable
    for (const [p, pieces] of out) {
      for (const piece of pieces)
        if (!isOutstanding(f, p, piece)) {
          pieces.delete(piece);
          const mine = late.get(p) ?? new Map<number, number>();
          mine.set(piece, askedSize.get(`${p}:${piece}`)!);
          late.set(p, mine);
        }
      assert.ok(pieces.size <= LIMITS.maxPerPeer, `${pieces.size} requests out to one peer`);
    }
    assert.ok(f.size === undefined || (f.size >= 1 && f.size <= MAX_METADATA_SIZE), `size ${f.size}`);
  };
  /** Requests past their time are taken back by the fetch; the model moves them to `late`. */
  const tick = () => apply(f.tick());
  const firstOut = (p: string) => out.get(p)?.values().next().value as number | undefined;
  for (const s of steps) {
    if (f.complete) break;
    switch (s.kind) {
      case 'ready':
        apply(f.addPeer(s.peer, s.size));
        break;
      case 'answer': {
        const piece = firstOut(s.peer);
        if (piece === undefined || f.size === undefined) break;
        out.get(s.peer)!.delete(piece);
        const data = REAL.slice(
          piece * METADATA_PIECE_LENGTH,
          piece * METADATA_PIECE_LENGTH + metadataPieceLength(f.size, piece),
        );
        if (s.forged && data.length > 0) data[0] = data[0]! ^ 1;
        apply(f.data(s.peer, piece, f.size, data));
        break;
      }
      case 'late': {
        const [piece, size] = late.get(s.peer)?.entries().next().value ?? [];
        if (piece === undefined || size === undefined) break;
        late.get(s.peer)!.delete(piece);
        const at = piece * METADATA_PIECE_LENGTH;
        const data = REAL.slice(at, at + metadataPieceLength(size, piece));
        if (s.forged && data.length > 0) data[0] = data[0]! ^ 1;
        const commands = f.data(s.peer, piece, size, data);
        assert.ok(
          !commands.some((c) => c.type === 'drop' && c.peer === s.peer),
          `${s.peer} dropped for a late answer to piece ${piece}`,
        );
        apply(commands);
        break;
      }
      case 'unasked':
        if (
          !out.get(s.peer)?.has(s.piece) &&
          !late.get(s.peer)?.has(s.piece) &&
          f.size !== undefined &&
          s.piece * METADATA_PIECE_LENGTH < f.size
        )
          apply(f.data(s.peer, s.piece, f.size, new Uint8Array(metadataPieceLength(f.size, s.piece))));
        break;
      case 'wrongSize': {
        const piece = firstOut(s.peer);
        if (piece !== undefined && f.size !== undefined)
          apply(f.data(s.peer, piece, f.size + 1, new Uint8Array(1)));
        break;
      }
      case 'reject': {
        const piece = firstOut(s.peer);
        if (piece === undefined) break;
        out.get(s.peer)!.delete(piece);
        apply(f.reject(s.peer, piece));
        break;
      }
      case 'gone':
        out.delete(s.peer);
        late.delete(s.peer);
        apply(f.removePeer(s.peer));
        break;
      case 'tick':
        tick();
        break;
    }
    if (f.complete) {
      if (Buffer.from(f.bytes!).equals(Buffer.from(REAL))) break;
      apply(f.hashFailed());
    }
  }
  return { f, out, dropped, apply, tick };
}

/** Whether the fetch still counts `piece` as asked of `peer`. */
function isOutstanding(f: MetadataFetch, peer: string, piece: number): boolean {
  return f.outstandingOf(peer).has(piece);
}

describe('metadata fetch bookkeeping', () => {
  it('keeps its invariants under any peers', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => void run(steps)),
      { numRuns: 500 },
    );
  });

  it('completes with the honest bytes once an honest peer answers everything', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const { f, out, apply, tick } = run(steps);
        if (f.complete && Buffer.from(f.bytes!).equals(Buffer.from(REAL))) return;
        // An honest newcomer, and time passing, until everything is in.
        apply(f.addPeer('honest', SIZE));
        for (let round = 0; round < 200 && !f.complete; round++) {
          for (const piece of [...(out.get('honest') ?? [])]) {
            out.get('honest')!.delete(piece);
            const at = piece * METADATA_PIECE_LENGTH;
            apply(f.data('honest', piece, SIZE, REAL.slice(at, at + metadataPieceLength(SIZE, piece))));
          }
          if (f.complete && !Buffer.from(f.bytes!).equals(Buffer.from(REAL))) {
            apply(f.hashFailed());
            continue;
          }
          if (!f.complete) tick();
        }
        assert.ok(f.complete, 'complete');
        assert.deepEqual(Buffer.from(f.bytes!), Buffer.from(REAL));
      }),
      { numRuns: 300 },
    );
  });
});
