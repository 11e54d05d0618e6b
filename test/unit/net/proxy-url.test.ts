/** `--proxy URL` (src/net/proxy.ts): what each scheme means, defaults, and the URLs refused (exit 2 at the CLI). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeProxy, ProxyUrlError, parseProxyUrl, resolvesLocally } from '../../../src/net/proxy.js';

test('each scheme, with and without credentials and port', () => {
  assert.deepEqual(parseProxyUrl('socks5://127.0.0.1:1080'), {
    protocol: 'socks5',
    host: '127.0.0.1',
    port: 1080,
  });
  assert.deepEqual(parseProxyUrl('SOCKS5H://al%40ice:p%3Aw@proxy.example'), {
    protocol: 'socks5h',
    host: 'proxy.example',
    port: 1080,
    user: 'al@ice',
    password: 'p:w',
  });
  assert.deepEqual(parseProxyUrl('socks4a://me@[::1]:9050/'), {
    protocol: 'socks4a',
    host: '::1',
    port: 9050,
    user: 'me',
  });
  assert.deepEqual(parseProxyUrl('http://u:p@10.0.0.1:3128'), {
    protocol: 'http',
    host: '10.0.0.1',
    port: 3128,
    user: 'u',
    password: 'p',
  });
  assert.equal(parseProxyUrl('http://10.0.0.1').port, 8080);
});

test('as curl means them: socks5:// resolves names here, socks5h://, socks4a:// and http:// leave them to the proxy', () => {
  const at = (s: string) => parseProxyUrl(s);
  assert.equal(resolvesLocally(at('socks5://h:1'), 'tracker.example'), true);
  assert.equal(resolvesLocally(at('socks5://h:1'), '192.0.2.1'), false);
  for (const s of ['socks5h://h:1', 'socks4a://h:1', 'http://h:1'])
    assert.equal(resolvesLocally(at(s), 'tracker.example'), false, s);
});

test('bad URLs are ProxyUrlErrors (bad input)', () => {
  for (const s of [
    '127.0.0.1:1080',
    'socks://h:1',
    'https://h:1',
    'socks5://h:99999',
    'socks5://h:1/path',
    'socks5://h:1?x=1',
    'socks5://user@h:1',
    'socks5://:pw@h:1',
    'socks4a://u:p@h:1',
    `socks5://${'u'.repeat(256)}:p@h:1`,
  ])
    assert.throws(
      () => parseProxyUrl(s),
      (e: unknown) => e instanceof ProxyUrlError && e.badInput,
      s,
    );
});

test('the proxy as printed never shows its password', () => {
  assert.equal(describeProxy(parseProxyUrl('socks5://alice:secret@h:1')), 'socks5://alice:***@h:1');
  assert.equal(describeProxy(parseProxyUrl('http://[::1]:8')), 'http://[::1]:8');
});

test('a URL refused is echoed without its password', () => {
  for (const s of [
    'socks4a://alice:hunter2@h:1',
    'socks5://alice:hunter2@h:1/path',
    'socks5h://alice:hunter2@h:1?x=1',
    'http://alice:hunter2@h:99999',
    'ftp://alice:hunter2@h:1',
    'socks5://alice:hun@ter2@h:1/x',
    'socks5://alice:hun/ter2@h:1',
    `socks5://${'u'.repeat(256)}:hunter2@h:1`,
  ])
    assert.throws(
      () => parseProxyUrl(s),
      (e: unknown) =>
        e instanceof ProxyUrlError && !e.message.includes('hunter2') && !e.message.includes('ter2'),
      s,
    );
});
