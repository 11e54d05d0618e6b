/**
 * BEP 11, Peer Exchange (`ut_pex`), carried in BEP 10 extended messages under the id each side gave
 * it in its extension handshake (`m: { ut_pex: <id> }`). Each message is one bencoded dictionary of
 * compact address strings (BEP 23: 4 bytes of IPv4 address, or 16 of IPv6, then a 2-byte port, all
 * big-endian) and one flag byte per added peer:
 *
 *   <len><id=20><ut_pex id>d5:added<6n bytes>7:added.f<n bytes>6:added6<18m bytes>8:added6.f<m bytes>
 *                             7:dropped<6k bytes>8:dropped6<18j bytes>e
 *
 * `added` are peers the sender connected to since its last message to us (all of them in the
 * first), `dropped` those it lost. The convention of Azureus and µTorrent, which Transmission keeps:
 * at most 50 added and 50 dropped a message, at most one message a minute. libtorrent sends up to
 * 100 added, and ignores `added` unless `added.f` has one byte for each: we always send both.
 * This file is the message type, the limits and the encoder, pure (no Buffer) so the peer machine
 * can encode; the decoder, which needs the bencode decoder, is `decode-ut-pex.ts`.
 */
import { compactHostPort } from '../net/compact-address.js';

/** The extension's name in the BEP 10 handshake's `m` dictionary. */
export const UT_PEX = 'ut_pex';

/** The extended message id we take ut_pex messages under (ut_metadata has 1). */
export const OUR_UT_PEX_ID = 2;

/** BEP 11's flag bits of an added peer (one byte each, in `added.f` / `added6.f`). */
export const PexFlag = {
  /** It prefers encrypted connections (MSE). */
  encryption: 0x01,
  /** It has every piece. */
  seed: 0x02,
  utp: 0x04,
  holepunch: 0x08,
  /** The sender reached it by dialling it (an outgoing connection): it accepts connections. */
  reachable: 0x10,
} as const;

/** Added peers we put in one message, and dropped ones (the Azureus/µTorrent convention). */
export const MAX_PEX_SENT = 50;

/**
 * Added peers we take from one message, IPv4 and IPv6 together; the rest are ignored (libtorrent
 * sends up to 100; Transmission takes 50). Dropped ones are read up to the same bound.
 */
export const MAX_PEX_ACCEPTED = 100;

/**
 * The largest ut_pex payload we decode: 8 KiB. 100 added and 100 dropped IPv6 peers with their
 * flags are 3,700 bytes; a bigger message is no honest PEX message, and it is refused before
 * anything is decoded (libtorrent closes past 500 KiB).
 */
export const MAX_UT_PEX_PAYLOAD = 8 * 1024;

/** The bencoded values a ut_pex dictionary may hold: six keys and their strings, and room for more. */
export const UT_PEX_MAX_TOKENS = 64;

/** An address in a ut_pex message: `host:port` or `[v6]:port`, and (added ones) its flags. */
export interface PexPeer {
  readonly address: string;
  readonly flags: number;
}

export interface UtPexMessage {
  /** Peers the sender connected to (IPv4 ones first, then IPv6), at most MAX_PEX_ACCEPTED decoded. */
  readonly added: readonly PexPeer[];
  /** Peers the sender lost. */
  readonly dropped: readonly string[];
}

/**
 * The compact form (BEP 23) of `host:port` / `[v6]:port` (src/net/compact-address.ts): undefined
 * for a host name or a port outside 1–65535, which no compact string can carry.
 */
export function compactAddress(address: string): Uint8Array | undefined {
  const v6 = address.startsWith('[');
  const cut = address.lastIndexOf(':');
  const host = v6 ? address.slice(1, address.lastIndexOf(']')) : address.slice(0, cut);
  // An IPv6 host is written in brackets, and only an IPv6 host.
  if (v6 !== host.includes(':')) return undefined;
  return compactHostPort(host, Number(address.slice(cut + 1)));
}

const encoder = new TextEncoder();

/**
 * The payload of an extended message (after the ut_pex id byte): all six keys, in byte order
 * (BEP 3), empty strings where there is nothing. An address no compact string can carry (a host
 * name) is left out; callers give at most MAX_PEX_SENT of each list. A unit test checks the bytes
 * against the bencode encoder.
 */
export function encodeUtPex(message: UtPexMessage): Uint8Array {
  const added4: Uint8Array[] = [];
  const flags4: number[] = [];
  const added6: Uint8Array[] = [];
  const flags6: number[] = [];
  for (const p of message.added) {
    const c = compactAddress(p.address);
    if (c === undefined) continue;
    (c.length === 6 ? added4 : added6).push(c);
    (c.length === 6 ? flags4 : flags6).push(p.flags & 0xff);
  }
  const dropped4: Uint8Array[] = [];
  const dropped6: Uint8Array[] = [];
  for (const a of message.dropped) {
    const c = compactAddress(a);
    if (c !== undefined) (c.length === 6 ? dropped4 : dropped6).push(c);
  }
  const parts: Uint8Array[] = [encoder.encode('d')];
  const field = (key: string, value: Uint8Array) => {
    parts.push(encoder.encode(`${key.length}:${key}${value.length}:`), value);
  };
  const join = (list: Uint8Array[]) => {
    const out = new Uint8Array(list.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of list) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  };
  field('added', join(added4));
  field('added.f', Uint8Array.from(flags4));
  field('added6', join(added6));
  field('added6.f', Uint8Array.from(flags6));
  field('dropped', join(dropped4));
  field('dropped6', join(dropped6));
  parts.push(encoder.encode('e'));
  return join(parts);
}
