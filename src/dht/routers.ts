/**
 * The public DHT routers the reference clients bootstrap from (libtorrent, Transmission,
 * qBittorrent, aria2): the CLI's default `--dht-bootstrap`. A module of its own so the CLI's flags
 * can name them without loading the DHT.
 */
import type { PeerAddress } from '../net/address.js';

export const DEFAULT_BOOTSTRAP: readonly PeerAddress[] = [
  { host: 'router.bittorrent.com', port: 6881 },
  { host: 'dht.transmissionbt.com', port: 6881 },
  { host: 'router.utorrent.com', port: 6881 },
  { host: 'dht.libtorrent.org', port: 25401 },
];
