/** A trace file that is not one, or cannot be read (bitstate replay): bad input, exit 2. */
export type TraceErrorCode = 'unreadable' | 'lineTooLong' | 'notJson' | 'notARecord' | 'noStart';

export class TraceError extends Error {
  override readonly name = 'TraceError';
  readonly badInput = true;
  constructor(
    readonly code: TraceErrorCode,
    message: string,
    /** 1-based; 0 when the error is not about one line. */
    readonly line: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
