import type { Torrent } from '../metainfo/torrent.js';

/** The schemes this client can announce to: HTTP(S) (BEP 3) and UDP (BEP 15). */
export const ANNOUNCE_URL = /^(https?|udp):\/\//i;

/**
 * The torrent's trackers as BEP 12 tiers, keeping the URLs this client can announce to: HTTP(S) and
 * UDP (BEP 15); then `extra` (`--tracker`, as aria2's --bt-tracker and qBittorrent's "automatically
 * add these trackers"), each in a tier of its own after the torrent's, unless the torrent has it
 * already — and never for a private torrent (BEP 27: its peers come from its own trackers only). The
 * trackers actor walks the tiers (BEP 12).
 */
export function announceTiers(torrent: Torrent, extra: readonly string[] = []): string[][] {
  const tiers =
    torrent.announceList.length > 0 ? torrent.announceList : torrent.announce ? [[torrent.announce]] : [];
  const own = tiers
    .map((tier) => tier.filter((url) => ANNOUNCE_URL.test(url)))
    .filter((tier) => tier.length > 0);
  return torrent.private ? own : withExtraTrackers(own, extra);
}

/**
 * `tiers` and then each of `extra` in a tier of its own, in its order, but for a URL some tier has
 * already (or an earlier one of `extra`): compared as URLs (`HTTP://Host:80/a` is `http://host/a`).
 */
export function withExtraTrackers(
  tiers: readonly (readonly string[])[],
  extra: readonly string[],
): string[][] {
  const seen = new Set(tiers.flat().map(sameUrlKey));
  const added: string[][] = [];
  for (const url of extra) {
    const key = sameUrlKey(url);
    if (seen.has(key) || !ANNOUNCE_URL.test(url)) continue;
    seen.add(key);
    added.push([url]);
  }
  return [...tiers.map((t) => [...t]), ...added];
}

/** A URL as the WHATWG parser writes it (scheme and host lower case, a default port dropped), or as it is. */
function sameUrlKey(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}
