/**
 * `magnetLink(torrent)`: the magnet link (BEP 9) of a torrent, as libtorrent's `make_magnet_uri`
 * writes it: `xt=urn:btih:` (v1 and hybrid), `xt=urn:btmh:1220…` (v2 and hybrid, BEP 52), `dn` the
 * name, a `tr` per tracker (every tier's, each once, in order) and a `ws` per web seed (BEP 19),
 * each value percent-encoded. No `so=`: a .torrent names no selection. Pure; parseMagnet reads it
 * back as the same swarm, name, trackers and web seeds.
 *
 * At most MAX_MAGNET_LENGTH characters, the longest link parseMagnet takes: 256 tracker URLs
 * (MAX_TRACKERS) of a few hundred bytes, percent-encoded, already pass it. libtorrent's
 * make_magnet_uri (and qBittorrent's "Copy magnet link", which calls it) writes every tracker and
 * web seed whatever the length, and its parse_magnet_uri reads any length; we print only links we
 * can read back. So the trackers are kept in order while they fit, then the web seeds: the first
 * one that does not fit and every one after it are left out (a prefix, as the first tiers are the
 * ones a client tries first), and `fittedMagnetLink` says how many. The info-hashes and the name
 * always fit: a name is one path component (MAX_PATH_COMPONENT_BYTES, 255 bytes: 765 characters
 * encoded).
 */
import { BTMH_PREFIX, MAX_MAGNET_LENGTH } from './magnet.js';
import type { Torrent } from './torrent.js';

type Linked = Pick<Torrent, 'version' | 'infoHashHex' | 'infoHashV2' | 'name' | 'announceList' | 'urlList'>;

/** A torrent's magnet link, and what was left out of it to stay within the length parseMagnet takes. */
export interface FittedMagnetLink {
  readonly link: string;
  /** Distinct tracker URLs not in the link (the last ones). */
  readonly trackersLeftOut: number;
  /** Web seeds not in the link (the last ones). */
  readonly webSeedsLeftOut: number;
}

/** The link of `t`, at most `limit` characters (default MAX_MAGNET_LENGTH): see the module comment. */
export function fittedMagnetLink(t: Linked, limit: number = MAX_MAGNET_LENGTH): FittedMagnetLink {
  const params: string[] = [];
  if (t.version !== 'v2') params.push(`xt=urn:btih:${t.infoHashHex}`);
  if (t.infoHashV2 !== undefined)
    params.push(`xt=urn:btmh:${BTMH_PREFIX}${Buffer.from(t.infoHashV2).toString('hex')}`);
  if (t.name.length > 0) params.push(`dn=${encodeURIComponent(t.name)}`);
  // 'magnet:?' and the params joined by '&'.
  let length = 'magnet:?'.length + params.reduce((sum, p) => sum + p.length, 0) + params.length - 1;
  /** Once one param did not fit, none after it is added (trackers, then web seeds). */
  let full = false;
  /** Appends `key=value`s while they fit; the count of those that did not (from the first that did not on). */
  const fit = (key: string, values: Iterable<string>): number => {
    let leftOut = 0;
    for (const value of values) {
      const param = `${key}=${encodeURIComponent(value)}`;
      const added = param.length + (params.length > 0 ? 1 : 0);
      if (full || length + added > limit) {
        full = true;
        leftOut++;
        continue;
      }
      params.push(param);
      length += added;
    }
    return leftOut;
  };
  const trackersLeftOut = fit('tr', new Set(t.announceList.flat()));
  const webSeedsLeftOut = fit('ws', t.urlList);
  return { link: `magnet:?${params.join('&')}`, trackersLeftOut, webSeedsLeftOut };
}

/** The link of `t` as fittedMagnetLink writes it (the trackers and web seeds that fit). */
export function magnetLink(t: Linked): string {
  return fittedMagnetLink(t).link;
}
