/**
 * The torrent machine's emitted notifications (`actor.on(…)`) turned into `DownloadEvent`s, and the
 * one notification the world must act on: an incoming socket the machine turned away is destroyed.
 */
import type { Actor } from 'xstate';
import type { torrentMachine } from '../../machines/torrent.machine.js';
import type { PeerBlockedSource } from '../../machines/torrent.types.js';
import { BLOCKED_CODE } from '../net/filtered-lookup.js';
import type { DownloadEvent } from './download-event.js';
import type { ProgressMeter } from './progress-meter.js';

export function forwardNotifications(
  actor: Actor<typeof torrentMachine>,
  meter: ProgressMeter,
  emit: (e: DownloadEvent) => void,
  /** Called when the torrent starts seeding, before the `seeding` event. */
  onSeeding: () => void,
  /**
   * The IP filter blocked a peer the machine heard of (the session counts and reports it); no
   * `source`: a host name whose dial found it resolves only to blocked addresses (filtered-lookup.ts).
   */
  blocked: (address: string, source?: PeerBlockedSource) => void = () => {},
): void {
  actor.on('torrent.peerConnected', (e) =>
    emit({
      type: 'peer.connected',
      address: e.address,
      client: meter.clientOf(e.key),
      fast: e.fast,
      encryption: e.encryption,
      transport: e.transport,
    }),
  );
  actor.on('torrent.peerClosed', (e) => {
    emit({ type: 'peer.closed', address: e.address, reason: e.reason.reason });
    // The machine's guard saw a name; its dial's lookup found every address of it blocked.
    if (e.reason.reason === 'socketError' && e.reason.message === BLOCKED_CODE) blocked(e.address);
  });
  actor.on('torrent.peerListening', (e) =>
    emit({ type: 'peer.listening', address: e.address, listenAddress: e.listenAddress }),
  );
  actor.on('torrent.peersExchanged', (e) =>
    emit({ type: 'peer.exchanged', address: e.address, added: e.added, learned: e.learned }),
  );
  actor.on('torrent.webSeedClosed', (e) => {
    const r = e.reason;
    if (r.reason === 'banned' || r.reason === 'notNeeded' || r.reason === 'stopped') return;
    emit({
      type: 'webSeed.failed',
      url: e.url,
      reason: r.reason,
      ...(r.reason === 'socketError' ? { message: r.message } : {}),
      failures: e.failures,
      ...(e.retryInMs === undefined ? {} : { retryInMs: e.retryInMs }),
    });
  });
  actor.on('torrent.peerBanned', (e) => emit({ type: 'peer.banned', address: e.address }));
  actor.on('torrent.pieceVerified', (e) => emit({ type: 'piece.verified', index: e.index }));
  actor.on('torrent.pieceFailed', (e) => emit({ type: 'piece.failed', index: e.index }));
  actor.on('torrent.trackerAnnounced', (e) =>
    emit({
      type: 'tracker.announce',
      url: e.url,
      ok: true,
      peers: e.peerCount,
      interval: e.interval,
      ...(e.swarm === undefined ? {} : { swarm: e.swarm }),
    }),
  );
  actor.on('torrent.trackerFailed', (e) =>
    emit({ type: 'tracker.announce', url: e.url, ok: false, error: e.message }),
  );
  actor.on('torrent.incomingRejected', (e) => (e.handle as { destroy?: () => void }).destroy?.());
  actor.on('torrent.peerBlocked', (e) => blocked(e.address, e.source));
  actor.on('torrent.seeding', (e) => {
    onSeeding();
    emit({ type: 'seeding', ...(e.superSeed === true ? { superSeed: true } : {}) });
  });
}
