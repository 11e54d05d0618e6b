/**
 * Under `--proxy` nothing goes around the proxy over UDP (docs/proxy.md): a UDP socket in the test
 * is at once the torrent's udp tracker, the DHT router and the `--peer` (whose TCP dial, through a
 * proxy that is down, fails — so uTP would be tried next without a proxy), and another listens to
 * Local Service Discovery's group on 127.0.0.1 (BEP 14, `--lsd-interface 127.0.0.1`) for announces
 * of our torrents. They hear nothing from a download of one torrent, of two (the shared host's
 * socket, DHT node and LSD service) or of a magnet link; without `--proxy` the same download of
 * one torrent reaches both. Two torrents say `proxy.udpOff` once, and each kind of `proxy.failed`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { LSD_GROUP, LSD_PORT, parseLsdAnnounce } from '../../../src/lsd/lsd-message.js';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { runCli } from '../../helpers/run-cli.js';
import { tempDir } from '../../helpers/session.js';
import { getFreePort } from '../../interop/harness/ports.js';

/** A UDP socket on 127.0.0.1 counting the datagrams it gets (closed after the test). */
async function udpSink(t: TestContext): Promise<{ port: number; received: () => number }> {
  let received = 0;
  const s: Socket = createSocket('udp4');
  s.on('message', () => received++);
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => s.close(() => resolve())));
  return { port: s.address().port, received: () => received };
}

/** Announces of `hashes` (hex) heard on LSD's group on 127.0.0.1 (others' are not ours to count). */
async function lsdListener(t: TestContext, hashes: () => readonly string[]): Promise<() => number> {
  let heard = 0;
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  s.on('message', (msg) => {
    try {
      const named = parseLsdAnnounce(msg).infoHashes.map((h) => Buffer.from(h).toString('hex'));
      if (named.some((h) => hashes().includes(h))) heard++;
    } catch {}
  });
  await new Promise<void>((resolve) => s.bind(LSD_PORT, LSD_GROUP, resolve));
  s.addMembership(LSD_GROUP, '127.0.0.1');
  t.after(() => new Promise<void>((resolve) => s.close(() => resolve())));
  return () => heard;
}

/** A port nobody listens on, for the proxy that is down (below the ephemeral range: ports.ts). */
const deadPort = getFreePort;

/** Two small torrents whose only tracker is udp://127.0.0.1:PORT. */
async function torrents(t: TestContext, port: number) {
  const dir = await tempDir(t, 'bitstate-proxy-udp-');
  const data = join(dir, 'data');
  await mkdir(data);
  const paths: string[] = [];
  const hashes: string[] = [];
  for (const name of ['a.bin', 'b.bin']) {
    await writeFile(join(data, name), randomBytes(40_000));
    const bytes = await createTorrent(join(data, name), {
      pieceLength: 16384,
      announce: `udp://127.0.0.1:${port}/announce`,
    });
    paths.push(join(dir, `${name}.torrent`));
    await writeFile(paths.at(-1)!, bytes);
    hashes.push(parseTorrent(bytes).infoHashHex);
  }
  return { dir, paths, hashes };
}

const swarm = (port: number) => [
  '--peer',
  `127.0.0.1:${port}`,
  '--dht-bootstrap',
  `127.0.0.1:${port}`,
  '--lsd-interface',
  '127.0.0.1',
  '--port',
  '0',
  '--json',
  '--timeout',
  '3',
];

describe('--proxy: no UDP around the proxy', { concurrency: true }, () => {
  it('one torrent: nothing reaches the udp tracker, the DHT router or the peer over UDP; without --proxy it does', async (t) => {
    const sink = await udpSink(t);
    const { dir, paths, hashes } = await torrents(t, sink.port);
    const lsdHeard = await lsdListener(t, () => hashes);
    const proxied = await runCli(
      [
        'download',
        paths[0]!,
        '-o',
        join(dir, 'o1'),
        ...swarm(sink.port),
        '--proxy',
        `socks5://127.0.0.1:${await deadPort()}`,
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(proxied.code, 1, proxied.stderr);
    assert.match(proxied.stdout, /"type":"proxy.udpOff"[^\n]*"off":\["utp","dht","lsd","udpTrackers"\]/);
    assert.equal(sink.received(), 0, 'not a datagram');
    assert.equal(lsdHeard(), 0, 'no LSD announce');

    const direct = await runCli(['download', paths[0]!, '-o', join(dir, 'o2'), ...swarm(sink.port)], {
      timeoutMs: 30_000,
    });
    assert.equal(direct.code, 1, direct.stderr);
    assert.ok(sink.received() > 0, 'without a proxy the same download sends datagrams there');
    assert.ok(lsdHeard() > 0, 'and announces itself by LSD');
  });

  it('two torrents (one shared socket and DHT node) and a magnet link: not a datagram', async (t) => {
    const sink = await udpSink(t);
    const { dir, paths, hashes } = await torrents(t, sink.port);
    const lsdHeard = await lsdListener(t, () => hashes);
    const proxy = `socks5://127.0.0.1:${await deadPort()}`;
    const many = await runCli(
      ['download', ...paths, '-o', join(dir, 'many'), ...swarm(sink.port), '--proxy', proxy],
      { timeoutMs: 30_000 },
    );
    assert.equal(many.code, 1, many.stderr);
    // One proxy for the process: said once, for no torrent, and so is each kind of failure (the
    // proxy is down: both torrents' peer dials are proxyUnreachable).
    const lines = (type: string) => many.stdout.split('\n').filter((l) => l.includes(`"type":"${type}"`));
    assert.equal(lines('proxy.udpOff').length, 1, many.stdout);
    assert.match(lines('proxy.udpOff')[0]!, /"off":\["utp","dht","lsd","udpTrackers"\]/);
    assert.doesNotMatch(lines('proxy.udpOff')[0]!, /infoHash/);
    assert.deepEqual(
      lines('proxy.failed').map((l) => (JSON.parse(l) as { code: string }).code),
      ['proxyUnreachable'],
    );
    const magnet = await runCli(
      [
        'download',
        `magnet:?xt=urn:btih:${hashes[0]}&tr=${encodeURIComponent(`udp://127.0.0.1:${sink.port}/announce`)}&x.pe=127.0.0.1:${sink.port}`,
        '-o',
        join(dir, 'magnet'),
        ...swarm(sink.port),
        '--metadata-timeout',
        '3',
        '--proxy',
        proxy,
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(magnet.code, 1, magnet.stderr);
    assert.match(magnet.stdout, /"type":"proxy.udpOff"/);
    assert.equal(sink.received(), 0, 'not a datagram');
    assert.equal(lsdHeard(), 0, 'no LSD announce');
  });
});
