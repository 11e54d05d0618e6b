/**
 * The case of a magnet link's keys and urns through parseMagnet (fast-check), as libtorrent 2.0.8's
 * parse_magnet_uri reads them: a link with every key written in any mix of case (numbered or not)
 * parses to what the lower-case link does; an `xt` urn `urn:btih:` / `urn:btmh:` in any other case
 * is no info-hash (a link with nothing else is refused, naming `xt`).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseMagnet } from '../../src/metainfo/magnet.js';
import { MetainfoError } from '../../src/metainfo/metainfo-error.js';

const V1 = createHash('sha1').update('case').digest('hex');
const V2 = createHash('sha256').update('case').digest('hex');

/** The parameters of a link, keys lower case: every key parseMagnet reads. */
const PARAMS: readonly (readonly [string, string])[] = [
  ['xt', `urn:btih:${V1}`],
  ['xt', `urn:btmh:1220${V2}`],
  ['dn', 'a+name'],
  ['tr', 'http%3A%2F%2F127.0.0.1%3A6969%2Fannounce'],
  ['tr', 'udp://127.0.0.1:6969'],
  ['x.pe', '127.0.0.1:6881'],
  ['ws', 'http://127.0.0.1:8080/'],
  ['so', '0,2-3'],
];

/** `s` with each letter upper-cased where `upper` says so (cycled). */
function recase(s: string, upper: readonly boolean[]): string {
  return [...s].map((ch, i) => (upper[i % upper.length] ? ch.toUpperCase() : ch)).join('');
}

const link = (params: readonly (readonly [string, string])[]) =>
  `magnet:?${params.map(([k, v]) => `${k}=${v}`).join('&')}`;

describe('magnet link case (libtorrent parse_magnet_uri)', () => {
  it('keys in any case, numbered or not, parse as the lower-case link', () => {
    const lower = parseMagnet(link(PARAMS));
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        fc.array(fc.option(fc.nat({ max: 99 }), { nil: undefined }), {
          minLength: PARAMS.length,
          maxLength: PARAMS.length,
        }),
        (upper, numbers) => {
          const params = PARAMS.map(([k, v], i): [string, string] => [
            recase(k, upper) + (numbers[i] === undefined ? '' : `.${numbers[i]}`),
            v,
          ]);
          assert.deepEqual(parseMagnet(link(params)), lower);
        },
      ),
    );
  });

  it('an xt urn in any case but lower is no info-hash', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(`urn:btih:${V1}`, `urn:btmh:1220${V2}`),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 9 }),
        (value, upper) => {
          const urn = recase(value.slice(0, 9), upper);
          fc.pre(urn !== value.slice(0, 9));
          assert.throws(
            () => parseMagnet(`magnet:?xt=${urn}${value.slice(9)}`),
            (err: unknown) => err instanceof MetainfoError && err.code === 'bad-magnet' && err.field === 'xt',
          );
        },
      ),
    );
  });
});
