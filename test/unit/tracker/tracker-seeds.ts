/**
 * The checked-in tracker answers of test/fixtures/tracker (see fuzz-seeds.test.ts for the naming)
 * and what any accepted answer may hand to the torrent; shared by the seed and property tests.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { AnnounceResponse } from '../../../src/tracker/announce-types.js';
import { MAX_TRACKER_MESSAGE_CHARS } from '../../../src/tracker/parse-announce-response.js';
import { MAX_ANNOUNCE_PEERS } from '../../../src/tracker/peer-collector.js';

export const TRACKER_SEEDS = new URL('../../fixtures/tracker/', import.meta.url);

/** A seed's outcome (the part of its name before `--`) and how it is decoded (its extension). */
export function trackerSeeds(): { file: string; outcome: string; kind: 'announce' | 'udp' | 'udp6' }[] {
  return readdirSync(TRACKER_SEEDS)
    .filter((f) => /\.(announce|udp6?)$/.test(f))
    .map((file) => ({
      file,
      outcome: file.split('--')[0]!,
      kind: file.slice(file.lastIndexOf('.') + 1) as 'announce' | 'udp' | 'udp6',
    }));
}

/** What an accepted answer may hand to the torrent. */
export function assertWithinLimits(r: AnnounceResponse): void {
  assert.ok(r.peers.length <= MAX_ANNOUNCE_PEERS, `${r.peers.length} peers`);
  const keys = r.peers.map((p) => `${p.host}|${p.port}`);
  assert.equal(new Set(keys).size, keys.length, 'each peer once');
  for (const p of r.peers) assert.ok(p.port >= 1 && p.port <= 65535, `port ${p.port}`);
  for (const s of [r.warning, r.trackerId]) assert.ok((s?.length ?? 0) <= MAX_TRACKER_MESSAGE_CHARS + 1);
}
