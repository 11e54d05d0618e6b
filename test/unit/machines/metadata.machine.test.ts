/**
 * The metadata machine (BEP 9 fetching) under SimulatedClock, driven by the events its driver
 * would send, with a provided `verifyMetadata` that hashes with node:crypto as src/ does. What it
 * emits is what the driver would do: requests to send, peers to drop.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import {
  type MetadataEmitted,
  type MetadataOutput,
  metadataMachine,
} from '../../../machines/metadata.machine.js';
import { MAX_METADATA_SIZE, METADATA_PIECE_LENGTH } from '../../../src/wire/ut-metadata.js';

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

/** 40,000 bytes of "info dictionary": 3 pieces, the last 7,232 bytes. */
const INFO = Uint8Array.from({ length: 40_000 }, (_, i) => (i * 7) & 0xff);
const piece = (bytes: Uint8Array, i: number) =>
  bytes.subarray(i * METADATA_PIECE_LENGTH, Math.min(bytes.length, (i + 1) * METADATA_PIECE_LENGTH));

function start(infoHashOf: Uint8Array = INFO, verifiedCopy = false) {
  const clock = new SimulatedClock();
  const emitted: MetadataEmitted[] = [];
  const logic = metadataMachine.provide({
    actors: {
      verifyMetadata: fromPromise<Uint8Array | undefined, { bytes: Uint8Array }>(async ({ input }) =>
        sha1(input.bytes) === sha1(infoHashOf)
          ? verifiedCopy
            ? Uint8Array.from(input.bytes)
            : input.bytes
          : undefined,
      ),
    },
  });
  const actor = createActor(logic, {
    clock,
    input: {
      fetchTimeoutMs: 60_000,
      tickMs: 1000,
      limits: { maxPerPeer: 2, requestTimeoutTicks: 5, backoffTicks: 60 },
    },
  });
  actor.on('*', (e) => {
    if (e.type !== 'metadata.progress') emitted.push(e as MetadataEmitted);
  });
  const done = new Promise<MetadataOutput>((resolve) =>
    actor.subscribe({ complete: () => resolve(actor.getSnapshot().output!) }),
  );
  actor.start();
  const take = () => emitted.splice(0);
  /** Answers every request in `reqs` from `bytes` as peer data. */
  const answer = (reqs: MetadataEmitted[], bytes: Uint8Array) => {
    for (const r of reqs)
      if (r.type === 'metadata.request')
        actor.send({
          type: 'peer.data',
          peer: r.peer,
          piece: r.piece,
          totalSize: bytes.length,
          data: piece(bytes, r.piece),
        });
  };
  return { actor, clock, take, answer, done };
}

describe('metadata machine', () => {
  it('spreads requests: each peer asks the least-requested piece, and ends with the verified bytes', async () => {
    const m = start();
    m.actor.send({ type: 'peer.ready', peer: 'a', metadataSize: INFO.length });
    assert.deepEqual(m.take(), [
      { type: 'metadata.request', peer: 'a', piece: 0 },
      { type: 'metadata.request', peer: 'a', piece: 1 },
    ]);
    m.actor.send({ type: 'peer.ready', peer: 'b', metadataSize: INFO.length });
    const reqs = m.take();
    // piece 2 is asked of nobody, then piece 0 of one peer: b asks the same piece as a
    assert.deepEqual(reqs, [
      { type: 'metadata.request', peer: 'b', piece: 2 },
      { type: 'metadata.request', peer: 'b', piece: 0 },
    ]);
    // b answers first; a's answers to pieces already in are ignored, nobody is dropped
    m.answer(reqs, INFO);
    m.answer(
      [
        { type: 'metadata.request', peer: 'a', piece: 0 },
        { type: 'metadata.request', peer: 'a', piece: 1 },
      ],
      INFO,
    );
    const out = await m.done;
    assert.ok(!m.take().some((e) => e.type === 'metadata.drop'));
    assert.equal(out.result, 'verified');
    assert.deepEqual(out.result === 'verified' ? Buffer.from(out.info) : undefined, Buffer.from(INFO));
  });

  it('a dozen peers that never answer do not keep an honest one waiting (no clock needed)', async () => {
    const m = start();
    for (let i = 0; i < 12; i++)
      m.actor.send({ type: 'peer.ready', peer: `silent${i}`, metadataSize: INFO.length });
    m.actor.send({ type: 'peer.ready', peer: 'honest', metadataSize: INFO.length });
    for (let round = 0; round < 5; round++)
      m.answer(
        m.take().filter((e) => e.type === 'metadata.request' && e.peer === 'honest'),
        INFO,
      );
    const out = await m.done;
    assert.equal(out.result, 'verified');
  });

  it('outputs the very bytes the verify step hashed and passed', async () => {
    const m = start(INFO, true);
    m.actor.send({ type: 'peer.ready', peer: 'a', metadataSize: INFO.length });
    m.answer(m.take(), INFO);
    m.answer(m.take(), INFO);
    const out = await m.done;
    assert.equal(out.result, 'verified');
    const hashed = m.actor.getSnapshot().context.verified;
    assert.ok(out.result === 'verified' && hashed !== undefined && out.info === hashed);
    assert.notEqual(out.result === 'verified' && out.info, m.actor.getSnapshot().context.fetch.bytes);
  });

  it('snubs a peer that rejects: the piece goes to another peer, the rejecter is left alone', () => {
    const m = start();
    m.actor.send({ type: 'peer.ready', peer: 'a', metadataSize: INFO.length });
    m.actor.send({ type: 'peer.ready', peer: 'b', metadataSize: INFO.length });
    m.take(); // a: 0, 1; b: 2, 0
    m.actor.send({ type: 'peer.reject', peer: 'b', piece: 2 });
    assert.deepEqual(m.take(), [{ type: 'metadata.snubbed', peer: 'b', reason: 'rejected' }]);
    m.actor.send({ type: 'peer.data', peer: 'a', piece: 0, totalSize: INFO.length, data: piece(INFO, 0) });
    assert.deepEqual(m.take(), [{ type: 'metadata.request', peer: 'a', piece: 2 }]);
  });

  it('snubs a peer whose request timed out, and takes its late answer rather than dropping it', async () => {
    const m = start();
    m.actor.send({ type: 'peer.ready', peer: 'a', metadataSize: INFO.length });
    m.take(); // a: 0, 1
    for (let i = 0; i < 5; i++) m.clock.increment(1000);
    assert.deepEqual(m.take(), [{ type: 'metadata.snubbed', peer: 'a', reason: 'timedOut' }]);
    m.actor.send({ type: 'peer.ready', peer: 'b', metadataSize: INFO.length });
    assert.deepEqual(m.take(), [
      { type: 'metadata.request', peer: 'b', piece: 0 },
      { type: 'metadata.request', peer: 'b', piece: 1 },
    ]);
    // a answers piece 0 after its timeout: not `unrequested`; the piece is in, b's slot is freed
    m.actor.send({ type: 'peer.data', peer: 'a', piece: 0, totalSize: INFO.length, data: piece(INFO, 0) });
    assert.deepEqual(m.take(), [{ type: 'metadata.request', peer: 'b', piece: 2 }]);
    assert.equal(m.actor.getSnapshot().context.fetch.received, 1);
  });

  it('ignores a late answer to a piece already in', () => {
    const m = start();
    m.actor.send({ type: 'peer.ready', peer: 'a', metadataSize: INFO.length });
    m.take();
    for (let i = 0; i < 5; i++) m.clock.increment(1000);
    m.take();
    m.actor.send({ type: 'peer.ready', peer: 'b', metadataSize: INFO.length });
    const reqs = m.take();
    m.answer(reqs, INFO); // b: 0 and 1
    m.take();
    m.actor.send({ type: 'peer.data', peer: 'a', piece: 0, totalSize: INFO.length, data: piece(INFO, 0) });
    assert.deepEqual(m.take(), []);
    assert.equal(m.actor.getSnapshot().context.fetch.received, 2);
  });

  it('moves a piece of a peer that left to another peer', () => {
    const m = start();
    m.actor.send({ type: 'peer.ready', peer: 'a', metadataSize: 100 });
    m.take();
    for (let i = 0; i < 5; i++) m.clock.increment(1000); // a snubbed, left alone
    m.actor.send({ type: 'peer.ready', peer: 'b', metadataSize: 100 });
    m.actor.send({ type: 'peer.reject', peer: 'b', piece: 0 });
    m.take();
    m.actor.send({ type: 'peer.gone', peer: 'a' });
    m.actor.send({ type: 'peer.gone', peer: 'b' });
    m.actor.send({ type: 'peer.ready', peer: 'c', metadataSize: 100 });
    assert.deepEqual(m.take(), [{ type: 'metadata.request', peer: 'c', piece: 0 }]);
  });

  it('drops a peer that sends a piece it was not asked for, or the wrong size', () => {
    const m = start();
    m.actor.send({ type: 'peer.ready', peer: 'a', metadataSize: INFO.length });
    m.actor.send({ type: 'peer.ready', peer: 'b', metadataSize: INFO.length });
    m.take();
    m.actor.send({ type: 'peer.data', peer: 'b', piece: 1, totalSize: INFO.length, data: piece(INFO, 1) });
    assert.deepEqual(m.take(), [{ type: 'metadata.drop', peer: 'b', reason: 'unrequested' }]);
    m.actor.send({ type: 'peer.data', peer: 'a', piece: 0, totalSize: 20_000, data: piece(INFO, 0) });
    const after = m.take();
    assert.deepEqual(after, [{ type: 'metadata.drop', peer: 'a', reason: 'wrongSize' }]);
  });

  it('refuses a metadata_size over the cap without allocating it, and ignores one below 1', () => {
    const m = start();
    m.actor.send({ type: 'peer.ready', peer: 'a', metadataSize: MAX_METADATA_SIZE + 1 });
    m.actor.send({ type: 'peer.ready', peer: 'b', metadataSize: 0 });
    m.actor.send({ type: 'peer.ready', peer: 'c' });
    assert.deepEqual(m.take(), [{ type: 'metadata.drop', peer: 'a', reason: 'metadataTooLarge' }]);
    assert.equal(m.actor.getSnapshot().context.fetch.size, undefined);
    m.actor.send({ type: 'peer.ready', peer: 'd', metadataSize: MAX_METADATA_SIZE });
    assert.equal(m.take().length, 2);
  });

  it('discards metadata that fails the hash, drops its senders and takes it from another peer', async () => {
    const m = start();
    const forged = Uint8Array.from(INFO);
    forged[20_000] = forged[20_000]! ^ 1;
    m.actor.send({ type: 'peer.ready', peer: 'liar', metadataSize: INFO.length });
    m.answer(m.take(), forged);
    assert.deepEqual(m.take(), [{ type: 'metadata.request', peer: 'liar', piece: 2 }]);
    m.actor.send({ type: 'peer.ready', peer: 'honest', metadataSize: INFO.length });
    const honestFirst = m.take();
    assert.deepEqual(honestFirst, [{ type: 'metadata.request', peer: 'honest', piece: 2 }]);
    m.answer([{ type: 'metadata.request', peer: 'liar', piece: 2 }], forged);
    await new Promise((r) => setImmediate(r)); // the verify actor's promise
    const afterFailure = m.take();
    assert.deepEqual(afterFailure, [
      { type: 'metadata.drop', peer: 'liar', reason: 'badMetadata' },
      { type: 'metadata.request', peer: 'honest', piece: 0 },
      { type: 'metadata.request', peer: 'honest', piece: 1 },
    ]);
    // the honest answer to the discarded copy's request comes late: taken, not dropped
    m.answer(honestFirst, INFO);
    m.answer(afterFailure, INFO);
    const out = await m.done;
    assert.equal(out.result, 'verified');
    assert.equal(m.actor.getSnapshot().context.fetch.hashFailures, 1);
    // the liar is not asked again, even if it comes back
    m.actor.send({ type: 'peer.ready', peer: 'liar', metadataSize: INFO.length });
  });

  it('times out when no peer gives the metadata', async () => {
    const m = start();
    m.actor.send({ type: 'peer.ready', peer: 'a', metadataSize: INFO.length });
    m.clock.increment(60_000);
    const out = await m.done;
    assert.deepEqual(out, { result: 'timedOut', received: 0, pieces: 3, hashFailures: 0 });
  });

  it('a failed copy from several peers drops none of them; the next copies come from one peer each', async () => {
    const m = start();
    const forged = Uint8Array.from(INFO);
    forged[0] = forged[0]! ^ 1; // in piece 0
    m.actor.send({ type: 'peer.ready', peer: 'liar', metadataSize: INFO.length });
    m.actor.send({ type: 'peer.ready', peer: 'honest', metadataSize: INFO.length });
    const first = m.take(); // liar: 0, 1; honest: 2
    m.answer(
      first.filter((r) => r.type === 'metadata.request' && r.peer === 'liar'),
      forged,
    );
    m.answer(
      first.filter((r) => r.type === 'metadata.request' && r.peer === 'honest'),
      INFO,
    );
    m.take(); // what was asked while the copy came in
    await new Promise((r) => setImmediate(r));
    const retry = m.take();
    assert.ok(!retry.some((e) => e.type === 'metadata.drop'), 'nobody convicted by a mixed copy');
    // One source for the whole copy: the liar (first in order) is asked everything.
    assert.deepEqual(
      retry.map((e) => (e.type === 'metadata.request' ? `${e.peer}:${e.piece}` : e.type)),
      ['liar:0', 'liar:1'],
    );
    m.answer(retry, forged);
    const more = m.take();
    assert.deepEqual(
      more.map((e) => (e.type === 'metadata.request' ? `${e.peer}:${e.piece}` : e.type)),
      ['liar:2'],
    );
    m.answer(more, forged);
    await new Promise((r) => setImmediate(r));
    const after = m.take();
    assert.deepEqual(
      after[0],
      { type: 'metadata.drop', peer: 'liar', reason: 'badMetadata' },
      'its own copy convicts it',
    );
    m.answer(after, INFO);
    m.answer(m.take(), INFO);
    const out = await m.done;
    assert.equal(out.result, 'verified');
  });
});
