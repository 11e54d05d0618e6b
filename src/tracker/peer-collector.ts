/**
 * The peers one announce answer may hand to the torrent: at most MAX_ANNOUNCE_PEERS, each once,
 * none that cannot be dialled. Shared by the HTTP (BEP 3/23/7) and UDP (BEP 15) parsers, which stop
 * reading peers once it is full.
 *
 * Why a cap: a 1 MiB answer holds 174,760 compact peers; each address the torrent learns past its
 * full address book costs a pass over the book (machines/torrent-address-book.ts), so one such
 * answer held the main thread ~48 s (a 64 MiB download from a local seeder: 1.8 s → 50 s). An
 * honest tracker sends what it was asked (numwant; 50 by default, at most 200 for opentracker and
 * libtorrent's default num_want).
 */
import { formatIpv6 } from '../net/ban-key.js';
import { isDialableHost } from '../net/dialable-host.js';
import type { TrackerPeer } from './announce-types.js';

/** Most peers taken from one announce answer (libtorrent's default num_want; opentracker's cap). */
export const MAX_ANNOUNCE_PEERS = 200;

export class PeerCollector {
  readonly peers: TrackerPeer[] = [];
  readonly #seen = new Set<string>();
  readonly #max: number;

  constructor(max = MAX_ANNOUNCE_PEERS) {
    this.#max = max;
  }

  /** True once MAX_ANNOUNCE_PEERS peers are kept: the parser may stop reading. */
  get full(): boolean {
    return this.peers.length >= this.#max;
  }

  /** Keeps `peer` unless the list is full, its port is 0, its host cannot be dialled, or it came already. */
  add(peer: TrackerPeer): void {
    if (this.full || peer.port < 1 || peer.port > 65535 || !isDialableHost(peer.host)) return;
    const key = `${peer.host}|${peer.port}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.peers.push(peer);
  }

  /**
   * Compact peers (BEP 23, BEP 7, BEP 15): `<ip:4|16><port:2>` each, read until the list is full.
   * The caller checks that `bytes` holds whole entries. A port-0 entry is skipped before its host is
   * spelled (an IPv6 address goes through the URL parser).
   */
  addCompact(bytes: Uint8Array, family: 4 | 6): void {
    const size = family === 4 ? 6 : 18;
    for (let i = 0; i + size <= bytes.length && !this.full; i += size) {
      const port = (bytes[i + size - 2]! << 8) | bytes[i + size - 1]!;
      if (port === 0) continue;
      const host =
        family === 4
          ? `${bytes[i]}.${bytes[i + 1]}.${bytes[i + 2]}.${bytes[i + 3]}`
          : ipv6(bytes.subarray(i, i + 16));
      this.add({ host, port });
    }
  }
}

/** 16 bytes as an RFC 5952 IPv6 address (formatIpv6, the ban key's spelling). */
export function ipv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  return formatIpv6(groups);
}
