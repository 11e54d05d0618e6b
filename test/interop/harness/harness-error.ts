/**
 * The one error class of the interop/bench harness. `code` says what went wrong; the fields carry
 * the numbers and the tail of the child's stderr, so a failing CI run explains itself.
 */
export type HarnessErrorCode =
  | 'spawnFailed'
  | 'exited'
  | 'timeout'
  | 'notReady'
  | 'portTimeout'
  | 'noFreePort'
  | 'badArgument'
  | 'trackerRefused';

export class HarnessError extends Error {
  override readonly name = 'HarnessError';
  readonly code: HarnessErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: HarnessErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}
