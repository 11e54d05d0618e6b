/**
 * The address every socket of a session is bound to (`--bind ADDR|IFACE`, the `bind` option), as
 * libtorrent's listen_interfaces + outgoing_interfaces, qBittorrent's "Network interface" and
 * aria2's --interface: the listening socket and the UDP socket (uTP, the DHT) on it instead of
 * 0.0.0.0, and every outgoing connection from it — peer dials, HTTP(S) and UDP tracker announces,
 * web seed GETs. An interface name (`tun0`, as VPN users give it) is its first IPv4 address at the
 * start (os.networkInterfaces()); an address must be one this machine can bind (the kernel asked:
 * on loopback every 127.x.y.z is, though only 127.0.0.1 is listed). IPv4 only: our UDP socket and
 * the DHT are IPv4.
 *
 * A kill switch: nothing falls back to another address. If the address goes away mid-run, dials,
 * announces and GETs from it fail (the session goes on trying, from it) until it is back.
 */
import { createSocket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';

export class BindError extends Error {
  override readonly name = 'BindError';
  readonly badInput = true;
  constructor(
    readonly code: 'unknownInterface' | 'noIpv4' | 'notLocal' | 'ipv6',
    message: string,
  ) {
    super(message);
  }
}

/** What `os.networkInterfaces()` returns. */
export type Interfaces = NodeJS.Dict<readonly NetworkInterfaceInfo[]>;

/**
 * `value` as the IPv4 address to bind: an IPv4 address as it is (whether it is local is
 * `resolveBindAddress`'s question), an interface name as its first IPv4 address. Pure.
 */
export function bindAddressOf(value: string, interfaces: Interfaces): string {
  if (isIPv4(value)) return value;
  if (isIPv6(value) || isIPv6(value.replace(/^\[(.*)\]$/, '$1')))
    throw new BindError('ipv6', `--bind takes an IPv4 address or an interface name, not ${value} (IPv6)`);
  const list = Object.hasOwn(interfaces, value) ? interfaces[value] : undefined;
  if (list === undefined)
    throw new BindError('unknownInterface', `--bind: no interface or address ${JSON.stringify(value)} here`);
  const v4 = list.find((a) => a.family === 'IPv4');
  if (v4 === undefined) throw new BindError('noIpv4', `--bind: interface ${value} has no IPv4 address`);
  return v4.address;
}

/**
 * The address to bind for `value` (see bindAddressOf), checked by binding a UDP socket to it: an
 * address not on this machine (EADDRNOTAVAIL) is a BindError.
 */
export async function resolveBindAddress(
  value: string,
  interfaces: () => Interfaces = networkInterfaces,
): Promise<string> {
  const address = bindAddressOf(value, isIPv4(value) ? {} : interfaces());
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => resolve());
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new BindError('notLocal', `--bind: ${address} is not an address of this machine (${code})`);
  } finally {
    try {
      socket.close();
    } catch {
      // never bound
    }
  }
  return address;
}
