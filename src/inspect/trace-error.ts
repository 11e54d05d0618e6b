/** A trace file that is not one (bitstate replay): bad input, exit 2. */
export type TraceErrorCode = 'lineTooLong' | 'notJson' | 'notARecord' | 'noStart';

export class TraceError extends Error {
  override readonly name = 'TraceError';
  readonly badInput = true;
  constructor(
    readonly code: TraceErrorCode,
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}
