/**
 * The HTTP CONNECT tunnel (src/net/http-connect.ts): the request (Basic credentials, an IPv6
 * authority in brackets), the answer head read across reads up to its blank line, each status as
 * its typed error, and heads that never end within MAX_CONNECT_HEAD_BYTES.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpConnectHandshake, MAX_CONNECT_HEAD_BYTES } from '../../../src/net/http-connect.js';
import { ProxyError } from '../../../src/net/proxy-error.js';

const text = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

function throwsCode(f: () => unknown, code: ProxyError['code']): void {
  assert.throws(f, (e: unknown) => e instanceof ProxyError && e.code === code);
}

test('the request names the target, with Basic credentials when given', () => {
  assert.equal(
    Buffer.from(new HttpConnectHandshake('192.0.2.1', 6881).start()).toString('latin1'),
    'CONNECT 192.0.2.1:6881 HTTP/1.1\r\nHost: 192.0.2.1:6881\r\n\r\n',
  );
  assert.equal(
    Buffer.from(new HttpConnectHandshake('::1', 80, { user: 'al', password: 'pw' }).start()).toString(
      'latin1',
    ),
    `CONNECT [::1]:80 HTTP/1.1\r\nHost: [::1]:80\r\nProxy-Authorization: Basic ${Buffer.from('al:pw').toString('base64')}\r\n\r\n`,
  );
  throwsCode(() => new HttpConnectHandshake('bad host\r\nX: 1', 80), 'proxyUnsupported');
});

test('a 200 opens the tunnel; what follows the blank line is the target bytes', () => {
  const h = new HttpConnectHandshake('10.0.0.1', 1);
  const chunk = text('HTTP/1.1 200 Connection established\r\nProxy-agent: x\r\n\r\nBT');
  const step = h.push(chunk);
  assert.equal(step.kind, 'done');
  assert.equal(Buffer.from((step as { rest: Uint8Array }).rest).toString(), 'BT');
  throwsCode(() => h.push(text('x')), 'proxyProtocol');
});

test('a head split anywhere, even inside its blank line, is read whole', () => {
  const head = 'HTTP/1.0 200 OK\r\n\r\n';
  for (let cut = 1; cut < head.length; cut++) {
    const h = new HttpConnectHandshake('10.0.0.1', 1);
    assert.deepEqual(h.push(text(head.slice(0, cut))), { kind: 'wait' });
    const step = h.push(text(`${head.slice(cut)}xy`));
    assert.equal(step.kind, 'done', `cut at ${cut}`);
    assert.equal(Buffer.from((step as { rest: Uint8Array }).rest).toString(), 'xy');
  }
});

test('each status is its typed error', () => {
  const cases: [string, ProxyError['code']][] = [
    ['HTTP/1.1 407 Proxy Authentication Required', 'proxyAuth'],
    ['HTTP/1.1 403 Access violation', 'proxyRefused'],
    ['HTTP/1.1 502 Bad Gateway', 'proxyTargetUnreachable'],
    ['HTTP/1.1 500 Unable to connect', 'proxyTargetUnreachable'],
    ['HTTP/1.1 301 Moved', 'proxyTargetUnreachable'],
    ['SSH-2.0-OpenSSH', 'proxyProtocol'],
    ['HTTP/2 200', 'proxyProtocol'],
  ];
  for (const [line, code] of cases)
    throwsCode(() => new HttpConnectHandshake('10.0.0.1', 1).push(text(`${line}\r\n\r\n`)), code);
});

test('a head without its blank line within MAX_CONNECT_HEAD_BYTES is proxyTooLarge, however it comes', () => {
  const h = new HttpConnectHandshake('10.0.0.1', 1);
  const line = text(`X-Filler: ${'a'.repeat(1000)}\r\n`);
  let error: unknown;
  let pushed = 0;
  try {
    for (;;) {
      h.push(line);
      pushed += line.length;
      assert.ok(pushed < 2 * MAX_CONNECT_HEAD_BYTES, 'stopped within the bound');
    }
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ProxyError && error.code === 'proxyTooLarge', String(error));
  // One huge read is cut at the bound as well.
  throwsCode(
    () => new HttpConnectHandshake('10.0.0.1', 1).push(new Uint8Array(1 << 20).fill(65)),
    'proxyTooLarge',
  );
});
