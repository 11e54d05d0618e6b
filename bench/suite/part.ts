/** What each part of the suite hands back: its printed tables and its raw data for --json. */
import type { SuiteOptions } from './suite-options.js';

export interface PartResult {
  readonly part: string;
  /** Markdown tables with a title line each, printed and copied into docs/performance.md. */
  readonly tables: readonly string[];
  readonly data: unknown;
}

export interface PartContext {
  readonly opts: SuiteOptions;
  /** Scratch folder of this run (deleted at the end); payload caches live in opts.workDir. */
  readonly scratch: string;
}
