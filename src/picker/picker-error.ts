/**
 * Errors of the piece picker. They mean the caller broke the picker's contract (a bitfield of the
 * wrong size, a piece index out of range, removing availability that was never added): bugs, not
 * bad user input, so `badInput` is false. A peer's malformed bitfield or `have` must be rejected by
 * the peer machine before it reaches the picker.
 */
export type PickerErrorCode =
  | 'invalidOptions'
  | 'bitfieldSize'
  | 'pieceOutOfRange'
  | 'availabilityUnderflow'
  | 'invalidCount';

export class PickerError extends Error {
  override readonly name = 'PickerError';
  readonly badInput = false as const;

  constructor(
    readonly code: PickerErrorCode,
    message: string,
    /** The numbers that explain the error, e.g. `{ index, pieceCount }`. */
    readonly numbers: Readonly<Record<string, number>> = {},
  ) {
    super(message);
  }
}
