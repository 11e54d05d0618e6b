/**
 * `--proxy` with a password (docs/proxy.md): the process's command line, which every user of the
 * machine can read (/proc/PID/cmdline, ps), shows it as `***` once the CLI runs. A SOCKS5 proxy in
 * the test (RFC 1929) reads /proc/PID/cmdline of the child at the moment the child logs in, i.e.
 * while it runs and uses the password.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { hiddenProxyPassword } from '../../../src/cli/proxy-title.js';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { ProxyUrlError, parseProxyUrl } from '../../../src/net/proxy.js';
import { runCli } from '../../helpers/run-cli.js';
import { tempDir } from '../../helpers/session.js';
import { socks5Server } from '../../helpers/socks5-server.js';
import { getFreePort } from '../../interop/harness/ports.js';

test('the password of --proxy URL and --proxy=URL becomes ***; nothing to hide, nothing changed', () => {
  assert.deepEqual(
    hiddenProxyPassword(['node', 'x', 'download', 'a.torrent', '--proxy', 'socks5://alice:s3:cr@t@h:1080']),
    ['node', 'x', 'download', 'a.torrent', '--proxy', 'socks5://alice:***@h:1080'],
  );
  assert.deepEqual(hiddenProxyPassword(['seed', '--proxy=http://u:p%40ss@10.0.0.1:3128', '-q']), [
    'seed',
    '--proxy=http://u:***@10.0.0.1:3128',
    '-q',
  ]);
  assert.equal(hiddenProxyPassword(['download', '--proxy', 'socks5h://127.0.0.1:1080', 'a:b@c']), undefined);
  assert.equal(hiddenProxyPassword(['download', '--peer', 'a:b@c']), undefined);
});

test('every spelling the URL parser takes a password from is masked (and in the usage error)', () => {
  // WHATWG's URL, which parseProxyUrl reads, splits the credentials at the last '@' of the
  // authority (a user name may hold '@': an e-mail address), takes http: without its slashes or
  // with backslashes, and drops a tab or newline anywhere.
  const spellings = [
    'http://me@example.com:Secr3t@proxy.example:3128',
    'socks5://me@example.com:Secr3t@127.0.0.1:1080',
    'socks5h://al\\ice:Secr3t@127.0.0.1:1080',
    'http:alice:Secr3t@127.0.0.1:3128',
    'http:/alice:Secr3t@127.0.0.1:3128',
    'http:\\\\alice:Secr3t@127.0.0.1:3128',
    'http://alice:Sec\nr3t@127.0.0.1:3128',
  ];
  for (const url of spellings) {
    assert.match(
      parseProxyUrl(url).password ?? '',
      /^Secr3t$/,
      `${JSON.stringify(url)} carries the password`,
    );
    for (const args of [
      ['download', '--proxy', url],
      ['download', `--proxy=${url}`],
    ]) {
      const hidden = hiddenProxyPassword(args);
      assert.ok(hidden !== undefined, JSON.stringify(args));
      assert.doesNotMatch(hidden.join(' '), /Sec\n?r3t/, JSON.stringify(hidden));
      assert.match(hidden.at(-1)!, /:\*\*\*@/);
    }
    // The same URL refused (a port out of range) is echoed in the usage error without it.
    const refused = url.replace(/:\d+$/, ':99999');
    assert.throws(
      () => parseProxyUrl(refused),
      (e: Error) => e instanceof ProxyUrlError && !/Sec\n?r3t/.test(e.message),
      JSON.stringify(refused),
    );
  }
});

test('a running download through --proxy shows no password in /proc/PID/cmdline', async (t) => {
  const dir = await tempDir(t, 'bitstate-proxy-title-');
  await writeFile(join(dir, 'a.bin'), randomBytes(20_000));
  await writeFile(join(dir, 'a.torrent'), await createTorrent(join(dir, 'a.bin'), { pieceLength: 16384 }));
  const password = 'pw-not-in-ps-7f3a';
  let pid: number | undefined;
  let seen: string | undefined;
  let comm: string | undefined;
  const proxy = await socks5Server(t, {
    reply: 5, // the peer's tunnel refused: the download waits on, and is stopped below
    onLogin: () => {
      // The child is logging in with the password: it is running, and has it in hand.
      seen ??= readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      comm ??= readFileSync(`/proc/${pid}/comm`, 'latin1');
      process.kill(pid!, 'SIGINT');
    },
  });
  const r = await runCli(
    [
      'download',
      join(dir, 'a.torrent'),
      '-o',
      join(dir, 'out'),
      '--no-tracker',
      '--peer',
      `127.0.0.1:${await getFreePort()}`,
      '--proxy',
      `socks5://alice:${password}@127.0.0.1:${proxy.port}`,
      '--json',
    ],
    { timeoutMs: 60_000, onSpawn: (p) => (pid = p) },
  );
  assert.deepEqual(proxy.logins, [{ user: 'alice', password }], r.stderr);
  assert.ok(seen !== undefined);
  assert.ok(!seen.includes(password), `the password in ${JSON.stringify(seen)}`);
  assert.match(seen, /--proxy socks5:\/\/alice:\*\*\*@127\.0\.0\.1:\d+/);
  assert.match(seen, /download .*a\.torrent/, 'the rest of the command line kept');
  // The process's name (ps -C, pidof, killall, top) stays the executable's: Node's title setter
  // also renames the thread (PR_SET_NAME) to the title's first 15 bytes.
  assert.equal(comm, `${basename(process.execPath).slice(0, 15)}\n`);
  assert.equal(r.signal, null, 'ended by its own Ctrl-C handling');
});
