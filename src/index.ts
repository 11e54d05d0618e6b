/**
 * bitstate's library API. See README.md ("Library") for an example.
 */
export { dhtLookupMachine } from '../machines/dht-lookup.machine.js';
export { peerMachine } from '../machines/peer.machine.js';
export type { CloseReason } from '../machines/peer.types.js';
export { torrentMachine } from '../machines/torrent.machine.js';
export { trackerMachine } from '../machines/tracker.machine.js';
export { type Dht, type DhtOptions, type GetPeersOptions, startDht } from './dht/dht.js';
export { DhtError } from './dht/dht-error.js';
export { DEFAULT_BOOTSTRAP } from './dht/routers.js';
export type { LsdSettings } from './lsd/lsd.js';
export { LsdError, type LsdErrorCode } from './lsd/lsd-error.js';
export { formatLsdAnnounce, type LsdAnnounce, parseLsdAnnounce } from './lsd/lsd-message.js';
export {
  type CreatedTorrent,
  type CreateTorrentOptions,
  createTorrent,
  makeTorrent,
} from './metainfo/create-torrent.js';
export type { FileIndexRange } from './metainfo/file-index-ranges.js';
export { type Magnet, parseMagnet } from './metainfo/magnet.js';
export { MetainfoError } from './metainfo/metainfo-error.js';
export { parseTorrent } from './metainfo/parse-torrent.js';
export { readTorrentFile } from './metainfo/read-torrent-file.js';
export type { Torrent, TorrentFile } from './metainfo/torrent.js';
export { formatPeerAddress, type PeerAddress, parsePeerAddress } from './net/address.js';
export { type ParsedBlocklist, parseBlocklist } from './net/blocklist-parse.js';
export { IpRangeSet } from './net/ip-range-set.js';
export {
  describeProxy,
  type ProxyProtocol,
  type ProxySettings,
  ProxyUrlError,
  parseProxyUrl,
} from './net/proxy.js';
export { ProxyError, type ProxyErrorCode } from './net/proxy-error.js';
export { BlocklistError, readBlocklist } from './net/read-blocklist.js';
export { Bitfield } from './picker/bitfield.js';
export { PiecePicker } from './picker/piece-picker.js';
export type { DhtSettings } from './session/dht-announces.js';
export { type DownloadJob, type DownloadResult, download } from './session/download.js';
export type {
  DhtEvent,
  DownloadEvent,
  LsdEvent,
  MetadataFetchEvent,
  PeerSummary,
  Progress,
} from './session/download-event.js';
export { downloadMagnet, type MagnetOptions } from './session/download-magnet.js';
export {
  DownloadManyError,
  type DownloadManyEvent,
  type DownloadManyJob,
  type DownloadManyOptions,
  downloadMany,
} from './session/download-many.js';
export type { DownloadOptions } from './session/download-options.js';
export { fetchMetadata, MetadataFetchError } from './session/fetch-metadata.js';
export { OnCompleteError, type OnCompleteHook } from './session/on-complete-hook.js';
export { SeedError, type SeedOptions, seed } from './session/seed.js';
export {
  type SeedManyEvent,
  type SeedManyJob,
  type SeedManyOptions,
  seedMany,
  type TorrentFailedEvent,
} from './session/seed-many.js';
export { SuperSeedError } from './session/super-seed-option.js';
export { PieceStore } from './storage/piece-store.js';
export { StorageError } from './storage/storage-error.js';
export { announce } from './tracker/http-announce.js';
export { TrackerError } from './tracker/tracker-error.js';
export { encodeHandshake, encodeMessage } from './wire/encode-message.js';
export type { WireItem, WireMessage } from './wire/messages.js';
export { parseWire } from './wire/parse-wire.js';
export { WireDecoder } from './wire/wire-decoder.js';
export { WireError } from './wire/wire-error.js';
