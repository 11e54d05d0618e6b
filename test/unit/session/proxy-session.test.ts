/**
 * A session under a proxy (src/session/proxy-session.ts): what it turns off — uTP, the DHT (a node
 * of its own or a lent one), LSD (BEP 14), udp:// trackers — and says once, and nothing changed
 * without a proxy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProxyUrl } from '../../../src/net/proxy.js';
import { ProxyError } from '../../../src/net/proxy-error.js';
import type { DownloadOptions } from '../../../src/session/download-options.js';
import { countUdpTrackers, proxiedSession } from '../../../src/session/proxy-session.js';

const proxy = parseProxyUrl('socks5://alice:secret@127.0.0.1:1080');
const tiers = [['http://a/announce', 'udp://b:1/announce'], ['udp://c:2'], ['https://d/announce']];

test('under a proxy: uTP, the DHT and LSD off in the options, udp trackers out of the tiers, said once without the password', () => {
  const options: DownloadOptions = { out: '/x', utp: 'prefer', dht: { bootstrap: [] }, lsd: {}, proxy };
  const s = proxiedSession(options, () => {}, countUdpTrackers(tiers));
  assert.equal(s.options.utp, 'off');
  for (const key of ['dht', 'dhtNode', 'lsd', 'lsdService']) assert.equal(key in s.options, false, key);
  assert.deepEqual(s.tiers(tiers), [['http://a/announce'], ['https://d/announce']]);
  assert.deepEqual(s.udpOff, {
    type: 'proxy.udpOff',
    proxy: 'socks5://alice:***@127.0.0.1:1080',
    off: ['utp', 'dht', 'lsd', 'udpTrackers'],
  });
  assert.ok(s.dialer !== undefined);
});

test('only what would have been on is named; nothing said when nothing was', () => {
  const some = proxiedSession({ out: '/x', utp: 'off', proxy }, () => {}, 1);
  assert.deepEqual(some.udpOff?.type === 'proxy.udpOff' ? some.udpOff.off : undefined, ['udpTrackers']);
  const none = proxiedSession({ out: '/x', utp: 'off', trackers: false, proxy }, () => {}, 3);
  assert.equal(none.udpOff, undefined);
});

test('each kind of proxy failure is said once, the first time', () => {
  const said: unknown[] = [];
  const s = proxiedSession({ out: '/x', proxy }, (e) => said.push(e), 0);
  const dialer = s.dialer!;
  const fail = (code: 'proxyAuth' | 'proxyUnreachable') => dialer.onFailure?.(new ProxyError(code, code));
  fail('proxyAuth');
  fail('proxyAuth');
  fail('proxyUnreachable');
  fail('proxyAuth');
  assert.deepEqual(
    said.map((e) => (e as { code: string }).code),
    ['proxyAuth', 'proxyUnreachable'],
  );
});

test('without a proxy the options are the given ones, the tiers untouched', () => {
  const options: DownloadOptions = { out: '/x', utp: 'prefer', dht: { bootstrap: [] } };
  const s = proxiedSession(options, () => {}, 2);
  assert.equal(s.options, options);
  assert.equal(s.dialer, undefined);
  assert.equal(s.udpOff, undefined);
  assert.deepEqual(s.tiers(tiers), tiers);
});
