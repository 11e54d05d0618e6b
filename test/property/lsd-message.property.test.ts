/**
 * Properties of BEP 14's announce: every announce the formatter writes (any port, 1..64 distinct
 * non-zero info-hashes, a cookie or none) parses to itself; any bytes at all — random, or an
 * announce cut, grown or with bytes changed — parse or end in an LsdError, never another exception,
 * and whatever parses stays inside the bounds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LsdError } from '../../src/lsd/lsd-error.js';
import {
  formatLsdAnnounce,
  MAX_LSD_INFOHASHES,
  MAX_LSD_MESSAGE_BYTES,
  parseLsdAnnounce,
} from '../../src/lsd/lsd-message.js';

const hex = (h: Uint8Array) => Buffer.from(h).toString('hex');
const infoHash = fc.uint8Array({ minLength: 20, maxLength: 20 }).filter((h) => h.some((b) => b !== 0));
const infoHashes = fc.uniqueArray(infoHash, { minLength: 1, maxLength: MAX_LSD_INFOHASHES, selector: hex });
const cookie = fc.option(fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/), { nil: undefined });
const announce = fc.record({ port: fc.integer({ min: 1, max: 65535 }), infoHashes, cookie });

/** Parses, or throws an LsdError; anything else fails the property. */
function parseOrLsdError(bytes: Uint8Array): ReturnType<typeof parseLsdAnnounce> | undefined {
  try {
    const a = parseLsdAnnounce(bytes);
    assert.ok(a.port >= 1 && a.port <= 65535);
    assert.ok(a.infoHashes.length >= 1 && a.infoHashes.length <= MAX_LSD_INFOHASHES);
    for (const h of a.infoHashes) assert.equal(h.length, 20);
    assert.equal(new Set(a.infoHashes.map(hex)).size, a.infoHashes.length);
    return a;
  } catch (err) {
    if (!(err instanceof LsdError)) throw err;
    return undefined;
  }
}

describe('BEP 14 announce codec', () => {
  it('parses every announce it writes to the same port, info-hashes and cookie', () => {
    fc.assert(
      fc.property(announce, (a) => {
        const back = parseLsdAnnounce(formatLsdAnnounce(a));
        assert.equal(back.port, a.port);
        assert.deepEqual(back.infoHashes.map(hex), a.infoHashes.map(hex));
        assert.equal(back.cookie, a.cookie);
      }),
    );
  });

  it('never throws anything but an LsdError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: MAX_LSD_MESSAGE_BYTES + 64 }), (bytes) => {
        parseOrLsdError(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but an LsdError on an announce cut, grown or with bytes changed', () => {
    fc.assert(
      fc.property(
        announce,
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.uint8Array({ maxLength: 256 }),
        (a, cut, changes, tail) => {
          const whole = formatLsdAnnounce(a);
          const bytes = new Uint8Array([...whole.subarray(0, cut % (whole.length + 1)), ...tail]);
          for (const [at, b] of changes) if (bytes.length > 0) bytes[at % bytes.length] = b;
          parseOrLsdError(bytes);
        },
      ),
      { numRuns: 500 },
    );
  });
});
