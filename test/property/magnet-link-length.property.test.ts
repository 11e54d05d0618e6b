/**
 * `bitstate info`'s magnet link (make-magnet.ts fittedMagnetLink) through parseMagnet (fast-check):
 * for any trackers and web seeds — up to MAX_TRACKERS and MAX_WEB_SEEDS, each up to 2,000
 * characters, with characters to percent-encode — and any name a torrent may have, the link is at
 * most MAX_MAGNET_LENGTH characters and parses back: the same swarm and name, the first trackers
 * and web seeds in order, and as many left out as fittedMagnetLink says.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_TRACKERS, MAX_WEB_SEEDS } from '../../src/metainfo/limits.js';
import { MAX_MAGNET_LENGTH, parseMagnet } from '../../src/metainfo/magnet.js';
import { fittedMagnetLink } from '../../src/metainfo/make-magnet.js';

const V1 = createHash('sha1').update('length').digest();
const V2 = createHash('sha256').update('length').digest();

/** A URL of `n` characters after its scheme, some of which percent-encode to three or six. */
const url = fc
  .tuple(
    fc.nat({ max: 1_000_000 }),
    fc.integer({ min: 1, max: 2_000 }),
    fc.constantFrom('a', '/', 'é', '&', '%'),
  )
  .map(([i, n, ch]) => `http://h${i}.example/${ch.repeat(n)}`);

const linked = fc.record({
  version: fc.constantFrom('v1' as const, 'v2' as const, 'hybrid' as const),
  // A name is one path component: at most 255 UTF-8 bytes (85 three-byte characters).
  name: fc.oneof(fc.constant(''), fc.string({ maxLength: 255 }), fc.constant('é'.repeat(127))),
  trackers: fc.uniqueArray(url, { maxLength: MAX_TRACKERS, size: 'max' }),
  webSeeds: fc.uniqueArray(url, { maxLength: MAX_WEB_SEEDS, size: 'max' }),
  tiers: fc.integer({ min: 1, max: 4 }),
});

describe('the magnet link bitstate info prints (fittedMagnetLink)', () => {
  it('is at most MAX_MAGNET_LENGTH characters and parses back, the first trackers and web seeds kept', () => {
    fc.assert(
      fc.property(linked, ({ version, name, trackers, webSeeds, tiers }) => {
        // The trackers spread over tiers, the first of each tier repeated in the next (kept once).
        const announceList: string[][] = [];
        const per = Math.ceil(trackers.length / tiers);
        for (let i = 0; i < trackers.length; i += per)
          announceList.push(trackers.slice(Math.max(0, i - 1), i + per));
        const fitted = fittedMagnetLink({
          version,
          infoHashHex: V1.toString('hex'),
          infoHashV2: version === 'v1' ? undefined : new Uint8Array(V2),
          name,
          announceList,
          urlList: webSeeds,
        });
        assert.ok(fitted.link.length <= MAX_MAGNET_LENGTH, `${fitted.link.length}`);
        const m = parseMagnet(fitted.link);
        assert.equal(m.version, version);
        assert.equal(m.name, name === '' ? undefined : name);
        assert.equal(m.trackers.length + fitted.trackersLeftOut, trackers.length);
        assert.deepEqual(m.trackers, trackers.slice(0, m.trackers.length));
        assert.equal(m.webSeeds.length + fitted.webSeedsLeftOut, webSeeds.length);
        assert.deepEqual(m.webSeeds, webSeeds.slice(0, m.webSeeds.length));
        // Web seeds only after every tracker that fitted: none kept once a tracker was left out.
        if (fitted.trackersLeftOut > 0) assert.deepEqual(m.webSeeds, []);
      }),
      { numRuns: 60 },
    );
  });
});
