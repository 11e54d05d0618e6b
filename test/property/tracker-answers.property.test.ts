/**
 * The checked-in tracker answers (test/fixtures/tracker), mutated: bytes flipped, cut, repeated or
 * spliced. Whatever a tracker sends, the HTTP announce parser and the UDP decoder answer with a
 * result or a TrackerError, never another exception, and an accepted answer hands the torrent no
 * more than our limits (MAX_ANNOUNCE_PEERS distinct dialable peers, text cut). The same bytes give
 * the same answer as a view into a larger buffer, and are left as they were.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseAnnounceResponse } from '../../src/tracker/parse-announce-response.js';
import { TrackerError } from '../../src/tracker/tracker-error.js';
import { decodeUdpResponse } from '../../src/tracker/udp-codec.js';
import { assertWithinLimits, TRACKER_SEEDS, trackerSeeds } from '../unit/tracker/tracker-seeds.js';

// The two 100 KB token seeds are left to the seed test: a mutation of them says little more.
const seeds = trackerSeeds()
  .filter((s) => !s.file.includes('tokens'))
  .map((s) => ({ ...s, bytes: new Uint8Array(readFileSync(new URL(s.file, TRACKER_SEEDS))) }));

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'cut'; at: number }
  | { kind: 'repeat'; at: number; length: number; times: number }
  | { kind: 'splice'; at: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('repeat' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 24 }),
    times: fc.integer({ min: 1, max: 50 }),
  }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(),
    bytes: fc.oneof(
      fc.uint8Array({ maxLength: 12 }),
      fc
        .constantFrom('e', 'le', 'de', 'i-1e', 'i99999999999999999999e', '0:', '5:peers', '4:porti0e', '1:')
        .map((s) => new Uint8Array(Buffer.from(s, 'latin1'))),
    ),
  }),
);

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const at = bytes.length === 0 ? 0 : m.at % bytes.length;
  switch (m.kind) {
    case 'flip': {
      const out = Uint8Array.from(bytes);
      if (out.length > 0) out[at]! ^= 1 << m.bit;
      return out;
    }
    case 'cut':
      return bytes.subarray(0, at);
    case 'repeat': {
      const part = bytes.subarray(at, at + m.length);
      return Buffer.concat([
        bytes.subarray(0, at),
        ...Array<Uint8Array>(m.times).fill(part),
        bytes.subarray(at),
      ]);
    }
    case 'splice':
      return Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
  }
}

/** The decoder's answer: its result as JSON (peer ids as arrays), or the TrackerError's code. */
function answer(kind: 'announce' | 'udp' | 'udp6', bytes: Uint8Array): string {
  try {
    if (kind === 'announce') {
      const r = parseAnnounceResponse(bytes);
      assertWithinLimits(r);
      return JSON.stringify(r, (_, v) => (v instanceof Uint8Array ? [...v] : v));
    }
    const r = decodeUdpResponse(bytes, kind === 'udp' ? 4 : 6);
    if (r.action === 'announce') assertWithinLimits(r.response);
    return JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v));
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof TrackerError, `${kind}: not a TrackerError: ${err}`);
    return `TrackerError ${err.code}`;
  }
}

test('mutated tracker answers: a result within our limits or a TrackerError, the same for the same bytes wherever they lie', () => {
  fc.assert(
    fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 }), (seed, ms) => {
      const bytes = ms.reduce(mutate, seed.bytes);
      // The same bytes as a view in the middle of a larger buffer of other bytes give the same
      // answer (a decoder reading past its view, or at offset 0 of the buffer, differs), and
      // neither decode changes what it was given.
      const copy = new Uint8Array(bytes);
      const padded = new Uint8Array(bytes.length + 7).fill(0x65);
      padded.set(bytes, 3);
      const view = padded.subarray(3, 3 + bytes.length);
      assert.equal(answer(seed.kind, view), answer(seed.kind, bytes));
      assert.deepEqual(view, copy);
      assert.deepEqual(new Uint8Array(bytes), copy);
    }),
    { numRuns: 2000 },
  );
});
