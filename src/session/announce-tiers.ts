import type { Torrent } from '../metainfo/torrent.js';

/**
 * The torrent's trackers as BEP 12 tiers, keeping the URLs this client can announce to: HTTP(S) and
 * UDP (BEP 15); the trackers actor walks the tiers (BEP 12).
 */
export function announceTiers(torrent: Torrent): string[][] {
  const tiers =
    torrent.announceList.length > 0 ? torrent.announceList : torrent.announce ? [[torrent.announce]] : [];
  return tiers
    .map((tier) => tier.filter((url) => /^(https?|udp):\/\//i.test(url)))
    .filter((tier) => tier.length > 0);
}
