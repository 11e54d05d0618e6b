/** Tokens (src/dht/tokens.ts) and the store of announced peers (src/dht/peer-store.ts): their bounds. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_PEERS_PER_TORRENT,
  MAX_STORED_TORRENTS,
  MAX_VALUES_PER_RESPONSE,
  PEER_LIFETIME_MS,
  PeerStore,
} from '../../../src/dht/peer-store.js';
import { TOKEN_ROTATE_MS, TokenSecrets } from '../../../src/dht/tokens.js';

test('a token is good for its IP only, through one rotation of the secret, not two', () => {
  const s = new TokenSecrets(0);
  const token = s.tokenFor('10.0.0.1', 0);
  assert.ok(s.isValid(token, '10.0.0.1', 1));
  assert.ok(!s.isValid(token, '10.0.0.2', 1), 'another IP');
  assert.ok(s.isValid(token, '10.0.0.1', TOKEN_ROTATE_MS + 1), 'the previous secret is still taken');
  assert.ok(!s.isValid(token, '10.0.0.1', 2 * TOKEN_ROTATE_MS + 1), 'two rotations later it is not');
  assert.ok(!s.isValid(token.subarray(0, 4), '10.0.0.1', 1), 'a cut token');
});

test('the store is bounded per torrent and in torrents, answers at most MAX_VALUES_PER_RESPONSE, forgets after 30 min', () => {
  const store = new PeerStore();
  for (let i = 0; i < MAX_PEERS_PER_TORRENT + 300; i++)
    store.announce('aa', { host: `10.0.${i >> 8}.${i & 255}`, port: 1 }, i);
  assert.equal(store.peerCount, MAX_PEERS_PER_TORRENT, 'the oldest make room');
  const answer = store.peers('aa', 1000);
  assert.equal(answer.length, MAX_VALUES_PER_RESPONSE);
  assert.equal(answer[0]!.host, '10.0.3.31', 'the youngest first');
  for (let i = 0; i < MAX_STORED_TORRENTS + 500; i++)
    store.announce(`t${i}`, { host: '10.9.9.9', port: 2 }, 2000);
  assert.equal(store.torrentCount, MAX_STORED_TORRENTS, 'a new torrent is refused when full');
  // 30 minutes on, everything has expired: the store takes new torrents again.
  assert.ok(store.announce('new', { host: '10.1.1.1', port: 3 }, 2000 + PEER_LIFETIME_MS));
  assert.equal(store.torrentCount, 1);
  assert.deepEqual(store.peers('aa', 2000 + PEER_LIFETIME_MS), []);
});
