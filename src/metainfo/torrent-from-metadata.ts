/**
 * A .torrent made from a magnet link's fetched metadata (BEP 9): the info dictionary's bytes
 * exactly as received (so the info-hash is theirs), the magnet's trackers as `announce` and a
 * one-tracker-per-tier `announce-list` (BEP 12, as libtorrent and Transmission save magnets), its
 * `ws` web seeds as `url-list` (BEP 19), the top-level keys in byte order. Validated by parseTorrent like any other torrent.
 * A v2-only info dictionary (BEP 52) comes without the `piece layers` beside it: it loads when none
 * of its files is longer than a piece, and is `unsupported` otherwise (piece-layers.ts).
 */
import { bencode } from './bencode.js';
import type { Magnet } from './magnet.js';
import { MetainfoError } from './metainfo-error.js';
import { parseTorrent } from './parse-torrent.js';
import type { Torrent } from './torrent.js';

/** The bytes of the .torrent: `d[8:announce…][13:announce-list…]4:info<info bytes>[8:url-list…]e`. */
export function torrentFileFromMetadata(
  info: Uint8Array,
  magnet: Pick<Magnet, 'trackers'> & Partial<Pick<Magnet, 'webSeeds'>>,
): Uint8Array {
  const [first] = magnet.trackers;
  const head =
    first === undefined
      ? new Uint8Array(0)
      : bencode({ announce: first, 'announce-list': magnet.trackers.map((t) => [t]) }).subarray(1, -1);
  const webSeeds = magnet.webSeeds ?? [];
  const tail =
    webSeeds.length === 0 ? new Uint8Array(0) : bencode({ 'url-list': [...webSeeds] }).subarray(1, -1);
  return Buffer.concat([Buffer.from('d'), head, Buffer.from('4:info'), info, tail, Buffer.from('e')]);
}

/** Parses the .torrent made from `info`, and checks it is the magnet's torrent. Throws MetainfoError. */
export function torrentFromMetadata(
  info: Uint8Array,
  magnet: Pick<Magnet, 'trackers' | 'infoHashHex'> & Partial<Pick<Magnet, 'webSeeds'>>,
): Torrent {
  const torrent = parseTorrent(torrentFileFromMetadata(info, magnet));
  if (torrent.infoHashHex !== magnet.infoHashHex)
    throw new MetainfoError(
      'invalid-value',
      `metadata: info-hash ${torrent.infoHashHex}, not the magnet's ${magnet.infoHashHex}`,
      {
        field: 'info',
      },
    );
  return torrent;
}
