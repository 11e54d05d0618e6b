/**
 * Compact encodings of BEP 5 (IPv4):
 *
 *   compact peer info  <ip: 4><port: 2>                     6 bytes (the `values` of get_peers)
 *   compact node info  <id: 20><ip: 4><port: 2>            26 bytes (the `nodes` of a response)
 *
 * Ports are big-endian; an entry with port 0 is skipped (nobody can be reached there).
 */
import type { PeerAddress } from '../net/address.js';
import { compactHostPort, ipv4OfCompact, portOfCompact } from '../net/compact-address.js';
import { DhtError } from './dht-error.js';
import { NODE_ID_BYTES } from './node-id.js';

export const COMPACT_PEER_BYTES = 6;
export const COMPACT_NODE_BYTES = NODE_ID_BYTES + COMPACT_PEER_BYTES;

/** A DHT node: its id and where it answers. */
export interface DhtNodeInfo {
  readonly id: Uint8Array;
  readonly host: string;
  readonly port: number;
}

/** Writes `host:port` (dotted IPv4, or IPv4-mapped IPv6) at `at`; false for anything else (an IPv6 or a name). */
function writeAddress(out: Uint8Array, at: number, host: string, port: number): boolean {
  const compact = compactHostPort(host, port);
  if (compact?.length !== COMPACT_PEER_BYTES) return false;
  out.set(compact, at);
  return true;
}

function readAddress(b: Uint8Array, at: number): PeerAddress {
  return { host: ipv4OfCompact(b, at), port: portOfCompact(b, at, COMPACT_PEER_BYTES) };
}

export function encodeCompactPeers(peers: readonly PeerAddress[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of peers) {
    const b = new Uint8Array(COMPACT_PEER_BYTES);
    if (writeAddress(b, 0, p.host, p.port)) out.push(b);
  }
  return out;
}

/** One `values` entry; a wrong length is malformed. Port 0: undefined. */
export function decodeCompactPeer(b: Uint8Array): PeerAddress | undefined {
  if (b.length !== COMPACT_PEER_BYTES)
    throw new DhtError('malformed', `a compact peer is ${COMPACT_PEER_BYTES} bytes, not ${b.length}`);
  const a = readAddress(b, 0);
  return a.port === 0 ? undefined : a;
}

export function encodeCompactNodes(nodes: readonly DhtNodeInfo[]): Uint8Array {
  const out = new Uint8Array(nodes.length * COMPACT_NODE_BYTES);
  let at = 0;
  for (const n of nodes) {
    if (n.id.length !== NODE_ID_BYTES || !writeAddress(out, at + NODE_ID_BYTES, n.host, n.port)) continue;
    out.set(n.id, at);
    at += COMPACT_NODE_BYTES;
  }
  return out.subarray(0, at);
}

/** The `nodes` string: a whole number of 26-byte entries, else malformed. */
export function decodeCompactNodes(b: Uint8Array): DhtNodeInfo[] {
  if (b.length % COMPACT_NODE_BYTES !== 0)
    throw new DhtError('malformed', `nodes of ${b.length} bytes is not a multiple of ${COMPACT_NODE_BYTES}`);
  const out: DhtNodeInfo[] = [];
  for (let at = 0; at < b.length; at += COMPACT_NODE_BYTES) {
    const { host, port } = readAddress(b, at + NODE_ID_BYTES);
    if (port === 0) continue;
    // A copy: a view would keep the whole datagram alive as long as the id.
    out.push({ id: new Uint8Array(b.subarray(at, at + NODE_ID_BYTES)), host, port });
  }
  return out;
}
