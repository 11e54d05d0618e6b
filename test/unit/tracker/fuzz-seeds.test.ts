/**
 * The checked-in tracker answers of test/fixtures/tracker (README.md there says where each came
 * from), each run through its decoder, with the typed outcome its name promises:
 *
 *   <outcome>--<what>.announce   an HTTP announce body: parseAnnounceResponse; `ok`, or the
 *                                TrackerError code (`failure`: the tracker's reason; `badResponse`)
 *   <outcome>--<what>.udp        a BEP 15 datagram from an IPv4 socket: decodeUdpResponse; the
 *   <outcome>--<what>.udp6       action it decodes to (connect, announce, scrape, error), or
 *                                `badResponse`; `.udp6` from an IPv6 socket (18-byte peers)
 *
 * Whatever the outcome, what reaches the torrent stays within our limits: at most
 * MAX_ANNOUNCE_PEERS distinct dialable peers, tracker text cut at MAX_TRACKER_MESSAGE_CHARS. The
 * property tests mutate the seeds too (tracker-answers.property.test.ts). A new limit gets a seed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { AnnounceResponse } from '../../../src/tracker/announce-types.js';
import {
  MAX_TRACKER_MESSAGE_CHARS,
  parseAnnounceResponse,
} from '../../../src/tracker/parse-announce-response.js';
import { MAX_ANNOUNCE_PEERS } from '../../../src/tracker/peer-collector.js';
import { TrackerError } from '../../../src/tracker/tracker-error.js';
import { decodeUdpResponse } from '../../../src/tracker/udp-codec.js';
import { assertWithinLimits, TRACKER_SEEDS, trackerSeeds } from './tracker-seeds.js';

const seeds = trackerSeeds();

/** The check each badResponse seed is named for: its message, so that another check refusing it fails. */
const REFUSED_BY: Record<string, RegExp> = {
  'badResponse--announce-peers-not-whole.udp': /5 bytes of IPv4 peers \(not a multiple of 6\)/,
  'badResponse--connect-too-short.udp': /a connect response of 12 bytes \(16\)/,
  'badResponse--datagram-past-65507.udp': /a datagram over 65,507 bytes/,
  'badResponse--html-page.announce': /not bencode \(bencode: unexpected byte 0x3c at byte 0\)/,
  'badResponse--ipv4-peers-on-ipv6.udp6': /6 bytes of IPv6 peers \(not a multiple of 18\)/,
  'badResponse--negative-interval.announce': /'interval' is not a non-negative integer/,
  'badResponse--no-interval.announce': /no 'interval'/,
  'badResponse--opentracker-not-authorized.udp': /an announce response of 8 bytes \(at least 20\)/,
  'badResponse--peer-not-a-dictionary.announce': /a peer is not a dictionary/,
  'badResponse--peers-not-multiple-of-6.announce': /compact peers of 5 bytes \(not a multiple of 6\)/,
  'badResponse--peers6-not-multiple-of-18.announce': /peers6 of 17 bytes \(not a multiple of 18\)/,
  'badResponse--scrape-not-multiple-of-12.udp': /a scrape response body of 16 bytes \(not a multiple of 12\)/,
  'badResponse--short-datagram.udp': /a datagram of 7 bytes \(at least 8\)/,
  'badResponse--tokens-past-limit.announce': /not bencode \(bencode: more than 50000 values/,
  'badResponse--trailing-bytes.announce': /not bencode \(bencode: 7 trailing bytes after the value/,
  'badResponse--unknown-action.udp': /unknown action 9/,
};

test('there are seeds of every kind, good and hostile', () => {
  for (const kind of ['announce', 'udp', 'udp6'])
    assert.ok(
      seeds.some((s) => s.kind === kind && s.outcome !== 'badResponse'),
      `a good ${kind} seed`,
    );
  assert.ok(seeds.filter((s) => s.outcome === 'badResponse').length >= 10);
  assert.ok(
    seeds.some((s) => s.file.includes('opentracker')),
    'answers captured from opentracker',
  );
});

for (const { file, outcome, kind } of seeds) {
  test(`${file}: ${outcome}`, () => {
    const bytes = new Uint8Array(readFileSync(new URL(file, TRACKER_SEEDS)));
    let result: unknown;
    try {
      result =
        kind === 'announce' ? parseAnnounceResponse(bytes) : decodeUdpResponse(bytes, kind === 'udp' ? 4 : 6);
    } catch (err) {
      assert.ok(err instanceof TrackerError, `not a TrackerError: ${err}`);
      assert.equal(err.code, outcome, err.message);
      if (outcome === 'badResponse') {
        const why = REFUSED_BY[file];
        assert.ok(why !== undefined, `${file}: add the check it is named for to REFUSED_BY`);
        assert.match(err.message, why);
      }
      assert.ok(err.message.length <= MAX_TRACKER_MESSAGE_CHARS + 1, 'the tracker text is cut');
      return;
    }
    if (kind === 'announce') {
      assert.equal(outcome, 'ok');
      assertWithinLimits(result as AnnounceResponse);
      return;
    }
    const udp = result as ReturnType<typeof decodeUdpResponse>;
    assert.equal(udp.action, outcome);
    if (udp.action === 'announce') assertWithinLimits(udp.response);
    if (udp.action === 'error') assert.ok(udp.message.length <= MAX_TRACKER_MESSAGE_CHARS + 1);
  });
}

test('the seeds at the limits hold what their names say', () => {
  const announce = (f: string) =>
    parseAnnounceResponse(new Uint8Array(readFileSync(new URL(f, TRACKER_SEEDS))));
  assert.equal(announce('ok--compact-peers-past-limit.announce').peers.length, MAX_ANNOUNCE_PEERS);
  assert.equal(announce('ok--opentracker-compact.announce').peers.length, 5);
  const largest = readFileSync(new URL('announce--largest-datagram.udp', TRACKER_SEEDS));
  assert.equal(largest.length, 20 + 6 * Math.floor((65_507 - 20) / 6));
  const decoded = decodeUdpResponse(new Uint8Array(largest));
  assert.ok(decoded.action === 'announce' && decoded.response.peers.length === MAX_ANNOUNCE_PEERS);
});
