/**
 * `bitstate download` run as a user runs it — the built CLI (`bin/bitstate.js` → dist/, made by
 * `npm run build`; `npm test` builds first) in a child process: bad input is one line on stderr
 * with exit 2 and no stack trace; a download with no reachable peer gives up with exit 1 within
 * its --timeout; --help exits 0. 127.0.0.1 only; every child is killed after a hard bound.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withDhtOff } from '../../helpers/dht-off.js';
import { getFreePort } from '../../interop/harness/ports.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'bitstate.js');
const SEEDS = join(ROOT, 'test', 'fixtures', 'torrents');

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function bitstate(args: readonly string[], timeoutMs = 60_000): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...withDhtOff(args)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BITSTATE_DEBUG: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Exit `code`, nothing on stdout, exactly one line on stderr naming the command, no stack trace. */
function assertOneLineError(r: Run, code: number, pattern?: RegExp): void {
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(r.code, code, `exit ${code} expected, got ${r.code}; stderr: ${r.stderr}`);
  assert.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(r.stderr)}`);
  assert.equal(r.stdout, '', 'nothing on stdout');
  assert.ok(lines[0]!.startsWith('bitstate download: '), lines[0]);
  assert.doesNotMatch(r.stderr, /\n\s+at |Error: .*\n.*at /, 'no stack trace');
  if (pattern !== undefined) assert.match(lines[0]!, pattern);
}

/**
 * A port on 127.0.0.1 nobody listens on. Below the ephemeral range: there no outgoing connection can
 * come to hold it, nor can the CLI's dial to it get its own port as source (a TCP self-connect).
 */
const deadPort = getFreePort;

let dir = '';
let torrent = '';
/** One 16 MiB file: big enough to be preallocated (PREALLOCATE_MIN_BYTES). */
let bigTorrent = '';
before(async () => {
  assert.ok(
    existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js')),
    'bitstate is not built: run `npm run build`',
  );
  dir = await mkdtemp(join(tmpdir(), 'bitstate-dl-cli-'));
  await mkdir(join(dir, 'payload', 'sub'), { recursive: true });
  await writeFile(join(dir, 'payload', 'a.bin'), Buffer.alloc(100_000, 7));
  await writeFile(join(dir, 'payload', 'sub', 'b.bin'), Buffer.alloc(50_001, 9));
  await writeFile(join(dir, 'garbage.torrent'), 'this is not bencode');
  torrent = join(dir, 'payload.torrent');
  const made = await bitstate([
    'create',
    join(dir, 'payload'),
    '--announce',
    'http://127.0.0.1:9/announce',
    '--piece-length',
    '32K',
    '-o',
    torrent,
  ]);
  assert.equal(made.code, 0, made.stderr);
  await mkdir(join(dir, 'big'));
  await writeFile(join(dir, 'big', 'big.bin'), Buffer.alloc(16 << 20, 5));
  bigTorrent = join(dir, 'big.torrent');
  const madeBig = await bitstate([
    'create',
    join(dir, 'big', 'big.bin'),
    '--announce',
    'http://127.0.0.1:9/announce',
    '-o',
    bigTorrent,
  ]);
  assert.equal(madeBig.code, 0, madeBig.stderr);
});
after(() => (dir === '' ? undefined : rm(dir, { recursive: true, force: true })));

describe('bitstate download (the built CLI)', { concurrency: true }, () => {
  it('a malformed torrent: one line, exit 2, no stack trace', async () => {
    const out = join(dir, 'out-garbage');
    assertOneLineError(
      await bitstate(['download', join(dir, 'garbage.torrent'), '-o', out, '--no-tracker']),
      2,
    );
    assertOneLineError(
      await bitstate(['download', join(SEEDS, 'unsafe-path--dotdot.torrent'), '-o', out, '--no-tracker']),
      2,
      /path/,
    );
    assert.equal(existsSync(out), false, 'nothing written for a torrent that was refused');
  });

  it('a torrent file that does not exist: one line, exit 2', async () => {
    const r = await bitstate(['download', join(dir, 'no-such.torrent'), '--no-tracker']);
    assertOneLineError(r, 2, /no-such\.torrent/);
  });

  it('usage errors: unknown flag, two torrents, bad numbers: exit 2', async () => {
    assertOneLineError(await bitstate(['download', torrent, '--frobnicate']), 2);
    assertOneLineError(await bitstate(['download', torrent, torrent]), 2);
    assertOneLineError(await bitstate(['download', torrent, '--timeout', 'soon']), 2);
    assertOneLineError(await bitstate(['download', torrent, '--port', '70000']), 2);
    assertOneLineError(await bitstate(['download', torrent, '--max-peers', '0']), 2);
    assertOneLineError(await bitstate(['download', torrent, '--write-mode', 'fast']), 2, /--write-mode/);
    assertOneLineError(
      await bitstate(['download', torrent, '--encryption', 'rc4']),
      2,
      /--encryption wants one of/,
    );
    assertOneLineError(
      await bitstate(['download', torrent, '--utp', 'only']),
      2,
      /--utp wants one of off, on, prefer, got "only"/,
    );
    // A bad DHT router, or one named with the DHT off: one line, exit 2, before any socket.
    assertOneLineError(await bitstate(['download', torrent, '--dht-bootstrap', 'nowhere']), 2, /HOST:PORT/);
    assertOneLineError(await bitstate(['download', torrent, '--dht-bootstrap', '127.0.0.1:0']), 2, /port/);
    assertOneLineError(
      await bitstate(['download', torrent, '--no-dht', '--dht-bootstrap', '127.0.0.1:6881']),
      2,
      /--dht-bootstrap/,
    );
  });

  it('--proxy with a URL we cannot use: one line, exit 2, before any socket', async () => {
    for (const bad of [
      '127.0.0.1:1080',
      'socks://127.0.0.1:1080',
      'https://127.0.0.1:3128',
      'socks5://u@127.0.0.1:1',
    ]) {
      const out = join(dir, 'out-proxy');
      assertOneLineError(await bitstate(['download', torrent, '-o', out, '--proxy', bad]), 2, /--proxy: /);
      assert.equal(existsSync(out), false, 'nothing written');
    }
  });

  it('--peer with a bad address: exit 2', async () => {
    for (const bad of [
      'localhost',
      '127.0.0.1:',
      '127.0.0.1:0',
      '127.0.0.1:65536',
      '127.0.0.1:http',
      ':6881',
    ]) {
      const r = await bitstate([
        'download',
        torrent,
        '--no-tracker',
        '-o',
        join(dir, 'out-bad'),
        '--peer',
        bad,
      ]);
      assertOneLineError(r, 2);
    }
  });

  it('a malformed magnet link, or flags that need a torrent: one line, exit 2', async () => {
    const out = join(dir, 'out-magnet-bad');
    for (const bad of [
      'magnet:?dn=nohash',
      'magnet:?xt=urn:btih:1234',
      `magnet:?xt=urn:btih:${'a'.repeat(40)}&x.pe=127.0.0.1:0`,
      `magnet:?xt=urn:btih:${'a'.repeat(40)}&tr=%E0%A4%A`,
    ])
      assertOneLineError(await bitstate(['download', bad, '-o', out, '--no-tracker']), 2, /magnet/);
    const ok = `magnet:?xt=urn:btih:${'a'.repeat(40)}`;
    assertOneLineError(await bitstate(['download', ok, '-o', out, '--select', '0-x']), 2, /--select/);
    assertOneLineError(await bitstate(['download', torrent, '--metadata-timeout', '5']), 2, /magnet/);
    assertOneLineError(await bitstate(['download', ok, '--metadata-timeout', 'soon']), 2);
    assert.equal(existsSync(out), false, 'nothing written for a magnet that was refused');
  });

  it('a magnet whose peer never offers the metadata, --metadata-timeout 2: exit 1, one line', async () => {
    const port = await deadPort();
    const magnet = `magnet:?xt=urn:btih:${'b'.repeat(40)}&x.pe=127.0.0.1:${port}`;
    const args = ['download', magnet, '-o', join(dir, 'out-magnet-dead'), '--port', '0', '--no-tracker'];
    const r = await bitstate([...args, '--metadata-timeout', '2', '--quiet'], 60_000);
    assertOneLineError(r, 1, /no metadata for b{40} within 2 s/);
    const j = await bitstate([...args, '--metadata-timeout', '2', '--json'], 60_000);
    assertOneLineError({ ...j, stdout: '' }, 1);
    const events = j.stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as { type: string });
    assert.equal(events[0]?.type, 'metadata.fetching');
    assert.equal(events.at(-1)?.type, 'stopped');
  });

  it('trackers that accept and never reply do not hold the exit after --metadata-timeout', async (t) => {
    // An HTTP tracker that accepts the connection and never answers, and a UDP one that never
    // answers: their announces are aborted when the fetch ends, not left to their 15 s timeout.
    const sockets = new Set<import('node:net').Socket>();
    const http = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    t.after(() => {
      for (const s of sockets) s.destroy();
      http.close();
      udp.close();
    });
    const httpUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}/announce`;
    const udpUrl = `udp://127.0.0.1:${udp.address().port}`;
    const magnet = `magnet:?xt=urn:btih:${'c'.repeat(40)}&tr=${encodeURIComponent(httpUrl)}&tr=${encodeURIComponent(udpUrl)}`;
    const args = ['download', magnet, '-o', join(dir, 'out-magnet-hang'), '--port', '0'];
    // Bounded at 10 s (killed then, exit code null): before, the exit waited for the announces.
    const r = await bitstate([...args, '--metadata-timeout', '2', '--quiet'], 60_000);
    assertOneLineError(r, 1, /no metadata for c{40} within 2 s/);
    assert.ok(sockets.size >= 1, 'the HTTP tracker was asked');
  });

  it("a peer nobody listens on, --timeout 2: exit 1, one line giving the stall rule's reason", async () => {
    const port = await deadPort();
    const args = ['download', torrent, '-o', join(dir, 'out-dead'), '--port', '0', '--no-tracker'];
    // Ended by the stall rule, which fires only once 2 s have passed without a byte (stop-rules.ts):
    // not at the failed dial, and not by the hard bound (a kill: exit code null).
    const r = await bitstate([...args, '--peer', `127.0.0.1:${port}`, '--timeout', '2', '--quiet'], 60_000);
    assertOneLineError(r, 1, /no data from any peer for 2 s/);

    // The same with --json: NDJSON on stdout, ending with a `stopped` event; still one line on stderr.
    const j = await bitstate([...args, '--peer', `127.0.0.1:${port}`, '--timeout', '2', '--json'], 60_000);
    assertOneLineError({ ...j, stdout: '' }, 1);
    const events = j.stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as { type: string });
    assert.equal(events[0]?.type, 'metadata');
    assert.equal(events.at(-1)?.type, 'stopped');
    assert.ok(!events.some((e) => e.type === 'peer.connected' || e.type === 'done'));
  });

  it("someone's file at a torrent path, longer than the torrent's: exit 2, one line naming it, kept byte for byte", async () => {
    const out = join(dir, 'out-foreign');
    await mkdir(join(out, 'payload'), { recursive: true });
    const theirs = Buffer.alloc(150_000, 3); // the torrent's a.bin is 100,000 bytes
    await writeFile(join(out, 'payload', 'a.bin'), theirs);
    const r = await bitstate(['download', torrent, '-o', out, '--no-tracker', '--timeout', '1', '--quiet']);
    assertOneLineError(r, 2, /a\.bin already exists with 150000 bytes.*will not cut it/);
    assert.deepEqual(await readFile(join(out, 'payload', 'a.bin')), theirs);
    assert.equal(existsSync(join(out, 'payload', 'sub')), false, 'nothing else created');
  });

  it('new files get their disk space at once; --no-preallocate leaves them to their first write', async () => {
    const port = await deadPort();
    const args = (out: string) => [
      'download',
      bigTorrent,
      '-o',
      out,
      '--port',
      '0',
      '--no-tracker',
      '--peer',
      `127.0.0.1:${port}`,
      '--timeout',
      '1',
      '--quiet',
    ];
    const [pre, sparse] = await Promise.all([
      bitstate(args(join(dir, 'out-pre')), 60_000),
      bitstate([...args(join(dir, 'out-sparse')), '--no-preallocate'], 60_000),
    ]);
    assertOneLineError(pre, 1);
    assertOneLineError(sparse, 1);
    const allocated = async (out: string) => (await stat(join(out, 'big.bin'))).blocks * 512;
    assert.ok((await allocated(join(dir, 'out-pre'))) >= 16 << 20, 'preallocated by default');
    assert.equal((await stat(join(dir, 'out-pre', 'big.bin'))).size, 16 << 20);
    // Created (sparse) at its first write, and no block came.
    assert.equal(existsSync(join(dir, 'out-sparse', 'big.bin')), false, 'not created with --no-preallocate');
  });

  it('--help: usage on stdout, exit 0', async () => {
    const r = await bitstate(['download', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Usage: bitstate download/);
    assert.match(r.stdout, /--peer HOST:PORT/);
    assert.match(r.stdout, /&ws=URL/, "a magnet's web seeds are read: the help says so");
    assert.equal(r.stderr, '');
  });
});
