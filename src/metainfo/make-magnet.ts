/**
 * `magnetLink(torrent)`: the magnet link (BEP 9) of a torrent, as libtorrent's `make_magnet_uri`
 * writes it: `xt=urn:btih:` (v1 and hybrid), `xt=urn:btmh:1220…` (v2 and hybrid, BEP 52), `dn` the
 * name, a `tr` per tracker (every tier's, each once, in order) and a `ws` per web seed (BEP 19),
 * each value percent-encoded. No `so=`: a .torrent names no selection. Pure; parseMagnet reads it
 * back as the same swarm, name, trackers and web seeds.
 */
import { BTMH_PREFIX } from './magnet.js';
import type { Torrent } from './torrent.js';

type Linked = Pick<Torrent, 'version' | 'infoHashHex' | 'infoHashV2' | 'name' | 'announceList' | 'urlList'>;

export function magnetLink(t: Linked): string {
  const params: string[] = [];
  if (t.version !== 'v2') params.push(`xt=urn:btih:${t.infoHashHex}`);
  if (t.infoHashV2 !== undefined)
    params.push(`xt=urn:btmh:${BTMH_PREFIX}${Buffer.from(t.infoHashV2).toString('hex')}`);
  if (t.name.length > 0) params.push(`dn=${encodeURIComponent(t.name)}`);
  for (const url of new Set(t.announceList.flat())) params.push(`tr=${encodeURIComponent(url)}`);
  for (const url of t.urlList) params.push(`ws=${encodeURIComponent(url)}`);
  return `magnet:?${params.join('&')}`;
}
