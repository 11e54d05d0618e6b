/**
 * `bitstate download --proxy` through real proxies on 127.0.0.1 (docs/proxy.md): Debian's microsocks
 * (SOCKS5, RFC 1928, with RFC 1929's user name and password when started with -u/-P) and tinyproxy
 * (HTTP CONNECT). The data comes from a python3-libtorrent seeder named by --peer, the announce goes
 * to opentracker; each proxy's own log names the connections it made for us, so the test sees that
 * both went through it (on loopback the seeder and tracker would see 127.0.0.1 either way). A wrong
 * password is refused and said once; with the proxy down nothing connects around it. A web seed's
 * GETs and a magnet link's metadata connections go through it too.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startWebSeedServer } from '../helpers/web-seed-server.js';
import {
  type BitstateEvent,
  bitstateBin,
  checkSuccessfulDownload,
  runBitstateDownload,
  startBitstateSeeder,
} from './harness/bitstate.js';
import { referenceTorrentInfo } from './harness/info-hash.js';
import {
  type LibtorrentSeeder,
  startLibtorrentDownloader,
  startLibtorrentSeeder,
} from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { type Opentracker, startOpentracker } from './harness/opentracker.js';
import { repoRoot } from './harness/paths.js';
import { compareTrees, writeSingleFilePayload } from './harness/payload.js';
import { getFreePort, LOOPBACK, waitForPort } from './harness/ports.js';
import { type ManagedProcess, startProcess } from './harness/processes.js';

const execFileAsync = promisify(execFile);
/** A self-signed certificate for 127.0.0.1 (test/fixtures/tls/README.md). */
const TLS = join(repoRoot(), 'test', 'fixtures', 'tls');

/** A query value's bytes, %XX-decoded (an info_hash is raw bytes, not UTF-8). */
function unescapeBytes(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++)
    if (s[i] === '%') {
      out.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(s.charCodeAt(i));
  return Buffer.from(out);
}
const MICROSOCKS = '/usr/bin/microsocks';
const TINYPROXY = '/usr/bin/tinyproxy';
const SIZE = 3 * 1024 * 1024 + 4321;
/** Each run's hard bound; a few MiB over loopback take about a second. */
const RUN_MS = 30_000;

interface Proxy {
  readonly port: number;
  readonly process: ManagedProcess;
  /** Every line the proxy has logged so far. */
  readonly lines: string[];
  stop(): Promise<void>;
}

async function startProxy(command: string, args: string[], port: number, name: string): Promise<Proxy> {
  const proc = startProcess(command, args, { name, timeoutMs: 5 * 60_000 });
  const lines: string[] = [];
  proc.onLine((line) => void lines.push(line));
  const proxy = { port, process: proc, lines, stop: async () => void (await proc.stop(2000)) };
  try {
    await waitForPort(port, 10_000);
  } catch (err) {
    await proxy.stop();
    throw err;
  }
  return proxy;
}

function startMicrosocks(port: number, auth?: { user: string; password: string }): Promise<Proxy> {
  const args = ['-i', LOOPBACK, '-p', String(port)];
  if (auth !== undefined) args.push('-u', auth.user, '-P', auth.password);
  return startProxy(MICROSOCKS, args, port, `microsocks :${port}`);
}

/** tinyproxy in the foreground (-d), its config written here: CONNECT only to `connectPorts`. */
async function startTinyproxy(dir: string, port: number, connectPorts: readonly number[]): Promise<Proxy> {
  const conf = join(dir, `tinyproxy-${port}.conf`);
  await writeFile(
    conf,
    [
      `Listen ${LOOPBACK}`,
      `Port ${port}`,
      'Timeout 30',
      'LogLevel Connect',
      'MaxClients 20',
      `Allow ${LOOPBACK}`,
      ...connectPorts.map((p) => `ConnectPort ${p}`),
      '',
    ].join('\n'),
  );
  return startProxy(TINYPROXY, ['-d', '-c', conf], port, `tinyproxy :${port}`);
}

const ofType = (events: readonly BitstateEvent[], type: string) => events.filter((e) => e.type === type);

describe('bitstate download through a proxy', () => {
  let dir = '';
  let torrent = '';
  let source = '';
  let pieceCount = 0;
  let seeder: LibtorrentSeeder | undefined;
  let tracker: Opentracker | undefined;
  const started: { stop(): Promise<unknown> }[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bitstate-proxy-'));
    const seedDir = join(dir, 'seed');
    await mkdir(seedDir);
    const payload = await writeSingleFilePayload({ dir: seedDir, size: SIZE, seed: 31 });
    source = payload.root;
    tracker = await startOpentracker({ timeoutMs: 5 * 60_000 });
    // An http and a udp tracker: under a proxy the first is announced to through it, the second is off.
    torrent = await makeTorrent({
      source,
      out: join(dir, 'proxy.torrent'),
      pieceLength: 64 * 1024,
      announce: [tracker.announceUrl, tracker.udpUrl],
    });
    const info = await referenceTorrentInfo(torrent);
    pieceCount = info.pieceCount;
    await tracker.allow([info.infoHash]);
    seeder = await startLibtorrentSeeder({
      torrent,
      dataDir: seedDir,
      trackerOff: true,
      timeoutMs: 5 * 60_000,
    });
  });

  after(async () => {
    for (const s of started) await s.stop();
    await seeder?.stop();
    await tracker?.stop();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  const download = (name: string, proxyUrl: string, extra: string[] = []) =>
    runBitstateDownload({
      torrent,
      out: join(dir, name),
      peers: [`${LOOPBACK}:${seeder!.port}`],
      stallTimeoutSec: 10,
      timeoutMs: RUN_MS,
      extraArgs: ['--proxy', proxyUrl, ...extra],
    });

  const checkComplete = async (run: Awaited<ReturnType<typeof download>>, name: string) => {
    const problems = await checkSuccessfulDownload(run, {
      source,
      dest: join(dir, name, 'payload.bin'),
      pieceCount,
      totalLength: SIZE,
    });
    assert.deepEqual(problems, [], run.describe());
  };

  it('SOCKS5 (microsocks): the data and the announce go through the proxy; uTP and the udp tracker off, said once', async () => {
    const proxy = await startMicrosocks(await getFreePort());
    started.push(proxy);
    const run = await download('socks5', `socks5://${LOOPBACK}:${proxy.port}`);
    await checkComplete(run, 'socks5');
    const through = (port: number) => proxy.lines.some((l) => l.includes(`connected to ${LOOPBACK}:${port}`));
    assert.ok(through(seeder!.port), `the seeder was reached through the proxy: ${proxy.lines.join(' | ')}`);
    assert.ok(
      through(tracker!.port),
      `the tracker was reached through the proxy: ${proxy.lines.join(' | ')}`,
    );
    const off = ofType(run.events, 'proxy.udpOff');
    assert.equal(off.length, 1, 'said once');
    assert.deepEqual(off[0]!.off, ['utp', 'udpTrackers']);
    const announced = ofType(run.events, 'tracker.announce').map((e) => e.url);
    assert.ok(announced.includes(tracker!.announceUrl), 'the http tracker was announced to');
    assert.ok(!announced.includes(tracker!.udpUrl), 'the udp tracker never was');
    assert.deepEqual(ofType(run.events, 'proxy.failed'), []);

    // `info --scrape --proxy`: the http scrape through the proxy, the udp tracker not asked.
    const before = proxy.lines.filter((l) => l.includes(`connected to ${LOOPBACK}:${tracker!.port}`)).length;
    const info = await execFileAsync(process.execPath, [
      bitstateBin(),
      'info',
      torrent,
      '--json',
      '--scrape',
      '--proxy',
      `socks5://${LOOPBACK}:${proxy.port}`,
    ]);
    const scraped = (
      JSON.parse(info.stdout) as { scrape: { url: string; complete?: number; error?: string }[] }
    ).scrape;
    assert.equal(scraped.find((l) => l.url === tracker!.announceUrl)?.error, undefined, info.stdout);
    assert.match(scraped.find((l) => l.url === tracker!.udpUrl)?.error ?? '', /through the proxy/);
    const afterScrape = proxy.lines.filter((l) =>
      l.includes(`connected to ${LOOPBACK}:${tracker!.port}`),
    ).length;
    assert.equal(afterScrape, before + 1, 'the scrape went through the proxy');
  });

  it('MSE inside the tunnel: a libtorrent seeder that takes only RC4-encrypted connections, --encryption required', async () => {
    const proxy = await startMicrosocks(await getFreePort());
    started.push(proxy);
    const rc4 = await startLibtorrentSeeder({
      torrent,
      dataDir: join(dir, 'seed'),
      trackerOff: true,
      encrypt: 'rc4',
      timeoutMs: 5 * 60_000,
    });
    started.push(rc4);
    const run = await runBitstateDownload({
      torrent,
      out: join(dir, 'mse'),
      peers: [`${LOOPBACK}:${rc4.port}`],
      noTracker: true,
      stallTimeoutSec: 10,
      timeoutMs: RUN_MS,
      extraArgs: ['--proxy', `socks5://${LOOPBACK}:${proxy.port}`, '--encryption', 'required'],
    });
    await checkComplete(run, 'mse');
    assert.deepEqual(
      ofType(run.events, 'peer.connected').map((e) => e.encryption),
      ['rc4'],
      'one connection, RC4 both ways',
    );
    assert.ok(
      proxy.lines.some((l) => l.includes(`connected to ${LOOPBACK}:${rc4.port}`)),
      `through the proxy: ${proxy.lines.join(' | ')}`,
    );
  });

  it('SOCKS5 with a user name and password (RFC 1929): socks5h with the right one works, a wrong one is refused and said once', async () => {
    const auth = { user: 'alice', password: 's3cret' };
    const proxy = await startMicrosocks(await getFreePort(), auth);
    started.push(proxy);
    const good = await download(
      'socks5-auth',
      `socks5h://${auth.user}:${auth.password}@${LOOPBACK}:${proxy.port}`,
    );
    await checkComplete(good, 'socks5-auth');
    const before = proxy.lines.length;
    const bad = await download('socks5-wrong', `socks5://${auth.user}:wrong@${LOOPBACK}:${proxy.port}`, [
      '--timeout',
      '3',
    ]);
    assert.equal(bad.exit.code, 1, bad.describe());
    const failed = ofType(bad.events, 'proxy.failed');
    assert.equal(failed.length, 1, `the refusal said once: ${bad.describe()}`);
    assert.equal(failed[0]!.code, 'proxyAuth');
    assert.deepEqual(ofType(bad.events, 'peer.connected'), []);
    assert.ok(
      !proxy.lines.slice(before).some((l) => l.includes('connected to')),
      `the proxy connected nothing for the wrong password: ${proxy.lines.slice(before).join(' | ')}`,
    );
    assert.equal(ofType(bad.events, 'stopped').length, 1, 'the usual stall stop');
  });

  it('HTTP CONNECT (tinyproxy): the data and the announce go through the proxy', async () => {
    const port = await getFreePort();
    const proxy = await startTinyproxy(dir, port, [seeder!.port, tracker!.port]);
    started.push(proxy);
    const run = await download('http', `http://${LOOPBACK}:${port}`);
    await checkComplete(run, 'http');
    const asked = (p: number) => proxy.lines.some((l) => l.includes(`CONNECT ${LOOPBACK}:${p} HTTP/1.1`));
    assert.ok(asked(seeder!.port), `the seeder was reached through the proxy: ${proxy.lines.join(' | ')}`);
    assert.ok(asked(tracker!.port), `the tracker was reached through the proxy: ${proxy.lines.join(' | ')}`);
  });

  it('a web seed (BEP 19) and a magnet link (BEP 9 metadata, then the data) through the proxy', async (t) => {
    const proxy = await startMicrosocks(await getFreePort());
    started.push(proxy);
    const via = `socks5://${LOOPBACK}:${proxy.port}`;
    // A web seed only: no peer, no tracker.
    const server = await startWebSeedServer(t, join(dir, 'seed'));
    const wsTorrent = join(dir, 'web-seed.torrent');
    const made = await execFileAsync(process.execPath, [
      bitstateBin(),
      'create',
      source,
      '-w',
      `${server.url}/payload.bin`,
      '-o',
      wsTorrent,
    ]);
    assert.match(made.stderr + made.stdout, /wrote/);
    const web = await runBitstateDownload({
      torrent: wsTorrent,
      out: join(dir, 'web-seed'),
      noTracker: true,
      stallTimeoutSec: 10,
      timeoutMs: RUN_MS,
      extraArgs: ['--proxy', via],
    });
    assert.equal(web.exit.code, 0, web.describe());
    assert.ok((await compareTrees(source, join(dir, 'web-seed', 'payload.bin'))).equal, 'the same bytes');
    assert.ok(server.requests.length > 0, 'the web seed served the data');
    assert.ok(
      proxy.lines.some((l) => l.includes(`connected to ${LOOPBACK}:${server.port}`)),
      `the web seed was reached through the proxy: ${proxy.lines.join(' | ')}`,
    );

    // A magnet link naming the seeder (x.pe): its metadata and then its data, both through the proxy.
    const info = await referenceTorrentInfo(torrent);
    const before = proxy.lines.length;
    const magnet = await runBitstateDownload({
      torrent: `magnet:?xt=urn:btih:${info.infoHash}&x.pe=${LOOPBACK}:${seeder!.port}`,
      out: join(dir, 'magnet'),
      noTracker: true,
      stallTimeoutSec: 10,
      timeoutMs: RUN_MS,
      extraArgs: ['--proxy', via],
    });
    assert.equal(magnet.exit.code, 0, magnet.describe());
    assert.ok((await compareTrees(source, join(dir, 'magnet', 'payload.bin'))).equal, 'the same bytes');
    const toSeeder = proxy.lines
      .slice(before)
      .filter((l) => l.includes(`connected to ${LOOPBACK}:${seeder!.port}`));
    assert.ok(
      toSeeder.length >= 2,
      `the metadata and the data connections went through the proxy: ${toSeeder.join(' | ')}`,
    );
    assert.equal(
      ofType(magnet.events, 'proxy.udpOff').length,
      1,
      'said once, by the fetch, not again by the download',
    );
  });

  it('bitstate seed --proxy dials its --peer through the proxy: a libtorrent downloader that dials no one completes', async () => {
    const proxy = await startMicrosocks(await getFreePort());
    started.push(proxy);
    const lt = await startLibtorrentDownloader({ torrent, outDir: join(dir, 'lt-down'), timeoutMs: 60_000 });
    started.push(lt);
    const seed = await startBitstateSeeder(torrent, join(dir, 'seed'), [
      '--no-tracker',
      '--peer',
      `${LOOPBACK}:${lt.port}`,
      '--proxy',
      `socks5://${LOOPBACK}:${proxy.port}`,
    ]);
    started.push({ stop: () => seed.process.stop() });
    await lt.process.waitForLine(/"event": "done"/, RUN_MS);
    assert.ok((await compareTrees(source, join(dir, 'lt-down', 'payload.bin'))).equal, 'the same bytes');
    assert.ok(
      proxy.lines.some((l) => l.includes(`connected to ${LOOPBACK}:${lt.port}`)),
      `the downloader was reached through the proxy: ${proxy.lines.join(' | ')}`,
    );
  });

  it('an https tracker through the proxy: TLS inside the tunnel, its certificate checked as for a direct request', async () => {
    const proxy = await startMicrosocks(await getFreePort());
    started.push(proxy);
    // A scrape answer for whatever info-hash is asked: one seeder.
    const server = createHttpsServer(
      {
        key: await readFile(join(TLS, 'localhost-key.pem')),
        cert: await readFile(join(TLS, 'localhost-cert.pem')),
      },
      (req, res) => {
        const raw = unescapeBytes(/info_hash=([^&]*)/.exec(req.url ?? '')?.[1] ?? '');
        res.end(
          Buffer.concat([
            Buffer.from('d5:filesd20:'),
            raw,
            Buffer.from('d8:completei1e10:downloadedi0e10:incompletei0eeee'),
          ]),
        );
      },
    );
    await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
    started.push({ stop: () => new Promise<void>((resolve) => server.close(() => resolve())) });
    const port = (server.address() as { port: number }).port;
    const httpsTorrent = join(dir, 'https.torrent');
    await execFileAsync(process.execPath, [
      bitstateBin(),
      'create',
      source,
      '-a',
      `https://${LOOPBACK}:${port}/announce`,
      '-o',
      httpsTorrent,
    ]);
    const scrapeVia = async (env: NodeJS.ProcessEnv) => {
      const r = await execFileAsync(
        process.execPath,
        [
          bitstateBin(),
          'info',
          httpsTorrent,
          '--json',
          '--scrape',
          '--proxy',
          `socks5://${LOOPBACK}:${proxy.port}`,
        ],
        { env },
      );
      return (JSON.parse(r.stdout) as { scrape: { complete?: number; error?: string }[] }).scrape[0]!;
    };
    const { NODE_EXTRA_CA_CERTS: _, ...env } = process.env;
    // Our certificate is trusted only when the child is told of it: otherwise TLS refuses it.
    const untrusted = await scrapeVia(env);
    assert.match(untrusted.error ?? '', /self[- ]signed certificate/, JSON.stringify(untrusted));
    const trusted = await scrapeVia({ ...env, NODE_EXTRA_CA_CERTS: join(TLS, 'localhost-cert.pem') });
    assert.equal(trusted.complete, 1, JSON.stringify(trusted));
    const through = proxy.lines.filter((l) => l.includes(`connected to ${LOOPBACK}:${port}`));
    assert.equal(through.length, 2, `both scrapes went through the proxy: ${proxy.lines.join(' | ')}`);
  });

  it('with the proxy down nothing connects around it: every dial fails, said once, the usual stall', async () => {
    // A listening socket standing in for a peer, counting who connects to it.
    let accepted = 0;
    const peer: Server = createServer((s) => {
      accepted++;
      s.destroy();
    });
    await new Promise<void>((resolve) => peer.listen(0, LOOPBACK, resolve));
    started.push({ stop: () => new Promise<void>((resolve) => peer.close(() => resolve())) });
    const peerPort = (peer.address() as { port: number }).port;
    const downPort = await getFreePort();
    const run = await runBitstateDownload({
      torrent,
      out: join(dir, 'down'),
      peers: [`${LOOPBACK}:${peerPort}`, `${LOOPBACK}:${seeder!.port}`],
      stallTimeoutSec: 3,
      timeoutMs: RUN_MS,
      extraArgs: ['--proxy', `socks5://${LOOPBACK}:${downPort}`],
    });
    assert.equal(run.exit.code, 1, run.describe());
    assert.equal(accepted, 0, 'no connection went around the proxy');
    assert.deepEqual(ofType(run.events, 'peer.connected'), [], 'nor to the seeder');
    const failed = ofType(run.events, 'proxy.failed');
    assert.deepEqual(
      failed.map((e) => e.code),
      ['proxyUnreachable'],
      `said once: ${run.describe()}`,
    );
    const announces = ofType(run.events, 'tracker.announce');
    assert.ok(
      announces.length > 0 && announces.every((e) => e.ok === false),
      'the announce failed too, never sent directly',
    );
  });
});
