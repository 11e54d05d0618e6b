/**
 * The IP filter (docs/blocklist.md) where a host name becomes addresses: node:dns's lookup without
 * the addresses the filter blocks, for every connection we open to a name — a peer's dial (a
 * `--peer` or a tracker's dictionary peer may name one: peer-dial.ts), an http(s) tracker's request
 * and a udp one's socket (libtorrent's `apply_ip_filter_to_trackers`, on by default), and any of
 * these, or a web seed's, named through a socks5:// proxy, which we resolve for it (proxy-dialer.ts).
 * A name that resolves only to blocked addresses fails with the code `blocked`, before a packet is
 * sent, as libtorrent drops the blocked endpoints of a name and fails with banned_by_ip_filter when
 * none is left. Node calls a `lookup` only for a name, never for an IP address: those are the
 * caller's to ask (`IpRangeSet.hasHost`).
 */
import { type LookupAddress, lookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { IpRangeSet } from './ip-range-set.js';

/** The error code of a name whose every address the filter blocks. */
export const BLOCKED_CODE = 'blocked';

export function filteredLookup(blocklist: IpRangeSet): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (err, found: LookupAddress[]) => {
      if (err !== null) return callback(err, '', 0);
      const allowed = found.filter((a) => !blocklist.hasHost(a.address));
      if (allowed.length === 0) {
        const blocked: NodeJS.ErrnoException = new Error(`${hostname} resolves to a blocked address`);
        blocked.code = BLOCKED_CODE;
        return callback(blocked, '', 0);
      }
      if (options.all === true)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}
