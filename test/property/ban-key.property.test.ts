/**
 * Properties of the host ban key (src/net/ban-key.ts), against generated addresses: every legal
 * spelling of an IPv6 address (leading zeros, case, `::` over any zero run, a dotted IPv4 tail, a
 * zone id) parses to the same groups and has the same key; our text is the WHATWG URL parser's
 * (RFC 5952); on random and nearly valid strings we accept exactly what that parser accepts; an
 * IPv4-mapped address is its IPv4 address; a global address's key is its /64 and nothing else.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { banKey, formatIpv6, hostBanKey, parseIpv6 } from '../../src/net/ban-key.js';

const group = fc.integer({ min: 0, max: 0xffff });
/** Zero-heavy, so `::` runs of every length (and ties) come up often. */
const groups = fc.array(fc.oneof(group, fc.constant(0), fc.constant(0)), { minLength: 8, maxLength: 8 });

/** The WHATWG URL parser's text for an IPv6 literal, or undefined when it refuses it. */
function whatwg(s: string): string | undefined {
  try {
    return new URL(`http://[${s}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

const zoneId = fc.option(fc.stringMatching(/^[a-z0-9]{1,6}$/), { nil: undefined });

/** One legal spelling of `g` (RFC 4291 section 2.2, RFC 4007 zones). */
const spelling = (g: readonly number[]) =>
  fc
    .record({
      pad: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
      upper: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      compress: fc.integer({ min: 0, max: 8 }),
      dotted: fc.boolean(),
      zone: zoneId,
    })
    .map(({ pad, upper, compress, dotted, zone }) => {
      const parts = g.map((x, i) => {
        const hex = x.toString(16).padStart(Math.min(4, x.toString(16).length + pad[i]!), '0');
        return upper[i] ? hex.toUpperCase() : hex;
      });
      // The last two groups as a dotted quad.
      const tail = dotted ? [`${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`] : [];
      const head = dotted ? parts.slice(0, 6) : parts;
      // `::` over the zero run starting at the compress-th zero group, when there is one.
      const zeros = head.flatMap((_, i) => (g[i] === 0 ? [i] : []));
      const start = zeros[compress % Math.max(1, zeros.length)];
      let text: string;
      if (start === undefined || compress === 0) text = [...head, ...tail].join(':');
      else {
        let end = start;
        while (end < head.length && g[end] === 0) end++;
        const left = head.slice(0, start).join(':');
        const right = [...head.slice(end), ...tail].join(':');
        text = `${left}::${right}`;
      }
      return zone === undefined ? text : `${text}%${zone}`;
    });

const address = groups.chain((g) => spelling(g).map((text) => ({ g, text })));

test('every spelling of an address parses to its groups, and has one ban key', () => {
  fc.assert(
    fc.property(address, ({ g, text }) => {
      assert.deepEqual(parseIpv6(text), g);
      assert.equal(hostBanKey(text), hostBanKey(formatIpv6(g)));
      assert.equal(banKey(`[${text}]:6881`), hostBanKey(text));
    }),
    { numRuns: 2000 },
  );
});

test('formatIpv6 writes what the WHATWG URL parser writes (RFC 5952)', () => {
  fc.assert(
    fc.property(groups, (g) => {
      assert.equal(formatIpv6(g), whatwg(g.map((x) => x.toString(16)).join(':')));
    }),
    { numRuns: 2000 },
  );
});

test('on random and nearly valid strings, parseIpv6 accepts exactly what the WHATWG URL parser accepts', () => {
  const random = fc.stringMatching(/^[0-9a-fA-F:.]{0,24}$/);
  // A valid spelling (no zone: URLs have none) with one character inserted, deleted or replaced.
  const near = fc
    .tuple(
      address.filter(({ text }) => !text.includes('%')),
      fc.nat(),
      fc.constantFrom(':', '.', '0', 'f', '1', '9', ''),
      fc.boolean(),
    )
    .map(([{ text }, at, c, remove]) => {
      const i = at % (text.length + 1);
      return text.slice(0, i) + c + text.slice(remove ? i + 1 : i);
    });
  fc.assert(
    fc.property(fc.oneof(random, near), (s) => {
      const ours = parseIpv6(s);
      assert.equal(ours === undefined ? undefined : formatIpv6(ours), whatwg(s), s);
    }),
    { numRuns: 5000 },
  );
});

test('an IPv4-mapped address, however written, is banned as its IPv4 address', () => {
  const ipv4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
  fc.assert(
    fc.property(
      ipv4.chain((q) =>
        spelling([0, 0, 0, 0, 0, 0xffff, (q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!]).map((text) => ({
          q,
          text,
        })),
      ),
      ({ q, text }) => {
        assert.equal(banKey(`[${text}]:50000`), banKey(`${q.join('.')}:6881`));
      },
    ),
    { numRuns: 1000 },
  );
});

test('a global unicast address is banned by its /64: any interface id, never another /64', () => {
  // 2000::/3 but Teredo's 2001:0::/32 (banned by whole address).
  const prefix = fc
    .tuple(fc.integer({ min: 0x2000, max: 0x3fff }), group, group, group)
    .filter(([a, b]) => !(a === 0x2001 && b === 0));
  fc.assert(
    fc.property(prefix, prefix, groups, groups, (p, q, low1, low2) => {
      const a = [...p, ...low1.slice(4)];
      const b = [...p, ...low2.slice(4)];
      const c = [...q, ...low1.slice(4)];
      assert.equal(hostBanKey(formatIpv6(a)), hostBanKey(formatIpv6(b)));
      assert.equal(hostBanKey(formatIpv6(a)), `${formatIpv6([...p, 0, 0, 0, 0])}/64`);
      assert.equal(
        hostBanKey(formatIpv6(a)) === hostBanKey(formatIpv6(c)),
        p.every((x, i) => x === q[i]),
      );
    }),
    { numRuns: 2000 },
  );
});
