/**
 * Properties of the BEP 11 ut_pex codec: every message the encoder writes (IPv4 and IPv6 peers,
 * any flags, up to the send bounds) decodes to itself; any bytes at all decode or end in a
 * WireError('badPexMessage'), never another exception; whatever decodes stays inside the bounds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatIpv6 } from '../../src/net/ban-key.js';
import { decodeUtPex } from '../../src/wire/decode-ut-pex.js';
import { encodeUtPex, MAX_PEX_ACCEPTED, MAX_PEX_SENT, type UtPexMessage } from '../../src/wire/ut-pex.js';
import { WireError } from '../../src/wire/wire-error.js';

const port = fc.integer({ min: 1, max: 65535 });
const v4 = fc
  .tuple(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), port)
  .map(([b, p]) => `${b.join('.')}:${p}`);
// Not IPv4-mapped (::ffff:0:0/96 decodes as the IPv4 peer it is): the first group is never 0.
const v6 = fc
  .tuple(
    fc.integer({ min: 1, max: 0xffff }),
    fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 7, maxLength: 7 }),
    port,
  )
  .map(([first, rest, p]) => ({ g: [first, ...rest], p }));
// RFC 5952, as the decoder writes it.
const v6Address = v6.map(({ g, p }) => `[${formatIpv6(g)}]:${p}`);
const address = fc.oneof(v4, v6Address);
const message: fc.Arbitrary<UtPexMessage> = fc.record({
  added: fc.array(
    fc.tuple(address, fc.integer({ min: 0, max: 255 })).map(([a, flags]) => ({ address: a, flags })),
    { maxLength: MAX_PEX_SENT },
  ),
  dropped: fc.array(address, { maxLength: MAX_PEX_SENT }),
});

/** IPv4 entries first, then IPv6: the order the message's keys give. */
function byFamily<T>(list: readonly T[], addressOf: (t: T) => string): T[] {
  return [
    ...list.filter((t) => !addressOf(t).startsWith('[')),
    ...list.filter((t) => addressOf(t).startsWith('[')),
  ];
}

describe('ut_pex codec', () => {
  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(message, (m) => {
        const back = decodeUtPex(encodeUtPex(m));
        assert.deepEqual(
          back.added,
          byFamily(m.added, (p) => p.address),
        );
        assert.deepEqual(
          back.dropped,
          byFamily(m.dropped, (a) => a),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes decode or throw a WireError, within the bounds', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      // Bencoded-looking input reaches the field rules, not just the dictionary check.
      fc
        .tuple(
          fc.constantFrom('added', 'added.f', 'added6', 'added6.f', 'dropped', 'dropped6', 'x'),
          fc.uint8Array({ maxLength: 2000 }),
        )
        .map(([k, v]) =>
          Uint8Array.from([...new TextEncoder().encode(`d${k.length}:${k}${v.length}:`), ...v, 0x65]),
        ),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        try {
          const m = decodeUtPex(b);
          assert.ok(m.added.length <= MAX_PEX_ACCEPTED && m.dropped.length <= MAX_PEX_ACCEPTED);
          for (const p of m.added) assert.ok(p.flags >= 0 && p.flags <= 255 && !p.address.endsWith(':0'));
        } catch (err) {
          assert.ok(err instanceof WireError, `${(err as Error).name}: ${(err as Error).message}`);
          assert.equal(err.code, 'badPexMessage');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
