/**
 * A .torrent made from a magnet link's fetched metadata (BEP 9): the info dictionary's bytes
 * exactly as received (so the info-hash is theirs), the magnet's trackers as `announce` and a
 * one-tracker-per-tier `announce-list` (BEP 12, as libtorrent and Transmission save magnets), its
 * `ws` web seeds as `url-list` (BEP 19), the top-level keys in byte order. Validated by parseTorrent like any other torrent.
 * A v2-only info dictionary (BEP 52) comes without the `piece layers` beside it: they are fetched
 * from peers with hash requests (machines/piece-layer-fetch.ts) and written here beside `info`
 * (`piece layers`, between `info` and `url-list` in byte order), so the .torrent parses as any v2
 * one; without them it loads only when none of its files is longer than a piece (piece-layers.ts).
 * A magnet's `urn:btmh:` must be the torrent's v2 info-hash too (its whole SHA-256).
 */
import { bencode } from './bencode.js';
import type { Magnet } from './magnet.js';
import { MERKLE_HASH_BYTES } from './merkle-tree.js';
import { MetainfoError } from './metainfo-error.js';
import { parseTorrent } from './parse-torrent.js';
import type { Torrent } from './torrent.js';

/** A v2 file's piece layer by its `pieces root` (32 bytes → 32 bytes a piece). */
export type FetchedPieceLayers = ReadonlyMap<Uint8Array, Uint8Array>;

/**
 * The bytes of the .torrent:
 * `d[8:announce…][13:announce-list…]4:info<info bytes>[12:piece layers…][8:url-list…]e`.
 */
export function torrentFileFromMetadata(
  info: Uint8Array,
  magnet: Pick<Magnet, 'trackers'> & Partial<Pick<Magnet, 'webSeeds'>>,
  pieceLayers?: FetchedPieceLayers,
): Uint8Array {
  const [first] = magnet.trackers;
  const head =
    first === undefined
      ? new Uint8Array(0)
      : bencode({ announce: first, 'announce-list': magnet.trackers.map((t) => [t]) }).subarray(1, -1);
  const webSeeds = magnet.webSeeds ?? [];
  const layers =
    pieceLayers === undefined || pieceLayers.size === 0
      ? new Uint8Array(0)
      : bencode({ 'piece layers': pieceLayers }).subarray(1, -1);
  const tail =
    webSeeds.length === 0 ? new Uint8Array(0) : bencode({ 'url-list': [...webSeeds] }).subarray(1, -1);
  return Buffer.concat([Buffer.from('d'), head, Buffer.from('4:info'), info, layers, tail, Buffer.from('e')]);
}

/**
 * Whether `torrent` is the one `magnet` names: its v1 info-hash (`urn:btih:`) and its v2 one
 * (`urn:btmh:`), each the magnet gives. A v2 magnet's torrent may be a hybrid (its SHA-256 is the
 * btmh): it is then used through its v1 swarm like any hybrid.
 */
export function isMagnetTorrent(
  torrent: Pick<Torrent, 'infoHashHex' | 'infoHashV2'>,
  magnet: Pick<Magnet, 'infoHashHex'> & Partial<Pick<Magnet, 'infoHashV2' | 'version'>>,
): boolean {
  if (magnet.version !== 'v2' && torrent.infoHashHex !== magnet.infoHashHex) return false;
  if (magnet.infoHashV2 === undefined) return true;
  return (
    torrent.infoHashV2?.length === MERKLE_HASH_BYTES &&
    Buffer.from(torrent.infoHashV2).equals(Buffer.from(magnet.infoHashV2))
  );
}

/** Parses the .torrent made from `info`, and checks it is the magnet's torrent. Throws MetainfoError. */
export function torrentFromMetadata(
  info: Uint8Array,
  magnet: Pick<Magnet, 'trackers' | 'infoHashHex'> &
    Partial<Pick<Magnet, 'webSeeds' | 'infoHashV2' | 'version'>>,
  pieceLayers?: FetchedPieceLayers,
): Torrent {
  const torrent = parseTorrent(torrentFileFromMetadata(info, magnet, pieceLayers));
  if (!isMagnetTorrent(torrent, magnet))
    throw new MetainfoError(
      'invalid-value',
      `metadata: info-hash ${torrent.infoHashHex}${torrent.infoHashV2 === undefined ? '' : ` (v2 ${Buffer.from(torrent.infoHashV2).toString('hex')})`}, not the magnet's ${magnet.infoHashHex}${magnet.infoHashV2 === undefined ? '' : ` (v2 ${Buffer.from(magnet.infoHashV2).toString('hex')})`}`,
      {
        field: 'info',
      },
    );
  return torrent;
}
