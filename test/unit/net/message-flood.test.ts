/**
 * A peer flooding small messages (hostile-peer review): keep-alives, unknown messages, repeated
 * state messages and haves reach the peer machine as a handful of events per socket read, not one
 * per 4–9-byte message (tcp-connection.ts `redundantMessage`, read-batches.ts haves).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createActor, createMachine } from 'xstate';
import { createTcpConnection, redundantMessage } from '../../../src/net/tcp-connection.js';
import { encodeMessage } from '../../../src/wire/encode-message.js';
import type { WireItem } from '../../../src/wire/messages.js';
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
    redundantMessage(choke, { type: 'extended', extendedId: 3, payload: new Uint8Array(0) }),
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
  const port = await loopbackPeer(t, (socket) => socket.write(flood));
  const events: { type: string; indices?: readonly number[] }[] = [];
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
  while (!events.some((e) => e.type === 'wire.choke') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));

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
