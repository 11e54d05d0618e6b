/**
 * The DHT's typed error (BEP 5): a malformed or oversized KRPC datagram, a bad router address, a
 * saved state (dht-state.ts) that cannot be read or saved.
 */
export type DhtErrorCode = 'malformed' | 'tooLarge' | 'badRouter' | 'closed' | 'badState';

export class DhtError extends Error {
  override readonly name = 'DhtError';
  readonly code: DhtErrorCode;
  /** A bad --dht-bootstrap is the user's fault (CLI exit 2); a hostile datagram is not. */
  readonly badInput: boolean;
  readonly limit: number | undefined;
  /** A query we could read up to its arguments: its transaction id, to answer error 203 (BEP 5). */
  readonly queryTransactionId: Uint8Array | undefined;
  constructor(
    code: DhtErrorCode,
    message: string,
    opts: { limit?: number; cause?: unknown; queryTransactionId?: Uint8Array } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.badInput = code === 'badRouter';
    this.limit = opts.limit;
    this.queryTransactionId = opts.queryTransactionId;
  }
}
