/**
 * The vote for our external address (src/dht/external-ip-vote.ts, BEP 42's `ip` key): never one
 * answer, one vote per responder IP, a clear majority, local addresses not counted, and a change of
 * address only by a later round.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EXTERNAL_IP_ROUND_MS,
  EXTERNAL_IP_ROUND_VOTES,
  ExternalIpVote,
  MIN_EXTERNAL_IP_VOTES,
} from '../../../src/dht/external-ip-vote.js';

const A = '203.0.113.7';
const B = '198.51.100.9';
const voter = (i: number) => `192.0.${i >> 8}.${i & 255}`;

test('the first address is taken once MIN_EXTERNAL_IP_VOTES distinct responders name it, never from one', () => {
  const vote = new ExternalIpVote(0);
  for (let i = 0; i < MIN_EXTERNAL_IP_VOTES - 1; i++) assert.equal(vote.vote(A, voter(i), i), undefined);
  assert.equal(vote.address, undefined);
  assert.equal(vote.vote(A, voter(MIN_EXTERNAL_IP_VOTES), 10), A);
  assert.equal(vote.address, A);
});

test('one responder votes once, however often it answers (or from however many ports)', () => {
  const vote = new ExternalIpVote(0);
  for (let i = 0; i < 100; i++) assert.equal(vote.vote(A, voter(1), i), undefined);
  assert.equal(vote.address, undefined);
});

test('a divided vote is no vote: the leader needs over 3/2 of the runner-up', () => {
  const vote = new ExternalIpVote(0);
  let v = 0;
  for (let i = 0; i < 2; i++) vote.vote(B, voter(v++), 0);
  for (let i = 0; i < 2; i++) assert.equal(vote.vote(A, voter(v++), 0), undefined);
  assert.equal(vote.vote(A, voter(v++), 0), undefined, '3 to 2');
  assert.equal(vote.vote(A, voter(v++), 0), A, '4 to 2');
});

test('local, unspecified, multicast and non-IPv4 reports are not counted', () => {
  const vote = new ExternalIpVote(0);
  let v = 0;
  for (const reported of ['127.0.0.1', '10.0.0.1', '192.168.1.2', '0.0.0.0', '224.0.0.1', '::1', 'x'])
    for (let i = 0; i < MIN_EXTERNAL_IP_VOTES; i++)
      assert.equal(vote.vote(reported, voter(v++), 0), undefined);
  assert.equal(vote.address, undefined);
});

test('once known, a new address wins only a later round: after EXTERNAL_IP_ROUND_VOTES votes or EXTERNAL_IP_ROUND_MS', () => {
  const vote = new ExternalIpVote(0);
  let v = 0;
  for (let i = 0; i < MIN_EXTERNAL_IP_VOTES; i++) vote.vote(A, voter(v++), 0);
  assert.equal(vote.address, A);
  // We moved: everyone now says B, but the round is not over.
  for (let i = 0; i < EXTERNAL_IP_ROUND_VOTES - 1; i++)
    assert.equal(vote.vote(B, voter(v++), 1000), undefined);
  assert.equal(vote.address, A);
  assert.equal(vote.vote(B, voter(v++), 1000), B, 'the round of 50 is counted');
  // And by time: a few votes for A, counted once the round is old enough.
  for (let i = 0; i < MIN_EXTERNAL_IP_VOTES; i++) assert.equal(vote.vote(A, voter(v++), 2000), undefined);
  assert.equal(vote.vote(A, voter(v++), 2000 + EXTERNAL_IP_ROUND_MS), A);
});

test('an address from the saved state holds until the first vote, which is decided as if none were known', () => {
  const vote = new ExternalIpVote(0, A);
  assert.equal(vote.address, A);
  let v = 0;
  for (let i = 0; i < MIN_EXTERNAL_IP_VOTES - 1; i++) assert.equal(vote.vote(B, voter(v++), 0), undefined);
  assert.equal(vote.vote(B, voter(v++), 0), B);
  const same = new ExternalIpVote(0, A);
  for (let i = 0; i < MIN_EXTERNAL_IP_VOTES; i++)
    assert.equal(same.vote(A, voter(v++), 0), undefined, 'no change');
  assert.equal(same.address, A);
});
