/**
 * Our tracker clients against Debian's opentracker on 127.0.0.1, which serves HTTP and UDP
 * (BEP 15) on one port (issue #6): a UDP announce registers us and a second peer sees us; UDP and
 * HTTP scrape count us; a stopped announce takes us out; a torrent opentracker does not serve gets
 * a typed error at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AnnounceParams } from '../../src/tracker/announce-types.js';
import { scrape } from '../../src/tracker/scrape.js';
import { TrackerError } from '../../src/tracker/tracker-error.js';
import { UdpTrackerClient } from '../../src/tracker/udp-tracker.js';
import { type Opentracker, startOpentracker } from './harness/opentracker.js';

const HASH = Buffer.alloc(20, 0x5a);
const FAST = { retryBaseMs: 200, maxRetries: 3 };
const params = (
  peerId: number,
  port: number,
  left: number,
  event: AnnounceParams['event'],
): AnnounceParams => ({
  infoHash: HASH,
  peerId: Buffer.alloc(20, peerId),
  port,
  uploaded: 0,
  downloaded: 0,
  left,
  event,
});

let tracker: Opentracker;
before(async () => {
  tracker = await startOpentracker({ infoHashes: [HASH.toString('hex')], timeoutMs: 60_000 });
});
after(async () => {
  await tracker?.stop();
});

describe('UDP tracker client against opentracker', () => {
  it('announce, scrape (UDP and HTTP), stopped', async () => {
    const client = new UdpTrackerClient();
    const seeder = await client.announce(tracker.udpUrl, params(0x41, 7001, 0, 'started'), FAST);
    assert.equal(seeder.complete, 1, 'we are the one seeder');
    assert.ok(seeder.interval > 0);
    const leecher = await client.announce(tracker.udpUrl, params(0x42, 7002, 1000, 'started'), FAST);
    assert.deepEqual(
      leecher.peers.find((p) => p.port === 7001),
      { host: '127.0.0.1', port: 7001 },
      'the second peer is told about our registration',
    );
    assert.deepEqual([leecher.complete, leecher.incomplete], [1, 1]);

    const [overUdp] = await scrape(tracker.udpUrl, [HASH], { udp: FAST, timeoutMs: 5000 });
    const [overHttp] = await scrape(tracker.announceUrl, [HASH], { timeoutMs: 5000 });
    assert.deepEqual(overUdp, { complete: 1, incomplete: 1, downloaded: 0 });
    assert.deepEqual(overHttp, overUdp, 'HTTP and UDP scrape agree');

    await client.announce(tracker.udpUrl, params(0x41, 7001, 0, 'stopped'), FAST);
    const [afterStop] = await scrape(tracker.udpUrl, [HASH], { udp: FAST, timeoutMs: 5000 });
    assert.equal(afterStop?.complete, 0, 'stopped took the seeder out');
  });

  // Measured: Debian's opentracker answers a hash outside its whitelist over UDP with a bare 8-byte
  // announce header (no interval, no counts), not with the error action.
  it("a torrent opentracker does not serve: its bare 8-byte answer is TrackerError 'badResponse' at once", async () => {
    const other = { ...params(0x43, 7003, 1, 'started'), infoHash: Buffer.alloc(20, 0x11) };
    await assert.rejects(
      new UdpTrackerClient().announce(tracker.udpUrl, other, FAST),
      (e: unknown) => e instanceof TrackerError && e.code === 'badResponse',
    );
  });
});
