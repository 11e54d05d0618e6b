/**
 * fetchMetadata (BEP 9) over real TCP (and uTP) on 127.0.0.1 against scripted peers (test/helpers/
 * metadata-peer.ts): forged metadata is not accepted, its sender is dropped and another peer's
 * copy is used; a metadata_size over the cap drops the peer; no usable peer ends in a typed
 * timeout. The peers reached and not dropped are the ones given to the download (`dialled`). Every
 * peer is closed by the test.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import { IpRangeSet, ipv4Number } from '../../../src/net/ip-range-set.js';
import type { DhtEvent, MetadataFetchEvent } from '../../../src/session/download-event.js';
import {
  fetchMetadata,
  fetchMetadataAndLayers,
  MetadataFetchError,
} from '../../../src/session/fetch-metadata.js';
import { MAX_METADATA_SIZE } from '../../../src/wire/ut-metadata.js';
import { startMetadataPeer } from '../../helpers/metadata-peer.js';
import { startUtpManager } from '../../helpers/utp-manager.js';

/** A stand-in info dictionary of 30,000 bytes: two metadata pieces, both asked of each peer. */
const INFO = Buffer.concat([
  Buffer.from('d6:pieces29980:'),
  Buffer.alloc(29_980, 7),
  Buffer.from('e'),
]).subarray(0, 30_000);
const INFO_HASH = createHash('sha1').update(INFO).digest();
const magnetFor = (ports: number[]) =>
  parseMagnet(
    `magnet:?xt=urn:btih:${INFO_HASH.toString('hex')}${ports.map((p) => `&x.pe=127.0.0.1:${p}`).join('')}`,
  );
const peerId = new Uint8Array(20).fill(0x42);

describe('fetchMetadata', () => {
  it("does not accept forged metadata: drops its sender and takes another peer's copy", async (t) => {
    const forged = Buffer.from(INFO);
    forged[20_000] = forged[20_000]! ^ 0xff;
    const liar = await startMetadataPeer({ infoHash: INFO_HASH, info: forged });
    const honest = await startMetadataPeer({ infoHash: INFO_HASH, info: INFO, holdHandshake: true });
    t.after(() => Promise.all([liar.close(), honest.close()]));
    // The honest peer offers the metadata only once the liar has been dropped: the liar's copy is
    // assembled wholly from the liar (requests are spread, so an honest peer there earlier would be
    // asked the same pieces and might answer first).
    void liar.firstClosed.then(() => honest.release());
    const events: (MetadataFetchEvent | DhtEvent)[] = [];
    const { info, dialled } = await fetchMetadataAndLayers(magnetFor([liar.port, honest.port]), {
      peerId,
      timeoutMs: 20_000,
      emit: (e) => events.push(e),
    });
    assert.deepEqual(Buffer.from(info), INFO);
    // Both handshook, but only the honest peer is handed to the download to dial first: the liar
    // was dropped.
    assert.deepEqual(
      dialled.map((p) => p.address),
      [`127.0.0.1:${honest.port}`],
    );
    assert.deepEqual(
      events
        .filter((e) => e.type === 'metadata.peerDropped')
        .map((e) => e.type === 'metadata.peerDropped' && e.reason),
      ['badMetadata'],
    );
    assert.deepEqual(liar.requests, [0, 1]);
    assert.deepEqual(
      honest.requests,
      [0, 1],
      'the honest peer gave both pieces after the forged copy failed',
    );
  });

  it('fetches from a peer reachable only over uTP: TCP refused, the dial goes on over uTP (BEP 29)', async (t) => {
    const peer = await startMetadataPeer({ infoHash: INFO_HASH, info: INFO, overUtp: true });
    t.after(() => peer.close());
    const ours = await startUtpManager();
    t.after(() => ours.close());
    const utp = ours.manager;
    const info = await fetchMetadata(magnetFor([peer.port]), {
      peerId,
      timeoutMs: 20_000,
      utp,
      emit: () => {},
    });
    assert.deepEqual(Buffer.from(info), INFO);
    assert.deepEqual(peer.requests, [0, 1]);
    // --utp off: the same peer is never reached.
    await assert.rejects(
      fetchMetadata(magnetFor([peer.port]), { peerId, timeoutMs: 1500, utp, utpMode: 'off', emit: () => {} }),
      (err: unknown) => err instanceof MetadataFetchError && err.code === 'timedOut',
    );
    assert.deepEqual(peer.requests, [0, 1], 'asked nothing more');
  });

  it('a peer named by a host name resolving to a blocked address is a peer.blocked, never reached', async (t) => {
    const peer = await startMetadataPeer({ infoHash: INFO_HASH, info: INFO });
    t.after(() => peer.close());
    const magnet = parseMagnet(
      `magnet:?xt=urn:btih:${INFO_HASH.toString('hex')}&x.pe=localhost:${peer.port}`,
    );
    const events: (MetadataFetchEvent | DhtEvent)[] = [];
    await assert.rejects(
      fetchMetadata(magnet, {
        peerId,
        timeoutMs: 1500,
        blocklist: IpRangeSet.fromRanges([ipv4Number('127.0.0.1')!], [ipv4Number('127.0.0.1')!]),
        emit: (e) => events.push(e),
      }),
      (err: unknown) => err instanceof MetadataFetchError && err.code === 'timedOut',
    );
    const blocked = events.filter((e) => e.type === 'peer.blocked');
    assert.ok(blocked.length > 0, 'a peer.blocked event');
    for (const e of blocked)
      assert.deepEqual(e, {
        type: 'peer.blocked',
        address: `localhost:${peer.port}`,
        source: 'peer',
        blocked: 1,
      });
    assert.deepEqual(peer.requests, []);
  });

  it("announces to no tracker at a blocked address (libtorrent's apply_ip_filter_to_trackers)", async (t) => {
    // Two trackers announced together at each round, one on 127.0.0.2 (blocked), one on 127.0.0.1.
    const requests = new Map<string, number>();
    let onSecond = () => {};
    const second = new Promise<void>((r) => (onSecond = r));
    const trackerOn = async (host: string) => {
      const server = createServer((_req, res) => {
        requests.set(host, (requests.get(host) ?? 0) + 1);
        if (host === '127.0.0.1' && requests.get(host) === 2) onSecond();
        res.end(Buffer.from('d8:intervali1800e5:peers0:e'));
      });
      await new Promise<void>((r) => server.listen(0, host, r));
      t.after(() => new Promise<void>((r) => server.close(() => r())));
      return `http://${host}:${(server.address() as { port: number }).port}/announce`;
    };
    const blocked = await trackerOn('127.0.0.2');
    const allowed = await trackerOn('127.0.0.1');
    const stop = new AbortController();
    const fetching = fetchMetadata(
      parseMagnet(
        `magnet:?xt=urn:btih:${INFO_HASH.toString('hex')}&tr=${encodeURIComponent(blocked)}&tr=${encodeURIComponent(allowed)}`,
      ),
      {
        peerId,
        timeoutMs: 20_000,
        reannounceMs: 100,
        signal: stop.signal,
        blocklist: IpRangeSet.fromRanges([ipv4Number('127.0.0.2')!], [ipv4Number('127.0.0.2')!]),
      },
    );
    // Two rounds announced to the allowed tracker: the blocked one was asked at each, and refused.
    await second;
    stop.abort();
    await assert.rejects(fetching, (e: unknown) => e instanceof MetadataFetchError && e.code === 'stopped');
    assert.equal(requests.get('127.0.0.2') ?? 0, 0, 'the blocked tracker had no request');
  });

  it('drops a peer announcing metadata_size over the cap, and times out with a typed error', async (t) => {
    const big = await startMetadataPeer({
      infoHash: INFO_HASH,
      info: INFO,
      metadataSize: MAX_METADATA_SIZE + 1,
    });
    t.after(() => big.close());
    const events: (MetadataFetchEvent | DhtEvent)[] = [];
    await assert.rejects(
      fetchMetadata(magnetFor([big.port]), { peerId, timeoutMs: 1500, emit: (e) => events.push(e) }),
      (err: unknown) =>
        err instanceof MetadataFetchError &&
        err.code === 'timedOut' &&
        /no peer offered it/.test(err.message),
    );
    assert.deepEqual(
      events
        .filter((e) => e.type === 'metadata.peerDropped')
        .map((e) => e.type === 'metadata.peerDropped' && e.reason),
      ['metadataTooLarge'],
    );
    assert.deepEqual(big.requests, [], 'nothing asked of it');
  });

  it('closes a peer that has no metadata to give, instead of holding its slot', async (t) => {
    const empty = await startMetadataPeer({ infoHash: INFO_HASH, info: INFO, metadataSize: null });
    t.after(() => empty.close());
    const fetching = fetchMetadata(magnetFor([empty.port]), { peerId, timeoutMs: 3000 });
    const first = await Promise.race([
      empty.firstClosed.then(() => 'closed by us'),
      fetching.then(
        () => 'fetch ended',
        () => 'fetch ended',
      ),
    ]);
    assert.equal(first, 'closed by us');
    await assert.rejects(fetching, MetadataFetchError);
  });

  it('closes peers that let a request time out when others wait for their slot', async (t) => {
    const silent = await Promise.all(
      [0, 1].map(() => startMetadataPeer({ infoHash: INFO_HASH, info: INFO, silent: true })),
    );
    const honest = await startMetadataPeer({ infoHash: INFO_HASH, info: INFO });
    t.after(() => Promise.all([...silent, honest].map((p) => p.close())));
    // Two slots, both taken by silent peers: the honest one is dialled only once one is freed.
    const info = await fetchMetadata(magnetFor([...silent.map((p) => p.port), honest.port]), {
      peerId,
      timeoutMs: 8000,
      maxConnections: 2,
      requestTimeoutSeconds: 1,
    });
    assert.deepEqual(Buffer.from(info), INFO);
    await Promise.all(silent.map((p) => p.firstClosed));
  });

  it("announces 'started' once, then no event at each reannounce", async (t) => {
    const events: string[] = [];
    let onSecond = () => {};
    const second = new Promise<void>((r) => (onSecond = r));
    const tracker = createServer((req, res) => {
      events.push(new URL(req.url ?? '/', 'http://x').searchParams.get('event') ?? '(none)');
      if (events.length >= 2) onSecond();
      res.end(Buffer.from('d8:intervali1800e5:peers0:e'));
    });
    await new Promise<void>((r) => tracker.listen(0, '127.0.0.1', r));
    t.after(() => tracker.close());
    const url = `http://127.0.0.1:${(tracker.address() as { port: number }).port}/announce`;
    const stop = new AbortController();
    const fetching = fetchMetadata(
      parseMagnet(`magnet:?xt=urn:btih:${INFO_HASH.toString('hex')}&tr=${encodeURIComponent(url)}`),
      { peerId, timeoutMs: 20_000, reannounceMs: 100, signal: stop.signal },
    );
    await second;
    stop.abort();
    await assert.rejects(fetching, (e: unknown) => e instanceof MetadataFetchError && e.code === 'stopped');
    assert.deepEqual(events.slice(0, 2), ['started', '(none)']);
  });
});
