/** SOCKS4a's CONNECT (src/net/socks4a-handshake.ts): the request for an address and for a name, each reply code. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProxyError } from '../../../src/net/proxy-error.js';
import { Socks4aHandshake } from '../../../src/net/socks4a-handshake.js';

test('an IPv4 address is sent as one; a name as 0.0.0.1 and the name (4A), with the user id', () => {
  assert.deepEqual([...new Socks4aHandshake('192.0.2.1', 6881).start()], [4, 1, 0x1a, 0xe1, 192, 0, 2, 1, 0]);
  assert.deepEqual(
    [...new Socks4aHandshake('host', 80, 'me').start()],
    [4, 1, 0, 80, 0, 0, 0, 1, ...Buffer.from('me'), 0, ...Buffer.from('host'), 0],
  );
  assert.throws(
    () => new Socks4aHandshake('::1', 80),
    (e: unknown) => e instanceof ProxyError && e.code === 'proxyUnsupported',
  );
});

test('90 opens the tunnel (in pieces too), 91-93 and others are typed errors', () => {
  const h = new Socks4aHandshake('10.0.0.1', 1);
  assert.deepEqual(h.push(Uint8Array.of(0, 90, 0)), { kind: 'wait' });
  const step = h.push(Uint8Array.of(0, 0, 0, 0, 0, 7));
  assert.equal(step.kind, 'done');
  assert.deepEqual([...(step as { rest: Uint8Array }).rest], [7]);
  const codes: [number, number, ProxyError['code']][] = [
    [0, 91, 'proxyRefused'],
    [0, 92, 'proxyAuth'],
    [0, 93, 'proxyAuth'],
    [0, 1, 'proxyProtocol'],
    [4, 90, 'proxyProtocol'],
  ];
  for (const [vn, cd, code] of codes)
    assert.throws(
      () => new Socks4aHandshake('10.0.0.1', 1).push(Uint8Array.of(vn, cd, 0, 0, 0, 0, 0, 0)),
      (e: unknown) => e instanceof ProxyError && e.code === code,
    );
});
