/**
 * The UDP tracker client (BEP 15) against a fake tracker on 127.0.0.1 whose answers are dropped,
 * duplicated, delayed and corrupted by a generated schedule (issue #6):
 * - any schedule whose runs of lost answers are shorter than the retry limit still yields the peers;
 * - garbage never crashes: whatever the tracker sends, the client ends with the peers or a
 *   TrackerError, and decodeUdpResponse throws nothing but TrackerError.
 * A retry base of 20 ms keeps each run short.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { AnnounceParams } from '../../src/tracker/announce-types.js';
import { TrackerError } from '../../src/tracker/tracker-error.js';
import { decodeUdpResponse } from '../../src/tracker/udp-codec.js';
import { UdpTrackerClient } from '../../src/tracker/udp-tracker.js';
import { type Fate, startFakeUdpTracker } from '../unit/tracker/fake-udp-tracker.js';

const PARAMS: AnnounceParams = {
  infoHash: new Uint8Array(20).fill(7),
  peerId: new Uint8Array(20).fill(8),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 1,
  event: 'started',
};
const PEERS = [
  { host: '10.0.0.1', port: 1001 },
  { host: '10.0.0.2', port: 1002 },
  { host: '10.0.0.3', port: 1003 },
];
const RETRY_BASE_MS = 20;
/** Longest run of lost answers generated; the client gets two sends more than that (slack for a
 * busy event loop, whose hiccup can turn a slow answer into one more resend). */
const MAX_LOSS_RUN = 3;
const MAX_RETRIES = MAX_LOSS_RUN + 2;

/** Corruptions that make an answer not ours: cut inside its header, another id, an unknown action.
 * (Our id and action with a broken body is a broken tracker: a typed error at once, tested below.) */
const corruption = fc.oneof(
  fc.integer({ min: 0, max: 7 }).map((n) => (a: Uint8Array) => a.subarray(0, Math.min(n, a.length - 1))),
  fc.integer({ min: 1, max: 0xffff }).map((x) => (a: Uint8Array) => {
    const b = Uint8Array.from(a);
    b[7] = (b[7]! ^ x) & 0xff;
    b[6] = (b[6]! ^ (x >> 8)) & 0xff;
    return b;
  }),
  fc.integer({ min: 4, max: 0xffffffff }).map((action) => (a: Uint8Array) => {
    const b = Uint8Array.from(a);
    new DataView(b.buffer).setUint32(0, action);
    return b;
  }),
);

const loss: fc.Arbitrary<Fate> = fc.oneof(
  fc.constant<Fate>({ kind: 'drop' }),
  corruption.map<Fate>((datagram) => ({ kind: 'replace', datagram })),
);
const delivery: fc.Arbitrary<Fate> = fc.oneof(
  fc.constant<Fate>({ kind: 'answer' }),
  fc.constant<Fate>({ kind: 'answer', duplicate: true }),
  // Late, even past the resend: the resend keeps the transaction id, so the late answer counts.
  fc.integer({ min: 1, max: 3 * RETRY_BASE_MS }).map<Fate>((delayMs) => ({ kind: 'answer', delayMs })),
  fc
    .array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 3 })
    .map<Fate>((datagrams) => ({ kind: 'noise', datagrams })),
);

/** Two steps (connect, announce), each: up to MAX_LOSS_RUN losses then one delivery. */
const schedule = fc
  .tuple(
    fc.array(loss, { maxLength: MAX_LOSS_RUN }),
    delivery,
    fc.array(loss, { maxLength: MAX_LOSS_RUN }),
    delivery,
  )
  .map(([l1, d1, l2, d2]) => [...l1, d1, ...l2, d2]);

test('any schedule of losses shorter than the retry limit still yields the peers', async () => {
  await fc.assert(
    fc.asyncProperty(schedule, async (fates) => {
      // Answers beyond the script (duplicates of a late answer's request…) are delivered.
      const tracker = await startFakeUdpTracker({
        peers: PEERS,
        fate: (_q, n) => fates[n] ?? { kind: 'answer' },
      });
      try {
        const r = await new UdpTrackerClient().announce(tracker.url, PARAMS, {
          retryBaseMs: RETRY_BASE_MS,
          maxRetries: MAX_RETRIES,
        });
        assert.deepEqual(r.peers, PEERS);
      } finally {
        await tracker.close();
      }
    }),
    { numRuns: 40 },
  );
});

test('garbage never crashes: the peers or a TrackerError, whatever the tracker answers', async () => {
  const anyFate: fc.Arbitrary<Fate> = fc.oneof(
    loss,
    delivery,
    fc.uint8Array({ maxLength: 100 }).map<Fate>((g) => ({ kind: 'replace', datagram: () => g })),
    // Garbage behind a valid header (our transaction id): the body is what is wrong.
    fc
      .tuple(fc.integer({ min: 0, max: 5 }), fc.uint8Array({ maxLength: 60 }))
      .map<Fate>(([action, body]) => ({
        kind: 'replace',
        datagram: (a) => {
          const b = new Uint8Array(8 + body.length);
          b.set(a.subarray(0, 8));
          new DataView(b.buffer).setUint32(0, action);
          b.set(body, 8);
          return b;
        },
      })),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(anyFate, { maxLength: 8 }), async (fates) => {
      const tracker = await startFakeUdpTracker({
        peers: PEERS,
        fate: (_q, n) => fates[n] ?? { kind: 'drop' },
      });
      try {
        const r = await new UdpTrackerClient().announce(tracker.url, PARAMS, {
          retryBaseMs: 5,
          maxRetries: 3,
        });
        assert.ok(Array.isArray(r.peers));
      } catch (e) {
        assert.ok(e instanceof TrackerError, `only TrackerError escapes, got ${String(e)}`);
      } finally {
        await tracker.close();
      }
    }),
    { numRuns: 30 },
  );
});

test('decodeUdpResponse throws nothing but TrackerError, for either peer family', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom<4 | 6>(4, 6), (bytes, family) => {
      try {
        decodeUdpResponse(bytes, family);
      } catch (e) {
        assert.ok(e instanceof TrackerError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
});
