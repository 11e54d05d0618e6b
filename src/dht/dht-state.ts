/**
 * The DHT's saved state (libtorrent keeps its node id and nodes in its session state, Transmission
 * in `dht.dat`): our node id and the routing table's good nodes, so that the next start bootstraps
 * from them as well as from the routers. One bencoded dictionary:
 *
 *   d 2:ip 4:<our external IPv4, when known>  7:node-id 20:<our id>
 *     5:nodes <26·n bytes: compact node info, BEP 5>  7:version i2e e
 *
 * `ip` (version 2; version 1 files, without it, are read too) is the external address the nodes
 * answering us voted for (BEP 42, external-ip-vote.ts): the next start keeps the saved id only if
 * it is valid for that address (`savedNodeId`), else derives a new one from it.
 *
 * at most MAX_DHT_STATE_NODES nodes (the closest to our id first: the bootstrap looks up our id),
 * so at most MAX_DHT_STATE_BYTES. Written atomically (a temp file of its own beside it, fsync,
 * rename, as the resume file), at close and every DHT_STATE_SAVE_MS while running (dht.ts), and only into a folder that exists and is not a symlink: bitstate makes no folder
 * for it (docs/dht.md). Read defensively: only a regular file (O_NOFOLLOW | O_NONBLOCK, so a FIFO
 * or a symlink planted at the path is refused without waiting), its size checked before reading,
 * decoded with a bound on its values; anything else is a DhtError `badState`, which the caller
 * reports once and ignores (it bootstraps as if there were none).
 */
import { constants, type FileHandle, lstat, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BencodeDict, type BencodeValue, bdecode } from '../metainfo/bdecode.js';
import { bencode } from '../metainfo/bencode.js';
import { ipv4Octets } from '../net/ban-key.js';
import { ipv4OfCompact } from '../net/compact-address.js';
import { isDialableHost } from '../net/dialable-host.js';
import { writeFileAtomic } from '../storage/resume-file.js';
import { COMPACT_NODE_BYTES, type DhtNodeInfo, decodeCompactNodes, encodeCompactNodes } from './compact.js';
import { DhtError } from './dht-error.js';
import type { DhtNode } from './dht-node.js';
import { isLoopback } from './dht-node.js';
import { compareDistance, NODE_ID_BYTES } from './node-id.js';
import { K, type RoutingTable } from './routing-table.js';
import { isVerifiedNodeId } from './secure-node-id.js';

/** The format's version; another is refused (and the file replaced at the next save). */
export const DHT_STATE_VERSION = 2;
/** The first version, without `ip`: still read. */
const DHT_STATE_VERSION_WITHOUT_IP = 1;
/** How often a running node saves its state, beside at close (a crash loses at most this much). */
export const DHT_STATE_SAVE_MS = 15 * 60_000;
/** Nodes saved at most: a lookup keeps no more candidates than this (MAX_LOOKUP_CANDIDATES). */
export const MAX_DHT_STATE_NODES = 200;
/** The largest state file read: the nodes, the id and the keys, with room to spare. */
export const MAX_DHT_STATE_BYTES = MAX_DHT_STATE_NODES * COMPACT_NODE_BYTES + 256;
/** Bencoded values a state file holds: a dictionary of four keys and four values. */
const MAX_STATE_TOKENS = 10;

export interface DhtState {
  readonly id: Uint8Array;
  readonly nodes: readonly DhtNodeInfo[];
  /** Our external IPv4 address, when the vote had given one (BEP 42). */
  readonly ip?: string;
}

function bad(message: string, opts: { limit?: number; cause?: unknown } = {}): DhtError {
  return new DhtError('badState', `DHT state: ${message}`, opts);
}

export function encodeDhtState(state: DhtState): Uint8Array {
  const octets = state.ip === undefined ? undefined : ipv4Octets(state.ip);
  const ip = octets === undefined ? undefined : Uint8Array.from(octets);
  return bencode({
    ...(ip === undefined ? {} : { ip }),
    'node-id': state.id,
    nodes: encodeCompactNodes(state.nodes.slice(0, MAX_DHT_STATE_NODES)),
    version: DHT_STATE_VERSION,
  });
}

/** The state a file's bytes hold; a DhtError `badState` for anything but what encodeDhtState writes. */
export function decodeDhtState(bytes: Uint8Array): DhtState {
  if (bytes.length > MAX_DHT_STATE_BYTES)
    throw bad(`${bytes.length} bytes, more than ${MAX_DHT_STATE_BYTES}`, { limit: MAX_DHT_STATE_BYTES });
  let root: BencodeValue;
  try {
    root = bdecode(bytes, { maxTokens: MAX_STATE_TOKENS });
  } catch (cause) {
    throw bad('not bencode, or more than a state holds', { cause });
  }
  if (!(root instanceof BencodeDict)) throw bad('not a dictionary');
  const version = root.get('version');
  if (version !== BigInt(DHT_STATE_VERSION) && version !== BigInt(DHT_STATE_VERSION_WITHOUT_IP))
    throw bad(`version ${String(version)}, not ${DHT_STATE_VERSION}`);
  const ip = root.get('ip');
  if (ip !== undefined && (!(ip instanceof Uint8Array) || ip.length !== 4)) throw bad('ip is not 4 bytes');
  const id = root.get('node-id');
  if (!(id instanceof Uint8Array) || id.length !== NODE_ID_BYTES) throw bad('node-id is not 20 bytes');
  const nodes = root.get('nodes');
  if (!(nodes instanceof Uint8Array)) throw bad('no nodes');
  if (nodes.length > MAX_DHT_STATE_NODES * COMPACT_NODE_BYTES)
    throw bad(`more than ${MAX_DHT_STATE_NODES} nodes`, { limit: MAX_DHT_STATE_NODES });
  let decoded: DhtNodeInfo[];
  try {
    decoded = decodeCompactNodes(nodes);
  } catch (cause) {
    throw bad('nodes is not whole compact node infos', { cause });
  }
  return {
    id: new Uint8Array(id),
    nodes: decoded,
    ...(ip === undefined ? {} : { ip: ipv4OfCompact(ip, 0) }),
  };
}

/**
 * The saved id, if it may be ours again: when the state names no external address (none was known,
 * or a version 1 file), or when the id is valid for it (BEP 42); else undefined, and the node
 * derives a new id from that address (as libtorrent's calculate_node_id keeps a saved id only if
 * verify_id says it matches the external address).
 */
export function savedNodeId(state: DhtState | undefined): Uint8Array | undefined {
  if (state === undefined) return undefined;
  return state.ip === undefined || isVerifiedNodeId(state.id, state.ip) ? state.id : undefined;
}

/** The state saved at `path`: undefined when there is none; a DhtError `badState` when unreadable. */
export async function readDhtState(path: string): Promise<DhtState | undefined> {
  let h: FileHandle;
  try {
    // O_NONBLOCK: a FIFO planted at the path would block the open forever in a libuv thread.
    h = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw bad(`cannot open ${path}: ${String(code)}`, { cause: e });
  }
  try {
    const st = await h.stat();
    if (!st.isFile()) throw bad(`${path} is not a regular file`);
    if (st.size > MAX_DHT_STATE_BYTES)
      throw bad(`${path} is ${st.size} bytes, more than ${MAX_DHT_STATE_BYTES}`, {
        limit: MAX_DHT_STATE_BYTES,
      });
    // At most one byte past the bound is read: a file that grew since the stat is refused as well.
    const buffer = Buffer.alloc(MAX_DHT_STATE_BYTES + 1);
    const { bytesRead } = await h.read(buffer, 0, buffer.length, 0);
    return decodeDhtState(buffer.subarray(0, bytesRead));
  } catch (e) {
    if (e instanceof DhtError) throw e;
    throw bad(`cannot read ${path}: ${String((e as NodeJS.ErrnoException).code ?? e)}`, { cause: e });
  } finally {
    await h.close();
  }
}

/**
 * Saves `state` at `path` atomically. Returns false, writing nothing, when the folder is not there
 * or is not a folder (a symlink included): bitstate makes no folder for it. A DhtError `badState`
 * when the write fails (the previous file then stays as it was).
 */
export async function writeDhtState(path: string, state: DhtState): Promise<boolean> {
  const folder = await lstat(dirname(path)).catch(() => undefined);
  if (folder === undefined || !folder.isDirectory()) return false;
  try {
    await writeFileAtomic(path, encodeDhtState(state));
    return true;
  } catch (cause) {
    throw bad(`cannot save ${path}`, { cause });
  }
}

/** The state saved at `path`: undefined when none, the DhtError when it cannot be used. */
export async function loadDhtState(path: string): Promise<DhtState | DhtError | undefined> {
  try {
    return await readDhtState(path);
  } catch (err) {
    return err instanceof DhtError ? err : bad(String(err), { cause: err });
  }
}

/**
 * The saved nodes worth asking: where a peer can listen (not 0.0.0.0, multicast), never our own
 * id, and only loopback ones for a node bound to 127.0.0.1 (it reaches no other address; a test's
 * run never talks to a public node an earlier run saved).
 */
export function usableSavedNodes(
  state: DhtState | undefined,
  ownId: Uint8Array,
  loopbackOnly: boolean,
): { host: string; port: number; id: Uint8Array }[] {
  return (state?.nodes ?? [])
    .filter(
      (n) =>
        isDialableHost(n.host) &&
        (!loopbackOnly || isLoopback(n.host)) &&
        compareDistance(ownId, n.id, ownId) !== 0,
    )
    .map((n) => ({ host: n.host, port: n.port, id: n.id }));
}

/**
 * Saves our id, our external address (`ip`, when voted) and the table's good nodes, closest to our
 * id first (the next start's bootstrap looks up our id). A table with no good node (no network)
 * leaves the earlier file as it was; a failed write too (written atomically: the next start loads
 * the earlier one).
 */
export async function saveTableState(
  path: string,
  table: RoutingTable,
  now: number,
  ip?: string,
): Promise<void> {
  const good = table
    .closest(table.ownId, Number.POSITIVE_INFINITY, now)
    .filter((n) => table.status(n, now) === 'good');
  if (good.length === 0) return;
  await writeDhtState(path, {
    id: table.ownId,
    nodes: good.slice(0, MAX_DHT_STATE_NODES),
    ...(ip === undefined ? {} : { ip }),
  }).catch(() => {});
}

/**
 * Pings the saved nodes all at once (≤ MAX_DHT_STATE_NODES, within MAX_PENDING_QUERIES; each that
 * answers enters the table as any node answering us); resolves once K have answered or all have
 * settled (at most one query timeout), the others answering on into the table.
 */
export function pingSavedNodes(
  node: DhtNode,
  nodes: readonly { host: string; port: number }[],
): Promise<void> {
  return new Promise<void>((resolve) => {
    let left = nodes.length;
    let answered = 0;
    if (left === 0) resolve();
    for (const n of nodes)
      void node.query(n, { q: 'ping', id: node.id }).then((r) => {
        if (r !== undefined) answered++;
        if (--left === 0 || answered >= K) resolve();
      });
  });
}
