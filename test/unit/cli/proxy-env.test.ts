/**
 * The proxy from the environment (docs/proxy.md): without `--proxy`, `all_proxy` or `ALL_PROXY`, as
 * aria2 and curl read them (a URL without a scheme an HTTP proxy's); `--proxy URL` wins; `--proxy ''`
 * is none, the environment's neither. The CLI runs are stopped by their own events: the peer's
 * tunnel refused by the SOCKS5 proxy in the test (`proxy.failed`), or the peer reached directly.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { proxyOption } from '../../../src/cli/swarm-flags.js';
import { UsageError } from '../../../src/cli/usage-error.js';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { runCli } from '../../helpers/run-cli.js';
import { tempDir } from '../../helpers/session.js';
import { socks5Server } from '../../helpers/socks5-server.js';

test('--proxy wins, then all_proxy, then ALL_PROXY; no scheme is http://; --proxy "" is none', () => {
  const env = { all_proxy: 'socks5h://lower.example:1', ALL_PROXY: 'socks5://upper.example:2' };
  assert.equal(proxyOption('socks4a://flag.example:3', env)?.host, 'flag.example');
  assert.equal(proxyOption(undefined, env)?.host, 'lower.example');
  assert.equal(proxyOption(undefined, { ALL_PROXY: env.ALL_PROXY })?.protocol, 'socks5');
  assert.equal(proxyOption(undefined, { all_proxy: '', ALL_PROXY: env.ALL_PROXY })?.host, 'upper.example');
  assert.deepEqual(proxyOption(undefined, { all_proxy: 'u:p@proxy.example:3128' }), {
    protocol: 'http',
    host: 'proxy.example',
    port: 3128,
    user: 'u',
    password: 'p',
  });
  assert.equal(proxyOption('', env), undefined);
  assert.equal(proxyOption(undefined, {}), undefined);
  assert.throws(
    () => proxyOption(undefined, { ALL_PROXY: 'https://alice:secret@proxy.example' }),
    (e: unknown) =>
      e instanceof UsageError && /^ALL_PROXY: no https:\/\//.test(e.message) && !e.message.includes('secret'),
  );
});

/** A torrent, and a peer on 127.0.0.1 that counts the connections it is given (and closes them). */
async function torrentAndPeer(t: TestContext) {
  const dir = await tempDir(t, 'bitstate-proxy-env-');
  await writeFile(join(dir, 'a.bin'), randomBytes(20_000));
  await writeFile(join(dir, 'a.torrent'), await createTorrent(join(dir, 'a.bin'), { pieceLength: 16384 }));
  const accepted: Socket[] = [];
  let onAccept = () => {};
  const peer = createServer((s) => {
    accepted.push(s);
    s.on('error', () => {});
    onAccept();
  });
  peer.listen(0, '127.0.0.1');
  await once(peer, 'listening');
  t.after(() => {
    for (const s of accepted) s.destroy();
    peer.close();
  });
  const args = (out: string) => [
    'download',
    join(dir, 'a.torrent'),
    '-o',
    join(dir, out),
    '--no-tracker',
    '--peer',
    `127.0.0.1:${(peer.address() as AddressInfo).port}`,
    '--json',
  ];
  return {
    args,
    accepted,
    whenAccepted: (f: () => void) => (onAccept = f),
    peerPort: (peer.address() as AddressInfo).port,
  };
}

for (const name of ['all_proxy', 'ALL_PROXY'])
  test(`without --proxy, ${name} carries the peer dial`, async (t) => {
    const proxy = await socks5Server(t, { reply: 5 });
    const { args, accepted, peerPort } = await torrentAndPeer(t);
    const r = await runCli(args('out'), {
      timeoutMs: 60_000,
      env: { [name]: `socks5://127.0.0.1:${proxy.port}` },
      onLine: (line, signal) => {
        if (line.includes('"type":"proxy.failed"')) signal('SIGINT');
      },
    });
    assert.ok(proxy.targets.length > 0, r.stderr);
    assert.deepEqual(new Set(proxy.targets), new Set([`127.0.0.1:${peerPort}`]));
    assert.equal(accepted.length, 0, 'the peer is not dialled around the proxy');
    assert.match(r.stdout, new RegExp(`"type":"proxy.udpOff","proxy":"socks5://127.0.0.1:${proxy.port}"`));
    assert.match(r.stdout, /"type":"proxy.failed","code":"proxyRefused"/);
  });

test("--proxy '' runs without the environment's proxy", async (t) => {
  const proxy = await socks5Server(t, { reply: 5 });
  const { args, accepted, whenAccepted } = await torrentAndPeer(t);
  let stop: (() => void) | undefined;
  whenAccepted(() => stop?.());
  const r = await runCli([...args('out'), '--proxy', ''], {
    timeoutMs: 60_000,
    env: { all_proxy: `socks5://127.0.0.1:${proxy.port}` },
    onSpawn: (pid) => (stop = () => process.kill(pid, 'SIGINT')),
  });
  assert.ok(accepted.length > 0, `the peer dialled directly: ${r.stderr}`);
  assert.deepEqual(proxy.from, [], 'not a connection to the proxy');
  assert.doesNotMatch(r.stdout, /"type":"proxy\./);
});
