/** The data of an HTTP announce (BEP 3, BEP 23, BEP 7). Pure types: machines/ may import them. */
import type { PeerAddress } from '../net/address.js';

/**
 * BEP 3 `event`; 'regular' is the periodic announce, sent without an event parameter. 'paused' is
 * BEP 21's: a partial seed (every piece it wants, not every piece) says it in every announce but
 * `stopped`, so the tracker can count it apart from the peers still downloading.
 */
export type AnnounceEvent = 'started' | 'completed' | 'stopped' | 'regular' | 'paused';

export interface AnnounceParams {
  /** 20 bytes, sent percent-encoded as raw bytes. */
  readonly infoHash: Uint8Array;
  /** 20 bytes, sent percent-encoded as raw bytes. */
  readonly peerId: Uint8Array;
  readonly port: number;
  readonly uploaded: number;
  readonly downloaded: number;
  readonly left: number;
  readonly event: AnnounceEvent;
  /** Peers wanted; the tracker's default when undefined. */
  readonly numwant?: number;
  /** BEP 7 `key`: lets the tracker recognise us across IP changes. Printable ASCII. */
  readonly key?: string;
  /** The `tracker id` a previous response gave, echoed back as `trackerid` (BEP 3). */
  readonly trackerId?: string;
}

export interface TrackerPeer extends PeerAddress {
  /** Only in dictionary-model responses (never in compact ones). */
  readonly peerId?: Uint8Array;
}

export interface AnnounceResponse {
  /** Seconds until the next regular announce, as the tracker asked. */
  readonly interval: number;
  /** Seconds the tracker wants at least between announces. */
  readonly minInterval?: number;
  /** IPv4 (compact `peers` or the dictionary list) then IPv6 (`peers6`) peers. */
  readonly peers: readonly TrackerPeer[];
  /** Seeders. */
  readonly complete?: number;
  /** Leechers. */
  readonly incomplete?: number;
  readonly trackerId?: string;
  /** `warning message`: the announce worked but the tracker has something to say. */
  readonly warning?: string;
}
