/**
 * A session's use of Local Service Discovery (BEP 14, src/lsd/lsd.ts): its info-hashes announced on
 * the local network at start and every 5 minutes, and the peers that announce them there handed to
 * the torrent machine as the DHT's are (`peer.add`). A hybrid (BEP 52) announces both its hashes;
 * a peer that announces the v2 one comes with `swarm` 'v2'. Never for a private torrent (BEP 27):
 * the callers check.
 *
 * The service may be lent (`lsd`: the many-torrents host's, one socket for every torrent): it is
 * then the lender's to close and to report (`lsd.ready`); `close()` stops only this torrent's
 * announces. Each peer is reported once per session (`lsd.peer`), however often it announces.
 */

import { type Lsd, type LsdSettings, startLsd } from '../lsd/lsd.js';
import type { PeerAddress } from '../net/address.js';
import { formatPeerAddress } from '../net/address.js';
import type { LsdEvent } from './download-event.js';

/** Distinct peers a session remembers having reported (past it, each is reported again). */
export const LSD_REPORTED_PEERS = 1000;

export interface LsdAnnounces {
  close(): Promise<void>;
}

/** The `lsd.ready` event of a service. */
export function lsdReadyEvent(lsd: Lsd): LsdEvent {
  return { type: 'lsd.ready', interfaces: [...lsd.interfaces] };
}

/** The `lsd.off` event of a service that could not start (startLsd's rejection). */
export function lsdOffEvent(err: unknown): LsdEvent {
  return { type: 'lsd.off', reason: err instanceof Error ? err.message : String(err) };
}

export async function startLsdAnnounces(
  settings: LsdSettings,
  o: {
    /** The TCP port we listen at, and the address the listener is bound to. */
    readonly port: number;
    readonly listenHost: string;
    readonly infoHash: Uint8Array;
    /** A hybrid's v2 swarm (BEP 52): announced too, its peers with `swarm` 'v2'. */
    readonly otherInfoHash?: Uint8Array;
    readonly onPeers: (peers: readonly PeerAddress[], swarm?: 'v2') => void;
    readonly emit: (e: LsdEvent) => void;
    /** A service already running, used instead of starting one (neither reported nor closed here). */
    readonly lsd?: Lsd;
  },
): Promise<LsdAnnounces> {
  const lsd = o.lsd ?? (await startLsd(settings, { port: o.port, listenHost: o.listenHost }));
  if (o.lsd === undefined) o.emit(lsdReadyEvent(lsd));
  const other = o.otherInfoHash;
  const reported = new Set<string>();
  let closed = false;
  const remove = lsd.add({
    infoHashes: other === undefined ? [o.infoHash] : [o.infoHash, other],
    onPeer: (peer, infoHash) => {
      if (closed) return;
      const swarm = other !== undefined && Buffer.from(infoHash).equals(other) ? 'v2' : undefined;
      o.onPeers([peer], swarm);
      const address = formatPeerAddress(peer);
      if (reported.has(address)) return;
      if (reported.size >= LSD_REPORTED_PEERS) reported.clear();
      reported.add(address);
      o.emit({ type: 'lsd.peer', address, ...(swarm === undefined ? {} : { swarm }) });
    },
  });
  return {
    async close() {
      if (closed) return;
      closed = true;
      remove();
      if (o.lsd === undefined) await lsd.close();
    },
  };
}
