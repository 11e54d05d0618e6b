/**
 * The one error class of the wire codec. Every code is the peer's fault (a hostile or broken
 * peer), never the user's, so there is no `badInput`: the connection is closed and the peer's
 * blocks go back to the picker; the download goes on.
 */

export type WireErrorCode =
  /** The handshake's pstrlen is not 19 or its pstr is not "BitTorrent protocol" (BEP 3). */
  | 'badProtocolName'
  /** A length prefix larger than the frame limit (`limit`); nothing of that size was allocated. */
  | 'frameTooLong'
  /**
   * A message whose length does not fit its id; `bound` says whether `limit` is exact, a minimum,
   * a maximum, or (`multiple`) the size its payload must come in whole units of past a fixed header
   * (BEP 52's 32-byte hashes).
   */
  | 'badMessageLength'
  /** The stream ended inside the handshake or a frame: `received` of the `limit` bytes it needed. */
  | 'truncated'
  /**
   * A BEP 9 ut_metadata message that breaks the extension's rules (`detail` says which): its
   * dictionary does not decode, a key is missing or out of range, or its data does not fit the
   * piece it names. `received` / `limit` are the offending number and its bound where there is one.
   */
  | 'badMetadataMessage'
  /**
   * A BEP 11 ut_pex message over MAX_UT_PEX_PAYLOAD (`received` / `limit`), or one whose
   * dictionary does not decode (`detail` says which).
   */
  | 'badPexMessage';

export type LengthBound = 'exact' | 'min' | 'max' | 'multiple';

export interface WireErrorDetails {
  /** The number the peer sent: a length, a pstrlen, or the bytes received before the end. */
  readonly received: number;
  /** The number it should have respected (see `bound`). */
  readonly limit: number;
  /** The message id, when the error is about one message. */
  readonly messageId?: number | undefined;
  readonly bound?: LengthBound | undefined;
  /** What was wrong, in words, for `badMetadataMessage` and `badPexMessage`. */
  readonly detail?: string | undefined;
}

export class WireError extends Error {
  override readonly name = 'WireError';
  readonly code: WireErrorCode;
  readonly received: number;
  readonly limit: number;
  readonly messageId: number | undefined;
  readonly bound: LengthBound;

  constructor(code: WireErrorCode, details: WireErrorDetails) {
    super(describe(code, details));
    this.code = code;
    this.received = details.received;
    this.limit = details.limit;
    this.messageId = details.messageId;
    this.bound = details.bound ?? 'max';
  }
}

function describe(code: WireErrorCode, d: WireErrorDetails): string {
  switch (code) {
    case 'badProtocolName':
      return `peer handshake does not start with pstrlen 19 + "BitTorrent protocol" (pstrlen ${d.received})`;
    case 'frameTooLong':
      return `peer sent a frame of ${d.received} bytes; the limit is ${d.limit}`;
    case 'badMessageLength': {
      if (d.bound === 'multiple')
        return `peer sent message id ${d.messageId} with length ${d.received}; past its header it must be whole ${d.limit}-byte units`;
      const rule =
        d.bound === 'exact' ? 'must be' : d.bound === 'min' ? 'must be at least' : 'may be at most';
      return `peer sent message id ${d.messageId} with length ${d.received}; it ${rule} ${d.limit}`;
    }
    case 'truncated':
      return `peer stream ended after ${d.received} of the ${d.limit} bytes of ${d.messageId === undefined ? 'a handshake or length prefix' : `a message with id ${d.messageId}`}`;
    case 'badMetadataMessage':
      return `peer sent a bad ut_metadata message: ${d.detail ?? 'malformed'}`;
    case 'badPexMessage':
      return `peer sent a bad ut_pex message: ${d.detail ?? 'malformed'}`;
  }
}
