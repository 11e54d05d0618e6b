/**
 * KRPC (BEP 5): one bencoded dictionary per UDP datagram.
 *
 *   query     {t: <tx>, y: "q", q: <method>, a: {id: <20>, …}}
 *   response  {t: <tx>, y: "r", r: {id: <20>, nodes?: <26·n>, values?: [<6>…], token?: <bytes>}}
 *   error     {t: <tx>, y: "e", e: [<code>, <message>]}
 *
 * A response may carry BEP 42's top-level `ip`: the requester's address as the responder sees it
 * (compact `<ip 4><port 2>`), from which a node learns its external address (external-ip-vote.ts).
 * We put it in our responses; one of another length (BEP 32's 18 bytes) is ignored.
 *
 * Methods: ping, find_node {target}, get_peers {info_hash}, announce_peer {info_hash, port, token,
 * implied_port?}. Any other method decodes as `other` (we answer 204, Method Unknown). A query's
 * `ro: 1` (BEP 43: a read-only node, which answers no queries) is `readOnly`. Other unknown keys
 * (libtorrent's `v`, BEP 32's `want`/`nodes6`, a query's `ip`) are ignored. A datagram is decoded only
 * when at most MAX_DATAGRAM_BYTES and at most MAX_KRPC_TOKENS values; anything malformed is a
 * DhtError, never another exception.
 */
import { BencodeDict, type BencodeValue, bdecode, latin1 } from '../metainfo/bdecode.js';
import { bencode } from '../metainfo/bencode.js';
import type { PeerAddress } from '../net/address.js';
import {
  COMPACT_PEER_BYTES,
  type DhtNodeInfo,
  decodeCompactNodes,
  decodeCompactPeer,
  encodeCompactNodes,
  encodeCompactPeers,
} from './compact.js';
import { DhtError } from './dht-error.js';
import { NODE_ID_BYTES } from './node-id.js';

/**
 * The largest datagram decoded. Real ones stay under an Ethernet MTU (~1,500 bytes: a full
 * get_peers answer is 8 nodes = 208 bytes plus up to ~100 values = 800); libtorrent sends at most
 * about that. Larger ones are dropped unread.
 */
export const MAX_DATAGRAM_BYTES = 2048;
/** Bencoded values a datagram may hold (a 2 KiB datagram of 6-byte values holds ~250). */
export const MAX_KRPC_TOKENS = 512;
/** Transaction ids longer than this are refused (ours are 2 bytes; libtorrent's too). */
export const MAX_TRANSACTION_ID_BYTES = 16;
/** Tokens longer than this are refused (ours are 8 bytes; libtorrent's 4). */
export const MAX_TOKEN_BYTES = 64;

export type KrpcQuery =
  | { readonly q: 'ping'; readonly id: Uint8Array }
  | { readonly q: 'find_node'; readonly id: Uint8Array; readonly target: Uint8Array }
  | { readonly q: 'get_peers'; readonly id: Uint8Array; readonly infoHash: Uint8Array }
  | {
      readonly q: 'announce_peer';
      readonly id: Uint8Array;
      readonly infoHash: Uint8Array;
      readonly port: number;
      readonly impliedPort: boolean;
      readonly token: Uint8Array;
    }
  | { readonly q: 'other'; readonly id: Uint8Array; readonly method: string };

export interface KrpcResponseBody {
  readonly id: Uint8Array;
  readonly nodes?: readonly DhtNodeInfo[];
  readonly values?: readonly PeerAddress[];
  readonly token?: Uint8Array;
}

export type KrpcMessage =
  | {
      readonly y: 'q';
      readonly t: Uint8Array;
      readonly query: KrpcQuery;
      /** BEP 43: the sender answers no queries, so it never goes in a routing table. */
      readonly readOnly?: boolean;
    }
  | {
      readonly y: 'r';
      readonly t: Uint8Array;
      readonly response: KrpcResponseBody;
      /** BEP 42: where the responder saw our query come from. */
      readonly ip?: PeerAddress;
    }
  | { readonly y: 'e'; readonly t: Uint8Array; readonly code: number; readonly message: string };

/** BEP 5's error codes. */
export const KRPC_GENERIC_ERROR = 201;
export const KRPC_SERVER_ERROR = 202;
export const KRPC_PROTOCOL_ERROR = 203;
export const KRPC_METHOD_UNKNOWN = 204;

function malformed(message: string): DhtError {
  return new DhtError('malformed', `krpc: ${message}`);
}

function dict(v: BencodeValue | undefined, what: string): BencodeDict {
  if (!(v instanceof BencodeDict)) throw malformed(`${what} is not a dictionary`);
  return v;
}

function bytes(v: BencodeValue | undefined, what: string, exact?: number, max?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw malformed(`${what} is not a string`);
  if (exact !== undefined && v.length !== exact)
    throw malformed(`${what} is ${v.length} bytes, not ${exact}`);
  if (max !== undefined && v.length > max) throw malformed(`${what} is ${v.length} bytes, more than ${max}`);
  return v;
}

function int(v: BencodeValue | undefined, what: string, min: number, max: number): number {
  if (typeof v !== 'bigint' || v < BigInt(min) || v > BigInt(max))
    throw malformed(`${what} is not an integer in ${min}..${max}`);
  return Number(v);
}

function id(args: BencodeDict): Uint8Array {
  return bytes(args.get('id'), 'id', NODE_ID_BYTES);
}

function decodeQuery(method: string, args: BencodeDict): KrpcQuery {
  switch (method) {
    case 'ping':
      return { q: 'ping', id: id(args) };
    case 'find_node':
      return { q: 'find_node', id: id(args), target: bytes(args.get('target'), 'target', NODE_ID_BYTES) };
    case 'get_peers':
      return {
        q: 'get_peers',
        id: id(args),
        infoHash: bytes(args.get('info_hash'), 'info_hash', NODE_ID_BYTES),
      };
    case 'announce_peer': {
      const implied = args.get('implied_port');
      const impliedPort = implied !== undefined && int(implied, 'implied_port', 0, 1) === 1;
      // With implied_port the port is the datagram's source port; `port` may then be anything.
      const port = impliedPort ? 0 : int(args.get('port'), 'port', 1, 65535);
      return {
        q: 'announce_peer',
        id: id(args),
        infoHash: bytes(args.get('info_hash'), 'info_hash', NODE_ID_BYTES),
        port,
        impliedPort,
        token: bytes(args.get('token'), 'token', undefined, MAX_TOKEN_BYTES),
      };
    }
    default:
      return { q: 'other', id: id(args), method: method.slice(0, 32) };
  }
}

function decodeResponse(r: BencodeDict): KrpcResponseBody {
  const nodesValue = r.get('nodes');
  const valuesValue = r.get('values');
  const tokenValue = r.get('token');
  let values: PeerAddress[] | undefined;
  if (valuesValue !== undefined) {
    if (!Array.isArray(valuesValue)) throw malformed('values is not a list');
    values = [];
    for (const v of valuesValue) {
      const p = decodeCompactPeer(bytes(v, 'a value'));
      if (p !== undefined) values.push(p);
    }
  }
  return {
    id: id(r),
    ...(nodesValue === undefined ? {} : { nodes: decodeCompactNodes(bytes(nodesValue, 'nodes')) }),
    ...(values === undefined ? {} : { values }),
    ...(tokenValue === undefined ? {} : { token: bytes(tokenValue, 'token', undefined, MAX_TOKEN_BYTES) }),
  };
}

/** Decodes one datagram. Throws only DhtError. */
export function decodeKrpc(datagram: Uint8Array): KrpcMessage {
  if (datagram.length > MAX_DATAGRAM_BYTES)
    throw new DhtError(
      'tooLarge',
      `krpc: a datagram of ${datagram.length} bytes, more than ${MAX_DATAGRAM_BYTES}`,
      {
        limit: MAX_DATAGRAM_BYTES,
      },
    );
  let root: BencodeValue;
  try {
    root = bdecode(datagram, { maxTokens: MAX_KRPC_TOKENS });
  } catch (cause) {
    throw new DhtError('malformed', `krpc: not bencode (${(cause as Error).message})`, { cause });
  }
  const m = dict(root, 'the message');
  const t = bytes(m.get('t'), 't', undefined, MAX_TRANSACTION_ID_BYTES);
  const y = latin1(bytes(m.get('y'), 'y'));
  switch (y) {
    case 'q': {
      let query: KrpcQuery;
      let ro: BencodeValue | undefined;
      try {
        const a = dict(m.get('a'), 'a');
        ro = m.get('ro') ?? a.get('ro');
        query = decodeQuery(latin1(bytes(m.get('q'), 'q', undefined, 64)), a);
      } catch (err) {
        // A query with bad arguments is answered 203 (BEP 5; libtorrent's incoming_error): its t.
        if (!(err instanceof DhtError)) throw err;
        throw new DhtError('malformed', err.message, { queryTransactionId: t });
      }
      return { y: 'q', t, query, ...(typeof ro === 'bigint' && ro !== 0n ? { readOnly: true } : {}) };
    }
    case 'r': {
      const response = decodeResponse(dict(m.get('r'), 'r'));
      const ipValue = m.get('ip');
      const ip =
        ipValue instanceof Uint8Array && ipValue.length === COMPACT_PEER_BYTES
          ? decodeCompactPeer(ipValue)
          : undefined;
      return { y: 'r', t, response, ...(ip === undefined ? {} : { ip }) };
    }
    case 'e': {
      const e = m.get('e');
      if (!Array.isArray(e) || e.length < 2) throw malformed('e is not [code, message]');
      return {
        y: 'e',
        t,
        code: int(e[0], 'error code', 0, 2 ** 31),
        message: latin1(bytes(e[1], 'error message', undefined, 256)),
      };
    }
    default:
      throw malformed(`y is '${y.slice(0, 8)}'`);
  }
}

function queryArgs(query: KrpcQuery): { [key: string]: Uint8Array | number } {
  switch (query.q) {
    case 'ping':
      return { id: query.id };
    case 'find_node':
      return { id: query.id, target: query.target };
    case 'get_peers':
      return { id: query.id, info_hash: query.infoHash };
    case 'announce_peer':
      return {
        id: query.id,
        info_hash: query.infoHash,
        port: query.port,
        token: query.token,
        ...(query.impliedPort ? { implied_port: 1 } : {}),
      };
    case 'other':
      return { id: query.id };
  }
}

export function encodeKrpc(message: KrpcMessage): Uint8Array {
  switch (message.y) {
    case 'q':
      return bencode({
        t: message.t,
        y: 'q',
        q: message.query.q === 'other' ? message.query.method : message.query.q,
        a: queryArgs(message.query),
        ...(message.readOnly === true ? { ro: 1 } : {}),
      });
    case 'r': {
      const r = message.response;
      const ip = message.ip === undefined ? undefined : encodeCompactPeers([message.ip])[0];
      return bencode({
        t: message.t,
        y: 'r',
        r: {
          id: r.id,
          ...(r.nodes === undefined ? {} : { nodes: encodeCompactNodes(r.nodes) }),
          ...(r.values === undefined ? {} : { values: encodeCompactPeers(r.values) }),
          ...(r.token === undefined ? {} : { token: r.token }),
        },
        ...(ip === undefined ? {} : { ip }),
      });
    }
    case 'e':
      return bencode({ t: message.t, y: 'e', e: [message.code, message.message] });
  }
}
