/**
 * One DHT node on a UDP socket (BEP 5): its own, or one shared with uTP (src/net/udp-endpoint.ts,
 * which hands it the datagrams that start with 'd', the KRPC ones). Sends our queries and matches
 * their answers by transaction id (random) and source address, each waited for at most
 * `queryTimeoutMs`; answers the queries of others from the routing table, the token secrets and the
 * peer store. Every node that answers or queries us is offered to the routing table.
 *
 * BEP 42: each answer we give carries `ip`, where we saw its requester; the `ip` of answers to our
 * queries is voted over distinct responders (external-ip-vote.ts), and once the vote gives an
 * address our id does not match, our id becomes a BEP 42 id for it (secure-node-id.ts) and the
 * routing table is rebuilt around it.
 *
 * Bounds against a hostile sender: a datagram over MAX_DATAGRAM_BYTES is dropped unread; at most
 * MAX_PENDING_QUERIES of our queries wait at once; we answer at most MAX_ANSWERS_PER_SOURCE queries
 * a second to one address and MAX_ANSWERS_PER_SECOND in all (the rest are dropped unanswered), so
 * a flood can neither make us amplify it nor grow anything past the table's and store's bounds.
 */
import { randomInt } from 'node:crypto';
import type { PeerAddress } from '../net/address.js';
import { type DatagramSource, UdpEndpoint } from '../net/udp-endpoint.js';
import { DhtError } from './dht-error.js';
import { ExternalIpVote } from './external-ip-vote.js';
import {
  decodeKrpc,
  encodeKrpc,
  KRPC_METHOD_UNKNOWN,
  KRPC_PROTOCOL_ERROR,
  type KrpcMessage,
  type KrpcQuery,
  type KrpcResponseBody,
  MAX_DATAGRAM_BYTES,
} from './krpc.js';
import { idHex, randomNodeId } from './node-id.js';
import { PeerStore } from './peer-store.js';
import { addressKey, K, RoutingTable } from './routing-table.js';
import { isVerifiedNodeId, secureNodeId } from './secure-node-id.js';
import { TokenSecrets } from './tokens.js';

/** How long one of our queries waits for its answer. */
export const DEFAULT_QUERY_TIMEOUT_MS = 2000;
/** Our queries waiting at once; more fail at once (lookups keep α = 3 each in flight). */
export const MAX_PENDING_QUERIES = 256;
/** Queries answered per second to one address (host:port). */
export const MAX_ANSWERS_PER_SOURCE = 20;
/** Queries answered per second in all. */
export const MAX_ANSWERS_PER_SECOND = 250;
/**
 * Bytes of answers per second in all. A get_peers answer with 50 values is ~700 bytes for a query
 * of ~90: without this, 250 answers a second sent ~170 KB/s to whatever source addresses a flood
 * forged (libtorrent's dht_upload_rate_limit is 8,000 bytes/s). Honest load is a few queries a
 * second.
 */
export const MAX_ANSWER_BYTES_PER_SECOND = 16 * 1024;
/** Sources counted within one second; past it, a new source is not answered until the next. */
export const MAX_COUNTED_SOURCES = 1024;
/** Pings in flight at once to nodes that queried us, before they are taken in the routing table. */
export const MAX_VERIFY_PINGS = 16;
/** Pings in flight at once to full buckets' questionable nodes, for the replacements waiting there. */
export const MAX_REPLACEMENT_PINGS = 16;

/** A loopback address: every node there shares one IP (tests), so one node per IP cannot hold. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || /^127\./.test(host) || host === '::1';
}

/** The UDP socket a node runs on: one it binds, or a bound endpoint shared with uTP. */
export type DhtNodeSocket =
  | {
      /** Address to bind (default '0.0.0.0'). */
      readonly host?: string;
      /** UDP port (0 = any). */
      readonly port: number;
      readonly endpoint?: undefined;
    }
  | {
      /** Used as it is bound, and left open when the node closes: its owner closes it. */
      readonly endpoint: UdpEndpoint;
      readonly host?: undefined;
      readonly port?: undefined;
    };

export type DhtNodeOptions = DhtNodeSocket & {
  readonly id?: Uint8Array;
  readonly queryTimeoutMs?: number;
  /** The clock (ms); performance.now by default. */
  readonly now?: () => number;
  /**
   * One routing table place per IP, and per IPv4 /24 in a bucket (libtorrent's
   * dht_restrict_routing_ips); default: on, but off when bound to a loopback address, where every
   * node shares 127.0.0.1.
   */
  readonly restrictRoutingIps?: boolean;
  /**
   * Our external IPv4 address as an earlier run knew it (the saved state): without `id`, our id is
   * derived from it (BEP 42); the vote over answers' `ip` keys decides from then on.
   */
  readonly externalAddress?: string;
};

export interface DhtNodeStats {
  queriesSent: number;
  answersReceived: number;
  timeouts: number;
  queriesAnswered: number;
  queriesDropped: number;
  malformed: number;
  /** Answers that said where they saw us from (BEP 42's `ip`). */
  addressReports: number;
}

interface Pending {
  readonly address: string;
  readonly resolve: (r: KrpcResponseBody | undefined) => void;
  readonly timer: NodeJS.Timeout;
}

export class DhtNode {
  #id: Uint8Array;
  readonly table: RoutingTable;
  readonly store = new PeerStore();
  readonly stats: DhtNodeStats = {
    queriesSent: 0,
    answersReceived: 0,
    timeouts: 0,
    queriesAnswered: 0,
    queriesDropped: 0,
    malformed: 0,
    addressReports: 0,
  };
  readonly #endpoint: UdpEndpoint;
  /** Whether the endpoint is ours to close (opened by `open`, not given). */
  readonly #ownsEndpoint: boolean;
  readonly #stopReceiving: () => void;
  readonly #now: () => number;
  readonly #queryTimeoutMs: number;
  readonly #tokens: TokenSecrets;
  readonly #pending = new Map<number, Pending>();
  #closed = false;
  /** Rate limit: the current second and what was answered in it. */
  #window = -1;
  #answered = 0;
  #answeredBytes = 0;
  readonly #perSource = new Map<string, number>();
  /** Addresses of nodes that queried us, pinged before they may enter the table. */
  readonly #verifying = new Set<string>();
  /** Addresses of questionable nodes pinged for a replacement waiting in their bucket. */
  readonly #replacing = new Set<string>();
  readonly #vote: ExternalIpVote;
  readonly #idListeners = new Set<(id: Uint8Array) => void>();

  private constructor(endpoint: UdpEndpoint, ownsEndpoint: boolean, opts: DhtNodeOptions) {
    this.#endpoint = endpoint;
    this.#ownsEndpoint = ownsEndpoint;
    this.#now = opts.now ?? (() => performance.now());
    this.#queryTimeoutMs = opts.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    const external = opts.externalAddress;
    this.#id =
      opts.id ??
      (external === undefined ? undefined : secureNodeId(external, randomNodeId())) ??
      randomNodeId();
    this.#vote = new ExternalIpVote(this.#now(), external);
    this.table = new RoutingTable(this.#id, this.#now(), {
      restrictIps: opts.restrictRoutingIps ?? !isLoopback(endpoint.host),
    });
    this.#tokens = new TokenSecrets(this.#now());
    // Send errors (an ICMP port unreachable) are the endpoint's to swallow: the query times out.
    this.#stopReceiving = endpoint.onKrpc((msg, from) => this.#onDatagram(msg, from));
  }

  /**
   * Runs on `opts.endpoint`, or binds a socket of its own at `opts.port` (rejects, EADDRINUSE …,
   * when it cannot). Rejects too when the endpoint has a KRPC handler already (another node).
   */
  static async open(opts: DhtNodeOptions): Promise<DhtNode> {
    if (opts.endpoint !== undefined) return new DhtNode(opts.endpoint, false, opts);
    const endpoint = await UdpEndpoint.open({
      port: opts.port,
      ...(opts.host === undefined ? {} : { host: opts.host }),
    });
    return new DhtNode(endpoint, true, opts);
  }

  /** Our node id: BEP 42's for our external address once that is known (see #learnAddress). */
  get id(): Uint8Array {
    return this.#id;
  }

  /** Our external IPv4 address as voted by the nodes answering us (BEP 42), once known. */
  get externalAddress(): string | undefined {
    return this.#vote.address;
  }

  /** Calls `listener` with our new id each time it changes; returns what stops that. */
  onIdChanged(listener: (id: Uint8Array) => void): () => void {
    this.#idListeners.add(listener);
    return () => this.#idListeners.delete(listener);
  }

  get port(): number {
    return this.#endpoint.port;
  }

  get host(): string {
    return this.#endpoint.host;
  }

  get pendingQueries(): number {
    return this.#pending.size;
  }

  /** Sends `query` to `to`; its answer, or undefined after the timeout, an error reply or close. */
  query(to: PeerAddress, query: KrpcQuery): Promise<KrpcResponseBody | undefined> {
    if (this.#closed || this.#pending.size >= MAX_PENDING_QUERIES) return Promise.resolve(undefined);
    // A random id, as libtorrent's rpc_manager: an answer counts only with it (and from the address
    // asked), so a node that saw one of our queries must not be able to name the next ones — else a
    // host forging source addresses could answer as the nodes it told us of, and vote our address
    // (BEP 42) and our id wherever it likes. ≤ MAX_PENDING_QUERIES of 65,536 are taken: a draw or two.
    let tx = randomInt(0x10000);
    while (this.#pending.has(tx)) tx = randomInt(0x10000);
    const t = Uint8Array.of(tx >> 8, tx & 0xff);
    const address = `${to.host}:${to.port}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(tx);
        this.stats.timeouts++;
        this.table.failed(to.host, to.port, this.#now());
        resolve(undefined);
      }, this.#queryTimeoutMs);
      this.#pending.set(tx, { address, resolve, timer });
      this.stats.queriesSent++;
      this.#send(encodeKrpc({ y: 'q', t, query }), to.port, to.host);
    });
  }

  /** An answer (or error) to a query: counted against MAX_ANSWER_BYTES_PER_SECOND. */
  #sendAnswer(datagram: Uint8Array, port: number, host: string): void {
    this.#answeredBytes += datagram.length;
    this.#send(datagram, port, host);
  }

  #send(datagram: Uint8Array, port: number, host: string): void {
    if (this.#closed) return;
    this.#endpoint.send(datagram, port, host);
  }

  #onDatagram(msg: Buffer, rinfo: DatagramSource): void {
    if (this.#closed) return;
    let m: KrpcMessage;
    try {
      if (msg.length > MAX_DATAGRAM_BYTES) throw new DhtError('tooLarge', 'oversized datagram');
      m = decodeKrpc(msg);
    } catch (err) {
      if (!(err instanceof DhtError)) throw err;
      this.stats.malformed++;
      // A query whose arguments are wrong: error 203 with what was wrong (BEP 5), as libtorrent;
      // rate-limited as any answer, and never larger than a few dozen bytes.
      const t = err.queryTransactionId;
      if (t !== undefined && this.#mayAnswer(`${rinfo.address}:${rinfo.port}`))
        this.#sendAnswer(
          encodeKrpc({ y: 'e', t, code: KRPC_PROTOCOL_ERROR, message: err.message.slice(0, 64) }),
          rinfo.port,
          rinfo.address,
        );
      return;
    }
    const address = `${rinfo.address}:${rinfo.port}`;
    if (m.y === 'q') {
      this.#answer(m.t, m.query, rinfo, m.readOnly === true);
      return;
    }
    const tx = m.t.length === 2 ? (m.t[0]! << 8) | m.t[1]! : -1;
    const pending = this.#pending.get(tx);
    // Not ours, or from another address than we asked: ignored (an answer cannot be forged by a
    // third party that does not see our transaction ids).
    if (pending === undefined || pending.address !== address) return;
    this.#pending.delete(tx);
    clearTimeout(pending.timer);
    if (m.y === 'e') {
      pending.resolve(undefined);
      return;
    }
    this.stats.answersReceived++;
    if (m.ip !== undefined) this.#learnAddress(m.ip.host, rinfo.address);
    if (!this.table.heard({ id: m.response.id, host: rinfo.address, port: rinfo.port }, this.#now(), true))
      this.#pingForReplacement(m.response.id);
    pending.resolve(m.response);
  }

  /**
   * A node we asked (the answer came from the address we asked, with our transaction id) says it
   * saw us at `reported`: a vote (external-ip-vote.ts). Once the vote gives an address our id does
   * not match, our id becomes a BEP 42 id for it and the routing table is rebuilt around it (as
   * libtorrent's update_node_id); an id that matches already is kept.
   */
  #learnAddress(reported: string, voter: string): void {
    this.stats.addressReports++;
    const now = this.#now();
    const address = this.#vote.vote(reported, voter, now);
    if (address === undefined || isVerifiedNodeId(this.#id, address)) return;
    const id = secureNodeId(address, randomNodeId());
    if (id === undefined) return;
    this.#id = id;
    this.table.rekey(id, now);
    for (const listener of this.#idListeners) listener(id);
  }

  /** Whether the rate limit lets us answer this source now (see the file comment). */
  #mayAnswer(address: string): boolean {
    const second = Math.floor(this.#now() / 1000);
    if (second !== this.#window) {
      this.#window = second;
      this.#answered = 0;
      this.#answeredBytes = 0;
      this.#perSource.clear();
    }
    if (this.#answered >= MAX_ANSWERS_PER_SECOND || this.#answeredBytes >= MAX_ANSWER_BYTES_PER_SECOND)
      return false;
    const n = this.#perSource.get(address) ?? 0;
    if (n >= MAX_ANSWERS_PER_SOURCE) return false;
    if (n === 0 && this.#perSource.size >= MAX_COUNTED_SOURCES) return false;
    this.#perSource.set(address, n + 1);
    this.#answered++;
    return true;
  }

  /**
   * A node that queried us and is not in the table: pinged, and taken only if it answers (the
   * answer's id, from the address we asked). A forged source never sees the ping's transaction id.
   */
  #verify(info: { id: Uint8Array; host: string; port: number }): void {
    const address = `${info.host}:${info.port}`;
    if (this.#verifying.size >= MAX_VERIFY_PINGS || this.#verifying.has(address)) return;
    if (!this.table.mayTake(info)) return;
    this.#verifying.add(address);
    void this.query(info, { q: 'ping', id: this.id }).then(() => this.#verifying.delete(address));
  }

  /**
   * A node that answered us waits as a replacement in a full bucket (or was refused): ping that
   * bucket's questionable nodes, least recently seen first, one at a time, until one fails
   * MAX_NODE_FAILURES times in a row (it is then bad, and the replacement takes its place) or none is
   * questionable (BEP 5). `budget` bounds the pings of one such round (two per node), so a node that
   * answers each ping with an error (neither an answer nor a failure) cannot keep it going.
   */
  #pingForReplacement(id: Uint8Array, budget = 2 * K): void {
    if (this.#closed || budget <= 0 || this.#replacing.size >= MAX_REPLACEMENT_PINGS) return;
    const n = this.table.toPingForReplacement(id, this.#now(), (q) => this.#replacing.has(addressKey(q)));
    if (n === undefined) return;
    const address = addressKey(n);
    this.#replacing.add(address);
    void this.query(n, { q: 'ping', id: this.id }).then(() => {
      this.#replacing.delete(address);
      this.#pingForReplacement(id, budget - 1);
    });
  }

  #answer(t: Uint8Array, q: KrpcQuery, rinfo: DatagramSource, readOnly: boolean): void {
    const address = `${rinfo.address}:${rinfo.port}`;
    if (!this.#mayAnswer(address)) {
      this.stats.queriesDropped++;
      return;
    }
    const now = this.#now();
    // A read-only node (BEP 43) answers no queries: never in the table.
    const querier = { id: q.id, host: rinfo.address, port: rinfo.port };
    if (!readOnly && !this.table.heard(querier, now, false)) this.#verify(querier);
    this.stats.queriesAnswered++;
    // BEP 42: every answer tells its requester where we saw it, for its own vote.
    const ip = { host: rinfo.address, port: rinfo.port };
    const reply = (response: KrpcResponseBody) =>
      this.#sendAnswer(encodeKrpc({ y: 'r', t, response, ip }), rinfo.port, rinfo.address);
    switch (q.q) {
      case 'ping':
        reply({ id: this.id });
        return;
      case 'find_node':
        reply({ id: this.id, nodes: this.table.closest(q.target, K, now) });
        return;
      case 'get_peers': {
        const values = this.store.peers(idHex(q.infoHash), now);
        reply({
          id: this.id,
          token: this.#tokens.tokenFor(rinfo.address, now),
          nodes: this.table.closest(q.infoHash, K, now),
          ...(values.length === 0 ? {} : { values }),
        });
        return;
      }
      case 'announce_peer': {
        if (!this.#tokens.isValid(q.token, rinfo.address, now)) {
          this.#sendAnswer(
            encodeKrpc({ y: 'e', t, code: KRPC_PROTOCOL_ERROR, message: 'bad token' }),
            rinfo.port,
            rinfo.address,
          );
          return;
        }
        this.store.announce(
          idHex(q.infoHash),
          { host: rinfo.address, port: q.impliedPort ? rinfo.port : q.port },
          now,
        );
        reply({ id: this.id });
        return;
      }
      case 'other':
        this.#sendAnswer(
          encodeKrpc({ y: 'e', t, code: KRPC_METHOD_UNKNOWN, message: 'Method Unknown' }),
          rinfo.port,
          rinfo.address,
        );
        return;
    }
  }

  /** Stops; closes the endpoint only when the node opened it (a shared one runs on, for uTP). */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#stopReceiving();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.resolve(undefined);
    }
    this.#pending.clear();
    return this.#ownsEndpoint ? this.#endpoint.close() : Promise.resolve();
  }
}
