/**
 * When the resume file is saved during a download (docs/resume.md): at most every
 * `intervalMs`, one save at a time, only when more pieces were verified since the last one, and
 * once more at the end. A failed save is kept in `error`: the download stops with it.
 */
import type { DownloadEvent } from './download-event.js';
import type { ResumeSaver } from './resume.js';

/** The resume file is saved at most this often while pieces are verified (docs/resume.md). */
export const RESUME_SAVE_INTERVAL_MS = 2000;

export class ResumeSaveLoop {
  /** A save that failed (disk full, a file removed under us): the download stops with it. */
  error: Error | undefined;
  readonly #saver: ResumeSaver | undefined;
  readonly #intervalMs: number;
  readonly #emit: (e: DownloadEvent) => void;
  #lastSave = performance.now();

  /** `saver` undefined: nothing is ever saved (seed() checks the data itself each time). */
  constructor(saver: ResumeSaver | undefined, intervalMs: number, emit: (e: DownloadEvent) => void) {
    this.#saver = saver;
    this.#intervalMs = intervalMs;
    this.#emit = emit;
  }

  /**
   * Saves now; never rejects (a failure goes to `error`). Undefined when there is no saver.
   * `everyFile`: the last save, which looks at every file on disk (ResumeSaver).
   */
  save(opts: { readonly everyFile?: boolean } = {}): Promise<void> | undefined {
    return this.#saver
      ?.save(opts)
      .then((have) => this.#emit({ type: 'resume.saved', have }))
      .catch((err: unknown) => {
        this.error ??= err instanceof Error ? err : new Error(String(err));
      });
  }

  /**
   * Starts a save if one is due at `now` and `haveCount()` differs from the last saved count;
   * returns it, or undefined when none started.
   */
  tick(now: number, haveCount: () => number): Promise<void> | undefined {
    const saver = this.#saver;
    if (
      saver === undefined ||
      saver.busy ||
      this.error !== undefined ||
      now - this.#lastSave < this.#intervalMs ||
      haveCount() === saver.saved
    )
      return undefined;
    this.#lastSave = now;
    return this.save();
  }
}
