/**
 * Which interfaces LSD (BEP 14) runs on, and which senders it believes: the networks of those
 * interfaces only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lsdInterfaces, type NetworkInterfaceEntry, onLsdNetwork } from '../../../src/lsd/lsd-interfaces.js';

const entries: NetworkInterfaceEntry[] = [
  { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', internal: true },
  { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', internal: true },
  { address: '192.168.1.20', netmask: '255.255.255.0', family: 'IPv4', internal: false },
  { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', internal: false },
  { address: '10.8.0.5', netmask: '255.255.0.0', family: 4, internal: false },
];
const addresses = (list: { address: string }[]) => list.map((i) => i.address);

describe('lsdInterfaces', () => {
  it('is every IPv4 interface but loopback when the listener takes every address', () => {
    assert.deepEqual(addresses(lsdInterfaces({ listenHost: '0.0.0.0', entries })), [
      '192.168.1.20',
      '10.8.0.5',
    ]);
  });

  it("is loopback's alone when the listener is bound to a loopback address", () => {
    assert.deepEqual(lsdInterfaces({ listenHost: '127.0.0.1', entries }), [
      { address: '127.0.0.1', netmask: '255.0.0.0' },
    ]);
    assert.deepEqual(addresses(lsdInterfaces({ listenHost: '127.0.0.5', entries })), ['127.0.0.1']);
  });

  it("is the listening address's interface when the listener is bound to one", () => {
    assert.deepEqual(addresses(lsdInterfaces({ listenHost: '10.8.0.5', entries })), ['10.8.0.5']);
  });

  it('is the asked addresses when asked, each once, those no interface has left out', () => {
    assert.deepEqual(
      addresses(
        lsdInterfaces({
          asked: ['127.0.0.1', '203.0.113.9', '127.0.0.1', '192.168.1.20'],
          listenHost: '0.0.0.0',
          entries,
        }),
      ),
      ['127.0.0.1', '192.168.1.20'],
    );
    assert.deepEqual(lsdInterfaces({ asked: ['fe80::1'], listenHost: '0.0.0.0', entries }), []);
  });
});

describe('onLsdNetwork', () => {
  const ifaces = [
    { address: '127.0.0.1', netmask: '255.0.0.0' },
    { address: '192.168.1.20', netmask: '255.255.255.0' },
  ];
  it('believes a sender on the network of an interface joined', () => {
    for (const s of ['127.0.0.1', '127.9.9.9', '192.168.1.1', '192.168.1.255'])
      assert.ok(onLsdNetwork(s, ifaces), s);
  });
  it('ignores one from elsewhere, or not an IPv4 address', () => {
    for (const s of ['192.168.2.1', '10.8.0.1', '0.0.0.0', '::1', 'x', '256.1.1.1', '1.2.3'])
      assert.ok(!onLsdNetwork(s, ifaces), s);
    assert.ok(!onLsdNetwork('127.0.0.1', []));
  });
});
