/**
 * The SOCKS5 client handshake (src/net/socks5-handshake.ts, RFC 1928 and RFC 1929's user name and
 * password): the bytes it sends, every reply code of the proxy as its typed error, replies in any
 * pieces, the target's first bytes handed on, and truncated, malformed and oversized replies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProxyError } from '../../../src/net/proxy-error.js';
import type { HandshakeStep } from '../../../src/net/proxy-handshake.js';
import { SOCKS5_MAX_REPLY_BYTES, Socks5Handshake } from '../../../src/net/socks5-handshake.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
/** A success reply naming an IPv4 bound address. */
const OK_V4 = bytes(5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90);

function sent(step: HandshakeStep): number[] {
  assert.equal(step.kind, 'send');
  return [...(step as { bytes: Uint8Array }).bytes];
}

function throwsCode(f: () => unknown, code: ProxyError['code'], message?: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ProxyError, `a ProxyError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}

test('no credentials: offers method 0, then CONNECT to an IPv4 address; the reply opens the tunnel', () => {
  const h = new Socks5Handshake('192.0.2.7', 6881);
  assert.deepEqual([...h.start()], [5, 1, 0]);
  assert.deepEqual(sent(h.push(bytes(5, 0))), [5, 1, 0, 1, 192, 0, 2, 7, 0x1a, 0xe1]);
  assert.deepEqual(h.push(OK_V4), { kind: 'done', rest: new Uint8Array(0) });
});

test('a name is sent for the proxy to resolve (ATYP 3), an IPv6 address as 16 bytes (ATYP 4)', () => {
  const named = new Socks5Handshake('tracker.example', 80);
  named.start();
  assert.deepEqual(sent(named.push(bytes(5, 0))), [5, 1, 0, 3, 15, ...Buffer.from('tracker.example'), 0, 80]);
  const v6 = new Socks5Handshake('2001:db8::1', 443);
  v6.start();
  assert.deepEqual(sent(v6.push(bytes(5, 0))), [
    5,
    1,
    0,
    4,
    0x20,
    1,
    0x0d,
    0xb8,
    ...new Array(11).fill(0),
    1,
    1,
    0xbb,
  ]);
});

test('RFC 1929: user name and password sent when the proxy picks method 2, a refusal is proxyAuth', () => {
  const h = new Socks5Handshake('10.0.0.1', 1, { user: 'alice', password: 'secret' });
  assert.deepEqual([...h.start()], [5, 1, 2]);
  assert.deepEqual(sent(h.push(bytes(5, 2))), [1, 5, ...Buffer.from('alice'), 6, ...Buffer.from('secret')]);
  throwsCode(() => h.push(bytes(1, 1)), 'proxyAuth', /refused the user name and password/);

  const ok = new Socks5Handshake('10.0.0.1', 1, { user: 'alice', password: 'secret' });
  ok.start();
  ok.push(bytes(5, 2));
  assert.deepEqual(sent(ok.push(bytes(1, 0))), [5, 1, 0, 1, 10, 0, 0, 1, 0, 1]);
  assert.equal(ok.push(OK_V4).kind, 'done');
});

test('no acceptable method (0xFF) is proxyAuth, with and without credentials', () => {
  const none = new Socks5Handshake('10.0.0.1', 1);
  none.start();
  throwsCode(() => none.push(bytes(5, 0xff)), 'proxyAuth', /wants a user name and password/);
  const given = new Socks5Handshake('10.0.0.1', 1, { user: 'a', password: 'b' });
  given.start();
  throwsCode(() => given.push(bytes(5, 0xff)), 'proxyAuth', /takes no user name/);
});

test('a method we did not offer, or another version, is a protocol error', () => {
  const h = new Socks5Handshake('10.0.0.1', 1);
  h.start();
  throwsCode(() => h.push(bytes(5, 2)), 'proxyProtocol', /did not offer/);
  const v4 = new Socks5Handshake('10.0.0.1', 1);
  v4.start();
  throwsCode(() => v4.push(bytes(4, 0)), 'proxyProtocol', /not a SOCKS5 proxy/);
});

test('every REP code of RFC 1928 is its typed error', () => {
  const expected: Record<number, ProxyError['code']> = {
    1: 'proxyTargetUnreachable',
    2: 'proxyRefused',
    3: 'proxyTargetUnreachable',
    4: 'proxyTargetUnreachable',
    5: 'proxyRefused',
    6: 'proxyTargetUnreachable',
    7: 'proxyUnsupported',
    8: 'proxyUnsupported',
    9: 'proxyProtocol',
    255: 'proxyProtocol',
  };
  for (const [rep, code] of Object.entries(expected)) {
    const h = new Socks5Handshake('10.0.0.1', 1);
    h.start();
    h.push(bytes(5, 0));
    throwsCode(() => h.push(bytes(5, Number(rep), 0, 1, 0, 0, 0, 0, 0, 0)), code);
  }
});

test('a reply in pieces waits for all of it; bytes after it are the target bytes (a view, not copied)', () => {
  for (const reply of [
    OK_V4,
    bytes(5, 0, 0, 4, ...new Array(16).fill(0), 0, 1),
    bytes(5, 0, 0, 3, 3, 97, 98, 99, 0, 1),
  ]) {
    const h = new Socks5Handshake('10.0.0.1', 1);
    h.start();
    h.push(bytes(5, 0));
    for (const b of reply.subarray(0, -1)) assert.deepEqual(h.push(bytes(b)), { kind: 'wait' });
    const chunk = bytes(reply.at(-1)!, 19, 66, 105, 116);
    const step = h.push(chunk);
    assert.equal(step.kind, 'done');
    const rest = (step as { rest: Uint8Array }).rest;
    assert.deepEqual([...rest], [19, 66, 105, 116]);
    assert.equal(rest.buffer, chunk.buffer, 'the rest is a view of the read');
  }
});

test('an unknown address type is a protocol error; a domain reply is bounded by its length byte', () => {
  const h = new Socks5Handshake('10.0.0.1', 1);
  h.start();
  h.push(bytes(5, 0));
  throwsCode(() => h.push(bytes(5, 0, 0, 2, 0, 0)), 'proxyProtocol', /unknown address type/);
  // The longest reply (a 255-byte name) fits the reader: nothing longer is ever held.
  const long = new Socks5Handshake('10.0.0.1', 1);
  long.start();
  long.push(bytes(5, 0));
  const reply = bytes(5, 0, 0, 3, 255, ...new Array(255).fill(97), 0, 1);
  assert.equal(reply.length, SOCKS5_MAX_REPLY_BYTES);
  assert.equal(long.push(reply).kind, 'done');
});

test('bytes sent out of turn (after the method or auth reply) are a protocol error', () => {
  const h = new Socks5Handshake('10.0.0.1', 1);
  h.start();
  throwsCode(() => h.push(bytes(5, 0, 5, 0)), 'proxyProtocol', /out of turn/);
  const a = new Socks5Handshake('10.0.0.1', 1, { user: 'a', password: 'b' });
  a.start();
  a.push(bytes(5, 2));
  throwsCode(() => a.push(bytes(1, 0, 5)), 'proxyProtocol', /out of turn/);
});

test('a push after the tunnel is up is refused; names or credentials SOCKS5 cannot carry are typed errors', () => {
  const h = new Socks5Handshake('10.0.0.1', 1);
  h.start();
  h.push(bytes(5, 0));
  h.push(OK_V4);
  throwsCode(() => h.push(bytes(0)), 'proxyProtocol');
  throwsCode(() => new Socks5Handshake('a'.repeat(256), 1), 'proxyUnsupported');
  throwsCode(() => new Socks5Handshake('10.0.0.1', 1, { user: '', password: 'x' }), 'proxyAuth');
  throwsCode(() => new Socks5Handshake('10.0.0.1', 1, { user: 'u', password: 'p'.repeat(256) }), 'proxyAuth');
});
