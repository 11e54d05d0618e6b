/**
 * Which network interfaces Local Service Discovery (BEP 14) joins the group on and announces from,
 * and which senders it believes. Pure: the caller passes os.networkInterfaces()'s entries.
 *
 * libtorrent runs one LSD socket per listen interface, and believes an announce only from an
 * address in that interface's network (its netmask); Transmission 3 joins on the kernel's default
 * interface only (INADDR_ANY). bitstate joins every IPv4 interface that is not loopback — the
 * networks its peers may be on — or, when it listens on one address, that address's interface
 * only (127.0.0.1 when it listens on loopback); `asked` (the `--lsd-interface` addresses) wins over
 * both. An announce is believed only from a sender on the network of an interface we joined on:
 * Linux hands a datagram to the group to every socket bound to the group's port, whichever
 * interface that socket joined on (IP_MULTICAST_ALL), so a socket joined on 127.0.0.1 alone also
 * sees the group's traffic on other interfaces once any program on the host joined there.
 */

/** An os.networkInterfaces() entry (Node 18.0 gave `family` as a number, later versions 'IPv4'). */
export interface NetworkInterfaceEntry {
  readonly address: string;
  readonly netmask: string;
  readonly family: string | number;
  readonly internal: boolean;
}

/** An interface LSD runs on: its IPv4 address, and its netmask (whose senders it believes). */
export interface LsdInterface {
  readonly address: string;
  readonly netmask: string;
}

function isIpv4(e: NetworkInterfaceEntry): boolean {
  return e.family === 'IPv4' || e.family === 4;
}

/** A dotted IPv4 address as a 32-bit number; undefined when it is not one. */
export function ipv4Number(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.');
}

/**
 * The interfaces to run on: `asked` (each an interface's IPv4 address; one no interface has is left
 * out), else the interface of `listenHost` when it is one address (127.0.0.1 for any loopback
 * address), else every IPv4 interface but loopback. Each address once.
 */
export function lsdInterfaces(o: {
  readonly asked?: readonly string[];
  readonly listenHost: string;
  readonly entries: readonly NetworkInterfaceEntry[];
}): LsdInterface[] {
  const v4 = o.entries.filter(isIpv4);
  const byAddress = new Map(v4.map((e) => [e.address, e]));
  const pick = (addresses: readonly string[]) => {
    const out: LsdInterface[] = [];
    for (const a of new Set(addresses)) {
      const e = byAddress.get(a);
      if (e !== undefined) out.push({ address: e.address, netmask: e.netmask });
    }
    return out;
  };
  if (o.asked !== undefined) return pick(o.asked);
  if (isLoopback(o.listenHost)) return pick(['127.0.0.1']);
  if (o.listenHost !== '0.0.0.0' && o.listenHost !== '::') return pick([o.listenHost]);
  return pick(v4.filter((e) => !e.internal).map((e) => e.address));
}

/** The sender is on the network of one of the interfaces (its address under that netmask). */
export function onLsdNetwork(sender: string, interfaces: readonly LsdInterface[]): boolean {
  const s = ipv4Number(sender);
  if (s === undefined) return false;
  return interfaces.some((i) => {
    const a = ipv4Number(i.address);
    const m = ipv4Number(i.netmask);
    return a !== undefined && m !== undefined && (s & m) >>> 0 === (a & m) >>> 0;
  });
}
