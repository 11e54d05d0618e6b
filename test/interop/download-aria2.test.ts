/**
 * `bitstate download` (the built CLI, --json) against an aria2c seeder on 127.0.0.1: the suite of
 * harness/download-from-seeder.ts (single-file and multi-file by `--peer`, multi-file through
 * opentracker). aria2 itself takes no peers on its command line and announces to the torrent's
 * tracker when it has one. Issue #4, "Tests that must exist".
 */
import { startAria2Seeder } from './harness/aria2.js';
import { describeDownloadFromSeeder } from './harness/download-from-seeder.js';

describeDownloadFromSeeder({
  name: 'bitstate download from an aria2 seeder',
  dirPrefix: 'bitstate-dl-aria2-',
  seeds: { single: 21, multi: 22 },
  // aria2 has no switch to keep it from announcing; the single-file torrent has no tracker anyway.
  startSeeder: ({ torrent, dataDir, timeoutMs }) => startAria2Seeder({ torrent, dataDir, timeoutMs }),
});
