/**
 * A peer flooding small messages (hostile-peer review): keep-alives, unknown messages, repeated
 * state messages and haves reach the peer machine as a handful of events per socket read, not one
 * per 4–9-byte message (tcp-connection.ts `redundantMessage`, read-batches.ts haves).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createActor, createMachine } from 'xstate';
import { MAX_MESSAGE_EVENTS_PER_SECOND, MessageBudget } from '../../../src/net/message-budget.js';
import { createTcpConnection, redundantMessage } from '../../../src/net/tcp-connection.js';
import { encodeMessage } from '../../../src/wire/encode-message.js';
import type { WireItem } from '../../../src/wire/messages.js';
import { encodeUtPex, OUR_UT_PEX_ID } from '../../../src/wire/ut-pex.js';
import { loopbackPeer } from './loopback-peer.js';

test('redundantMessage: what a message adds after the ones before it in the same read', () => {
  const keepAlive: WireItem = { type: 'keepAlive' };
  const choke: WireItem = { type: 'choke' };
  const unchoke: WireItem = { type: 'unchoke' };
  const cancel = (begin: number): WireItem => ({ type: 'cancel', index: 1, begin, length: 16384 });
  // The first message of a read always counts: it resets the silence clock.
  for (const item of [
    keepAlive,
    choke,
    { type: 'unknown', id: 99, payload: new Uint8Array(1) },
  ] as WireItem[])
    assert.equal(redundantMessage(undefined, item), false, item.type);
  // After any message, keep-alives, unknown messages and extended ones other than the handshake say nothing.
  assert.equal(redundantMessage('batched', keepAlive), true);
  assert.equal(redundantMessage(choke, { type: 'unknown', id: 99, payload: new Uint8Array(0) }), true);
  assert.equal(
    redundantMessage(choke, { type: 'extended', extendedId: 9, payload: new Uint8Array(0) }),
    true,
  );
  assert.equal(
    redundantMessage(choke, { type: 'extended', extendedId: 0, payload: new Uint8Array(0) }),
    false,
  );
  // A state message right after the same one says nothing; after another, it does.
  assert.equal(redundantMessage(choke, choke), true);
  assert.equal(redundantMessage(choke, unchoke), false);
  assert.equal(redundantMessage('batched', choke), false);
  assert.equal(redundantMessage(cancel(0), cancel(0)), true);
  assert.equal(redundantMessage(cancel(0), cancel(16384)), false);
  assert.equal(redundantMessage({ type: 'suggest', index: 2 }, { type: 'suggest', index: 2 }), true);
  assert.equal(redundantMessage({ type: 'suggest', index: 2 }, { type: 'suggest', index: 3 }), false);
  // Messages that carry data are never dropped.
  assert.equal(redundantMessage(choke, { type: 'bitfield', bitfield: new Uint8Array(1) }), false);
  assert.equal(redundantMessage({ type: 'haveAll' }, { type: 'haveAll' }), false);
});

/** Connects to a peer that writes `bytes`; answers the events once `done` holds (or after 5 s). */
async function eventsOf(
  t: import('node:test').TestContext,
  bytes: Uint8Array,
  done: (events: readonly { type: string }[]) => boolean,
) {
  const port = await loopbackPeer(t, (socket) => socket.write(bytes));
  const events: { type: string; code?: string }[] = [];
  const parent = createMachine({
    invoke: {
      src: createTcpConnection({}),
      input: { address: `127.0.0.1:${port}`, direction: 'outgoing', handle: null },
    },
    on: { '*': { actions: ({ event }) => events.push(event as { type: string }) } },
  });
  const actor = createActor(parent);
  actor.start();
  t.after(() => actor.stop());
  const deadline = Date.now() + 5000;
  while (!done(events) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return events;
}

test('a flood of small messages reaches the machine as a few events per read, in wire order', async (t) => {
  const N = 20_000;
  const flood = Buffer.concat([
    encodeMessage({ type: 'unchoke' }),
    ...Array.from({ length: N }, () => encodeMessage({ type: 'keepAlive' })),
    ...Array.from({ length: N }, (_, i) => encodeMessage({ type: 'have', index: i % 7 })),
    ...Array.from({ length: N }, () => encodeMessage({ type: 'interested' })),
    ...Array.from({ length: N }, () =>
      encodeMessage({ type: 'unknown', id: 99, payload: new Uint8Array(1) }),
    ),
    encodeMessage({ type: 'have', index: 5 }),
    encodeMessage({ type: 'choke' }),
  ]);
  const events = (await eventsOf(t, flood, (es) => es.some((e) => e.type === 'wire.choke'))) as {
    type: string;
    indices?: readonly number[];
  }[];

  const wire = events.filter((e) => e.type.startsWith('wire.') && e.type !== 'wire.handshake');
  assert.equal(wire.at(-1)?.type, 'wire.choke', 'the last message arrived, last');
  // The flood is ~500 KB: a few reads, each a handful of events, instead of 80,000 events.
  assert.ok(wire.length < 200, `${wire.length} events`);
  // Every have is handed on, in order; batches are never empty.
  const haves = wire.flatMap((e) =>
    e.type === 'wire.haves'
      ? [...(e.indices ?? [])]
      : e.type === 'wire.have'
        ? [(e as unknown as { index: number }).index]
        : [],
  );
  assert.deepEqual(haves, [...Array.from({ length: N }, (_, i) => i % 7), 5]);
  assert.ok(wire.every((e) => e.type !== 'wire.haves' || (e.indices?.length ?? 0) > 1));
  // The order of kinds is the wire's (keep-alives and unknown messages aside: the first of each
  // read is handed on, wherever the read boundaries fell).
  const kinds = wire
    .map((e) => (e.type === 'wire.haves' ? 'wire.have' : e.type))
    .filter((k) => k !== 'wire.keepAlive' && k !== 'wire.unknown')
    .filter((k, i, a) => k !== a[i - 1]);
  assert.deepEqual(kinds, ['wire.unchoke', 'wire.have', 'wire.interested', 'wire.have', 'wire.choke']);
});

test('MessageBudget: more than the limit within one second is refused; the same spread over time is not', () => {
  let now = 0;
  const budget = new MessageBudget(10, () => now);
  // 10 a second for a minute: never refused.
  for (let s = 0; s < 60; s++, now += 1000) for (let i = 0; i < 10; i++) assert.equal(budget.take(), true);
  // 21 within a second: the 11 past a window's start… the budget tells within two windows' worth.
  let refused = -1;
  for (let i = 0; i < 21 && refused < 0; i++) if (!budget.take()) refused = i;
  assert.ok(refused >= 10 && refused <= 20, `refused at ${refused}`);
});

test('a peer alternating two messages past the budget is closed with messageFlood; an honest burst is not', async (t) => {
  const cancel = (begin: number) => encodeMessage({ type: 'cancel', index: 0, begin, length: 16384 });
  const flood = Buffer.concat(
    Array.from({ length: 3 * MAX_MESSAGE_EVENTS_PER_SECOND }, (_, i) => cancel((i % 2) * 16384)),
  );
  const flooded = await eventsOf(t, flood, (es) => es.some((e) => e.type === 'socket.closed'));
  const error = flooded.find((e) => e.type === 'wire.error');
  assert.equal(error?.code, 'messageFlood');
  assert.ok(flooded.filter((e) => e.type === 'wire.cancel').length <= 2 * MAX_MESSAGE_EVENTS_PER_SECOND + 1);
  // A queue's worth of cancels (500 distinct blocks) and rejects at once, then a choke.
  const burst = Buffer.concat([
    ...Array.from({ length: 500 }, (_, i) => cancel(i * 16384)),
    ...Array.from({ length: 500 }, (_, i) =>
      encodeMessage({ type: 'reject', index: 1, begin: i * 16384, length: 16384 }),
    ),
    encodeMessage({ type: 'choke' }),
  ]);
  const honest = await eventsOf(t, burst, (es) => es.some((e) => e.type === 'wire.choke'));
  assert.equal(
    honest.find((e) => e.type === 'wire.error'),
    undefined,
  );
  assert.equal(honest.filter((e) => e.type === 'wire.cancel' || e.type === 'wire.reject').length, 1000);
});

test('a flood of ut_pex messages: one is decoded and handed on, the rest dropped undecoded (pex-gate.ts)', async (t) => {
  const payload = encodeUtPex({
    added: Array.from({ length: 100 }, (_, i) => ({ address: `[2001:db8::${i + 1}]:6881`, flags: 0 })),
    dropped: Array.from({ length: 100 }, (_, i) => `[2001:db8:1::${i + 1}]:6881`),
  });
  const flood = Buffer.concat([
    ...Array.from({ length: 1000 }, () =>
      encodeMessage({ type: 'extended', extendedId: OUR_UT_PEX_ID, payload }),
    ),
    encodeMessage({ type: 'choke' }),
  ]);
  const started = performance.now();
  const events = await eventsOf(t, flood, (es) => es.some((e) => e.type === 'wire.choke'));
  const ms = performance.now() - started;
  assert.equal(events.filter((e) => e.type === 'wire.pex').length, 1);
  assert.equal(events.at(-1)?.type, 'wire.choke', `the flood (${flood.length} bytes) was read in ${ms} ms`);
});
