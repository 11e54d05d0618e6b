/**
 * Local Service Discovery (BEP 14), the service: one UDP socket that hears the BT-SEARCH announces
 * multicast to 239.192.152.143:6771 on the interfaces it joined, and one socket per interface that
 * announces our info-hashes there, for every torrent of the process (a session's own, or the one
 * the many-torrents host lends each of its torrents). A peer found this way is `<the announce's
 * source address>:<its Port header>`, handed to whoever added that info-hash, as the DHT's peers are.
 *
 * - The receiving socket is bound to the group address itself (239.192.152.143:6771, SO_REUSEADDR,
 *   as Transmission binds it; libtorrent binds 0.0.0.0:6771), so it takes only datagrams sent to the
 *   group: no unicast port 6771 is opened on any interface. Where the system refuses that bind, it
 *   is bound to 0.0.0.0:6771. Other programs (libtorrent, another bitstate) share the port.
 * - It joins the group on each interface of lsd-interfaces.ts; one where the join fails (no
 *   multicast there) is left out, but an interface's second address, whose join is refused as
 *   done already, is kept (its network believed, its own sender). The `interfaces` joined are
 *   reported.
 * - Announces (formatted by lsd-message.ts, scheduled by lsd-schedule.ts: at start, then every 5
 *   minutes, one a second at most) leave from a socket bound to each interface's address, its
 *   multicast interface set to it, TTL 1 (the local network; libtorrent sets 32, Transmission 1),
 *   loopback on (another client on this host hears us, as with libtorrent).
 * - What comes in: a datagram from outside the networks of the interfaces joined is dropped first;
 *   of the rest, at most LSD_MAX_ANNOUNCES_PER_SECOND a second are read (the others dropped unread,
 *   as Transmission's flood cap), each parsed within its bounds; an announce that fails to parse or
 *   carries our cookie (our own, back through loopback) is ignored.
 *
 * Never for a private torrent (BEP 27): the callers check.
 */
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { PeerAddress } from '../net/address.js';
import {
  type LsdInterface,
  lsdInterfaces,
  type NetworkInterfaceEntry,
  onLsdNetwork,
} from './lsd-interfaces.js';
import { formatLsdAnnounce, LSD_GROUP, LSD_PORT, parseLsdAnnounce } from './lsd-message.js';
import { LsdSchedule } from './lsd-schedule.js';

/** Announces read per second at most, from the senders believed; the rest are dropped unread. */
export const LSD_MAX_ANNOUNCES_PER_SECOND = 50;

/** What turns LSD on for download() / seed() (library default: off; the CLI's: on, every interface). */
export interface LsdSettings {
  /**
   * The IPv4 addresses of the interfaces to run on (`--lsd-interface`); default: every IPv4
   * interface but loopback, or only the listening address's when the listener is bound to one.
   */
  readonly interfaces?: readonly string[];
  /**
   * Between two announces of one torrent (default LSD_ANNOUNCE_INTERVAL_MS, 5 minutes); a positive
   * number of milliseconds (Infinity: announced once), else startLsd throws a RangeError.
   */
  readonly announceIntervalMs?: number;
  /** Internal (tests): the group's port instead of BEP 14's 6771. */
  readonly port?: number;
}

export interface LsdTorrent {
  /** The info-hashes to announce and to listen for (a hybrid's two, BEP 52). */
  readonly infoHashes: readonly Uint8Array[];
  /** A peer announced one of them. */
  readonly onPeer: (peer: PeerAddress, infoHash: Uint8Array) => void;
}

export interface Lsd {
  /** The addresses of the interfaces joined (none: LSD hears and announces nothing). */
  readonly interfaces: readonly string[];
  /**
   * The TCP port announced changes (a magnet link's service, started before the download's listener
   * landed: download-magnet.ts): every info-hash is announced again at once with it.
   */
  setPort(port: number): void;
  /** Announces the torrent's info-hashes and reports their peers until the returned function is called. */
  add(torrent: LsdTorrent): () => void;
  close(): Promise<void>;
}

/** setTimeout's longest delay (2^31 - 1 ms, 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function bind(socket: Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    socket.once('error', onError);
    socket.bind({ port, address: host, exclusive: false }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // closed already
    }
  });
}

/**
 * The receiving socket: the group's address if the system takes that bind, else any address. When
 * neither binds (another program holds the port without SO_REUSEADDR), an Error saying so.
 */
async function openReceiver(port: number): Promise<Socket> {
  for (const host of [LSD_GROUP, '0.0.0.0']) {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    try {
      await bind(socket, port, host);
      return socket;
    } catch (err) {
      await closeSocket(socket);
      if (host !== '0.0.0.0') continue;
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(
        code === 'EADDRINUSE'
          ? `UDP port ${port} is held by another program that does not share it (no SO_REUSEADDR)`
          : `UDP port ${port} cannot be bound: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  throw new Error('unreachable');
}

/** A socket announcing on `iface`; undefined when the system refuses it. */
async function openSender(iface: LsdInterface): Promise<Socket | undefined> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  try {
    await bind(socket, 0, iface.address);
    socket.setMulticastInterface(iface.address);
    socket.setMulticastTTL(1);
    socket.setMulticastLoopback(true);
    socket.on('error', () => {}); // a send that fails is a lost announce
    return socket;
  } catch {
    await closeSocket(socket);
    return undefined;
  }
}

/**
 * Starts LSD for a session (or a host of several) listening at TCP `port` on `listenHost`. Rejects
 * only when the port 6771 socket cannot be had at all (its message says why: the callers say it,
 * `lsd.off`), or for a bad `announceIntervalMs` (a RangeError).
 */
export async function startLsd(
  settings: LsdSettings,
  o: {
    readonly port: number;
    readonly listenHost?: string;
    readonly now?: () => number;
    /** The host's interfaces (default os.networkInterfaces()'s). */
    readonly entries?: readonly NetworkInterfaceEntry[];
  },
): Promise<Lsd> {
  const now = o.now ?? (() => performance.now());
  const wanted = lsdInterfaces({
    ...(settings.interfaces === undefined ? {} : { asked: settings.interfaces }),
    listenHost: o.listenHost ?? '0.0.0.0',
    entries: o.entries ?? Object.values(networkInterfaces()).flatMap((list) => list ?? []),
  });
  // Before any socket opens: a bad interval throws here.
  const schedule = new LsdSchedule(
    settings.announceIntervalMs === undefined ? {} : { intervalMs: settings.announceIntervalMs },
  );
  const groupPort = settings.port ?? LSD_PORT;
  const receiver = await openReceiver(groupPort);
  receiver.on('error', () => {});
  const joined: LsdInterface[] = [];
  for (const iface of wanted)
    try {
      receiver.addMembership(LSD_GROUP, iface.address);
      joined.push(iface);
    } catch (err) {
      // Joined already through another address of the same interface (Linux: EADDRINUSE): a
      // member there, so this address's network is believed and announced to from this address
      // too (as libtorrent, one LSD socket per address; its peers believe their own network only).
      // Any other refusal: no multicast on this interface, left out.
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') joined.push(iface);
    }
  const senders: Socket[] = [];
  for (const iface of joined) {
    const s = await openSender(iface);
    if (s !== undefined) senders.push(s);
  }
  // Ours, to know our own announces when loopback brings them back (libtorrent: 31 random bits, hex).
  const cookie = Math.floor(Math.random() * 0x7fffffff).toString(16);
  /** Who listens for each info-hash (hex). */
  const torrents = new Map<string, Set<LsdTorrent>>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let port = o.port;
  let windowStart = now();
  let windowCount = 0;

  const announce = () => {
    timer = undefined;
    if (closed) return;
    const t = now();
    const keys = schedule.take(t);
    if (keys.length > 0) {
      const bytes = formatLsdAnnounce({
        port,
        infoHashes: keys.map((k) => Buffer.from(k, 'hex')),
        cookie,
      });
      for (const s of senders)
        try {
          s.send(bytes, groupPort, LSD_GROUP);
        } catch {
          // Closed under us, or refused at once: a lost announce.
        }
    }
    arm();
  };
  const arm = () => {
    if (closed) return;
    const at = schedule.wakeAt();
    if (timer !== undefined) clearTimeout(timer);
    // Node runs a delay over MAX_TIMER_MS after 1 ms: a later announce is waited for in steps.
    timer =
      at === undefined ? undefined : setTimeout(announce, Math.min(MAX_TIMER_MS, Math.max(0, at - now())));
  };

  receiver.on('message', (msg, from) => {
    if (closed) return;
    // Before the cap: a sender we would not believe (the group's traffic on an interface we did
    // not join reaches this socket too) spends none of it.
    if (!onLsdNetwork(from.address, joined)) return;
    const t = now();
    if (t - windowStart >= 1000) {
      windowStart = t;
      windowCount = 0;
    }
    if (++windowCount > LSD_MAX_ANNOUNCES_PER_SECOND) return;
    let a: ReturnType<typeof parseLsdAnnounce>;
    try {
      a = parseLsdAnnounce(msg);
    } catch {
      return; // not an announce we can read: anyone may send to the group
    }
    if (a.cookie === cookie) return;
    for (const h of a.infoHashes)
      for (const torrent of torrents.get(hexOf(h)) ?? [])
        torrent.onPeer({ host: from.address, port: a.port }, h);
  });

  return {
    interfaces: joined.map((i) => i.address),
    setPort(p) {
      if (p === port) return;
      port = p;
      schedule.allDue(now());
      arm();
    },
    add(torrent) {
      const keys = [...new Set(torrent.infoHashes.map(hexOf))];
      for (const k of keys) {
        let set = torrents.get(k);
        if (set === undefined) torrents.set(k, (set = new Set()));
        set.add(torrent);
        if (joined.length > 0) schedule.add(k, now());
      }
      arm();
      return () => {
        for (const k of keys) {
          const set = torrents.get(k);
          set?.delete(torrent);
          if (set?.size === 0) {
            torrents.delete(k);
            schedule.remove(k, now());
          }
        }
        arm();
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      torrents.clear();
      await Promise.all([receiver, ...senders].map(closeSocket));
    },
  };
}
