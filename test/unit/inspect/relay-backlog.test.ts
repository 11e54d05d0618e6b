/**
 * RelayBacklog: what the `--inspect` relay replays to a viewer that connects late.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RELAY_BUFFER, RelayBacklog } from '../../../src/inspect/relay-backlog.js';

const actor = (sessionId: string) => JSON.stringify({ type: '@xstate.actor', sessionId });
const snapshot = (sessionId: string, value: string, status = 'active') =>
  JSON.stringify({ type: '@xstate.snapshot', sessionId, snapshot: { status, value } });
const event = (sessionId: string, n: number) =>
  JSON.stringify({ type: '@xstate.event', sessionId, event: { type: 'tick', n } });

test('a quiet actor keeps its latest snapshot when the others push it out of the recent messages', () => {
  const backlog = new RelayBacklog();
  backlog.keep(actor('quiet'));
  backlog.keep(actor('busy'));
  backlog.keep(snapshot('quiet', 'first'));
  backlog.keep(snapshot('quiet', 'idle'));
  for (let n = 0; n < 2 * RELAY_BUFFER; n++) backlog.keep(event('busy', n));
  const sent = [...backlog.messages()];
  assert.deepEqual(sent.slice(0, 3), [actor('quiet'), actor('busy'), snapshot('quiet', 'idle')]);
  assert.equal(sent.length, 3 + RELAY_BUFFER);
  assert.equal(backlog.size.messages, sent.length);
  assert.equal(
    backlog.size.bytes,
    sent.reduce((sum, m) => sum + m.length, 0),
  );
});

test('a snapshot still among the recent messages is sent once, in its place', () => {
  const backlog = new RelayBacklog();
  backlog.keep(actor('a'));
  backlog.keep(snapshot('a', 'one'));
  backlog.keep(event('a', 1));
  assert.deepEqual([...backlog.messages()], [actor('a'), snapshot('a', 'one'), event('a', 1)]);
});

test('an actor that ends takes its registration, snapshot and messages with it', () => {
  const backlog = new RelayBacklog();
  backlog.keep(actor('gone'));
  backlog.keep(actor('live'));
  backlog.keep(snapshot('gone', 'working'));
  for (let n = 0; n < 2 * RELAY_BUFFER; n++) backlog.keep(event('live', n));
  backlog.keep(snapshot('gone', 'closed', 'done'));
  const sent = [...backlog.messages()];
  assert.ok(!sent.some((m) => m.includes('"gone"')));
  assert.equal(sent.length, 1 + RELAY_BUFFER);
});

test('an actor whose parent is told it failed is forgotten, though no ended snapshot of it comes', () => {
  const backlog = new RelayBacklog();
  backlog.keep(actor('parent'));
  backlog.keep(actor('child'));
  backlog.keep(event('child', 1));
  const failure = JSON.stringify({
    type: '@xstate.event',
    sessionId: 'parent',
    sourceId: 'child',
    event: { type: 'xstate.error.actor.kid', error: {} },
  });
  backlog.keep(failure);
  assert.deepEqual([...backlog.messages()], [actor('parent'), failure]);
});
