/**
 * `--bind` and `--tracker` at the CLI (download and seed): an interface or address not on this
 * machine, an IPv6 address, a tracker URL that is not http(s)/udp, `--tracker` with `--no-tracker`
 * or for a private torrent — each one line on stderr, exit 2, nothing written (no output folder).
 * The CLI runs from source (test/helpers/run-cli.ts), the DHT off, on 127.0.0.1 only.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { runCli } from '../../helpers/run-cli.js';
import { tempDir } from '../../helpers/temp-dir.js';

async function torrentFile(dir: string, opts: { private?: boolean } = {}) {
  const data = join(dir, 'data');
  await mkdir(data, { recursive: true });
  await writeFile(join(data, 's.bin'), Buffer.alloc(40_000, 7));
  const torrent = join(dir, opts.private === true ? 'p.torrent' : 's.torrent');
  await writeFile(
    torrent,
    await createTorrent(join(data, 's.bin'), { pieceLength: 16384, private: opts.private === true }),
  );
  return { data, torrent };
}

async function refused(args: readonly string[], message: RegExp): Promise<void> {
  const r = await runCli(args);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(r.code, 2, `exit 2 for ${args.join(' ')}; stderr: ${r.stderr}`);
  assert.equal(lines.length, 1, `one line: ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0]!, message);
  assert.equal(r.stdout, '');
}

test('download and seed --bind with an address or interface not on this machine: exit 2, nothing written', async (t) => {
  const dir = await tempDir(t, 'bitstate-bind-cli-');
  const { data, torrent } = await torrentFile(dir);
  const out = join(dir, 'out');
  const dl = ['download', torrent, '--out', out, '--no-tracker', '--port', '0', '--bind'];
  await refused(
    [...dl, '192.0.2.1'],
    /^bitstate download: --bind: 192\.0\.2\.1 is not an address of this machine/,
  );
  await refused([...dl, 'nosuchif0'], /^bitstate download: --bind: no interface or address "nosuchif0" here/);
  await refused([...dl, '::1'], /^bitstate download: --bind takes an IPv4 address or an interface name/);
  await refused(
    ['seed', torrent, '--data', data, '--no-tracker', '--port', '0', '--bind', 'nosuchif0'],
    /^bitstate seed: --bind: no interface or address "nosuchif0" here/,
  );
  assert.equal(existsSync(out), false, 'no output folder');
});

test('--tracker: not http(s)/udp, a udp URL without a port, with --no-tracker, for a private torrent: exit 2', async (t) => {
  const dir = await tempDir(t, 'bitstate-tracker-cli-');
  const { data, torrent } = await torrentFile(dir);
  const closed = await torrentFile(join(dir, 'private'), { private: true });
  const out = join(dir, 'out');
  const dl = ['download', torrent, '--out', out, '--port', '0'];
  await refused(
    [...dl, '--tracker', 'wss://t.example/announce'],
    /--tracker "wss:\/\/t\.example\/announce": not an http, https or udp URL/,
  );
  await refused([...dl, '--tracker', 'not a url'], /not an http, https or udp URL/);
  await refused([...dl, '--tracker', 'udp://t.example/announce'], /a udp tracker needs a port/);
  await refused(
    [...dl, '--tracker', 'http://127.0.0.1:1/announce', '--no-tracker'],
    /--tracker goes without --no-tracker/,
  );
  await refused(
    ['download', closed.torrent, '--out', out, '--port', '0', '--tracker', 'http://127.0.0.1:1/announce'],
    /^bitstate download: --tracker: s\.bin is a private torrent \(BEP 27/,
  );
  await refused(
    [
      'seed',
      closed.torrent,
      '--data',
      closed.data,
      '--port',
      '0',
      '--tracker',
      'http://127.0.0.1:1/announce',
    ],
    /^bitstate seed: --tracker: s\.bin is a private torrent/,
  );
  await refused(
    ['seed', torrent, '--data', data, '--port', '0', '--tracker', 'ftp://t.example/'],
    /^bitstate seed: --tracker "ftp:\/\/t\.example\/": not an http, https or udp URL/,
  );
  assert.equal(existsSync(out), false, 'no output folder');
});

test('download --help and seed --help name --bind and --tracker', async () => {
  for (const command of ['download', 'seed']) {
    const r = await runCli([command, '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--bind ADDR\|IFACE/);
    assert.match(r.stdout, /--tracker URL/);
  }
});
