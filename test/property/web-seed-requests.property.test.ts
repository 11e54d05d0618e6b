/**
 * A web seed's queued requests cut into runs (src/net/web-seed-requests.ts), against a plain list
 * as the model, for any interleaving of requests (in runs as the picker hands them to a web seed,
 * or scattered), cancels and takes with any number of idle connections and bytes in flight: each
 * run starts at the oldest request, is contiguous in the payload, stays within MAX_RUN_BYTES and
 * what MAX_WEB_SEED_BYTES_IN_FLIGHT leaves, is as long as its share allows, and every block
 * requested is taken once or cancelled.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { BlockRef } from '../../machines/peer.types.js';
import {
  MAX_RUN_BYTES,
  MAX_WEB_SEED_BYTES_IN_FLIGHT,
  WebSeedRequests,
} from '../../src/net/web-seed-requests.js';

const BLOCK = 16 * 1024;
const PIECE = 4 * BLOCK;
const PIECES = 1024; // 64 MiB: runs may reach MAX_RUN_BYTES and the in-flight limit
const offsetOf = (b: BlockRef) => b.index * PIECE + b.begin;

/** A run of `count` blocks from block number `from` (as the contiguous picker hands them out). */
const run = (from: number, count: number): BlockRef[] =>
  Array.from({ length: Math.min(count, PIECES * 4 - from) }, (_, k) => {
    const n = from + k;
    return { index: Math.floor(n / 4), begin: (n % 4) * BLOCK, length: BLOCK };
  });

const op = fc.oneof(
  fc.record({
    kind: fc.constant('add' as const),
    from: fc.nat(PIECES * 4 - 1),
    count: fc.integer({ min: 1, max: 700 }),
  }),
  fc.record({ kind: fc.constant('cancel' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('take' as const),
    idle: fc.integer({ min: 1, max: 16 }),
    inFlight: fc.integer({ min: 0, max: MAX_WEB_SEED_BYTES_IN_FLIGHT }),
  }),
);

test('runs: oldest first, contiguous, within their share and the limits, each block once', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const q = new WebSeedRequests(PIECE);
      let model: BlockRef[] = [];
      const requested = new Set<string>();
      const done = new Set<string>();
      const key = (b: BlockRef) => `${b.index}:${b.begin}`;
      for (const o of ops) {
        if (o.kind === 'add') {
          // The peer machine never asks for a block it has outstanding: only new ones.
          const fresh = run(o.from, o.count).filter((b) => !requested.has(key(b)));
          for (const b of fresh) requested.add(key(b));
          q.add(fresh);
          model.push(...fresh);
        } else if (o.kind === 'cancel') {
          if (model.length === 0) continue;
          const b = model[o.at % model.length]!;
          q.cancel(b.index, b.begin);
          model = model.filter((m) => m !== b);
          done.add(key(b));
        } else {
          const allowance = MAX_WEB_SEED_BYTES_IN_FLIGHT - o.inFlight;
          const queued = model.reduce((n, b) => n + b.length, 0);
          const got = q.takeRun(o.idle, o.inFlight);
          if (got.length === 0) {
            assert.ok(model.length === 0 || model[0]!.length > allowance, 'nothing taken though it fit');
            continue;
          }
          assert.equal(got[0], model[0], 'a run starts at the oldest request');
          const bytes = got.reduce((n, b) => n + b.length, 0);
          for (let i = 1; i < got.length; i++)
            assert.equal(offsetOf(got[i]!), offsetOf(got[i - 1]!) + got[i - 1]!.length, 'contiguous');
          assert.ok(bytes <= MAX_RUN_BYTES && bytes <= allowance, `${bytes} bytes`);
          const budget = Math.min(
            Math.max(got[0]!.length, Math.ceil(queued / o.idle)),
            MAX_RUN_BYTES,
            allowance,
          );
          assert.ok(bytes <= budget, `${bytes} bytes over its share ${budget}`);
          // As long as allowed: the block that would continue it is not queued, or does not fit.
          const next = model.find((b) => offsetOf(b) === offsetOf(got[0]!) + bytes);
          assert.ok(next === undefined || bytes + next.length > budget, 'stopped short');
          for (const b of got) {
            assert.ok(!done.has(key(b)), 'taken twice, or taken after its cancel');
            done.add(key(b));
          }
          const taken = new Set(got);
          model = model.filter((b) => !taken.has(b));
        }
        assert.equal(q.size, model.length);
        assert.equal(
          q.bytes,
          model.reduce((n, b) => n + b.length, 0),
        );
      }
      // Whatever is left comes out, run by run, with nothing in flight.
      while (q.size > 0) for (const b of q.takeRun(1, 0)) done.add(key(b));
      assert.equal(done.size, requested.size);
    }),
    { numRuns: 300 },
  );
});
