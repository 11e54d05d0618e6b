/**
 * The suite every "bitstate download from <client> seeder" interop test runs (issue #4, "Tests that
 * must exist"): the built CLI (--json) downloads a single-file and a multi-file torrent by `--peer`
 * (bitstate dials the seeder's listen port; the seeder takes no peers), and the multi-file one
 * through opentracker, where the seeder announces. Bytes compared with the source; the NDJSON must
 * show metadata first, a connected peer, every piece verified and `done` last. Only how a seeder
 * starts differs between clients, so that is the one thing a test file passes in.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { type BitstateRun, checkSuccessfulDownload, startBitstateDownload } from './bitstate.js';
import { type ReferenceTorrentInfo, referenceTorrentInfo } from './info-hash.js';
import { makeTorrent } from './mktorrent.js';
import { type Opentracker, startOpentracker } from './opentracker.js';
import { defaultTreeSpec, type Payload, writeMultiFilePayload, writeSingleFilePayload } from './payload.js';
import { type Stoppable, stopAll } from './processes.js';

/** Hard bound on each bitstate run: a few MiB over loopback takes about a second. */
export const DOWNLOAD_TIMEOUT_MS = 30_000;
/** bitstate gives up (exit 1) after this long without data, well before the hard bound. */
export const STALL_TIMEOUT_SEC = 10;
/** Hard lifetime of each seeder the suite starts: it outlives every case. */
const SEEDER_TIMEOUT_MS = 120_000;

/** Any third-party seeder: listens on 127.0.0.1:`port` until stopped. */
export interface Seeder extends Stoppable {
  readonly port: number;
}

/** What `startSeeder` is asked to seed. */
export interface SeederRequest {
  readonly torrent: string;
  /** The folder that holds the torrent's file or folder (the seeder's save path). */
  readonly dataDir: string;
  /** True for the single-file torrent, which has no announce URL: the seeder must not announce. */
  readonly trackerOff: boolean;
  readonly timeoutMs: number;
}

/** One torrent, its source data and the seeder that serves it. */
export interface SeededTorrent<S extends Seeder> {
  /** The torrent's `name`: the file or folder bitstate writes under `--out`. */
  readonly name: string;
  readonly payload: Payload;
  readonly torrent: string;
  readonly info: ReferenceTorrentInfo;
  readonly seeder: S;
}

/** The suite's state, filled by its `before` hook; read it only inside test cases. */
export interface DownloadFromSeederState<S extends Seeder> {
  /** The suite's temporary folder (removed after the suite). */
  readonly dir: string;
  readonly single: SeededTorrent<S>;
  readonly multi: SeededTorrent<S>;
  /** Stops `item` with the suite's seeders, after the last case. */
  stopAfterSuite(item: Stoppable): void;
  /**
   * Downloads `from.torrent` into a new folder `out-<outName>` (by `--peer 127.0.0.1:peerPort` and
   * `--no-tracker` when `peerPort` is given, else through the torrent's tracker) and asserts it is a
   * complete, byte-exact download; resolves with the finished run for further checks.
   */
  downloadChecked(
    t: TestContext,
    from: SeededTorrent<S>,
    outName: string,
    peerPort?: number,
  ): Promise<BitstateRun>;
}

export interface DownloadFromSeederOptions<S extends Seeder> {
  /** The suite's title. */
  readonly name: string;
  /** Prefix of the suite's temporary folder, e.g. `bitstate-dl-aria2-`. */
  readonly dirPrefix: string;
  /** Payload PRNG seeds, distinct per client so no two suites share bytes by accident. */
  readonly seeds: { readonly single: number; readonly multi: number };
  /** Starts a seeder and resolves once it is ready to serve. */
  startSeeder(request: SeederRequest): Promise<S>;
  /** Declares more cases inside the suite, against its state. */
  readonly moreCases?: (state: DownloadFromSeederState<S>) => void;
}

/** Declares the suite (describe, before, after and the three cases) for one seeding client. */
export function describeDownloadFromSeeder<S extends Seeder>(opts: DownloadFromSeederOptions<S>): void {
  let dir = '';
  let tracker: Opentracker | undefined;
  const stoppables: Stoppable[] = [];
  let single: SeededTorrent<S> | undefined;
  let multi: SeededTorrent<S> | undefined;

  const seed = async (torrent: string, dataDir: string, trackerOff: boolean): Promise<S> => {
    const seeder = await opts.startSeeder({ torrent, dataDir, trackerOff, timeoutMs: SEEDER_TIMEOUT_MS });
    stoppables.push(seeder);
    return seeder;
  };

  const state: DownloadFromSeederState<S> = {
    get dir() {
      return dir;
    },
    get single() {
      assert.ok(single, 'the suite set up its single-file torrent');
      return single;
    },
    get multi() {
      assert.ok(multi, 'the suite set up its multi-file torrent');
      return multi;
    },
    stopAfterSuite(item) {
      stoppables.push(item);
    },
    async downloadChecked(t, from, outName, peerPort) {
      const out = join(dir, `out-${outName}`);
      await mkdir(out);
      const run = startBitstateDownload({
        torrent: from.torrent,
        out,
        ...(peerPort === undefined ? {} : { peers: [`127.0.0.1:${peerPort}`], noTracker: true }),
        stallTimeoutSec: STALL_TIMEOUT_SEC,
        timeoutMs: DOWNLOAD_TIMEOUT_MS,
      });
      t.after(() => run.stop());
      const problems = await checkSuccessfulDownload(run, {
        source: from.payload.root,
        dest: join(out, from.name),
        pieceCount: from.info.pieceCount,
        totalLength: from.info.totalLength,
      });
      assert.deepEqual(problems, [], run.describe());
      return run;
    },
  };

  describe(opts.name, () => {
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), opts.dirPrefix));
      tracker = await startOpentracker();

      // Single file: an odd size, 64 KiB pieces, so the last piece is short.
      const singlePayload = await writeSingleFilePayload({
        dir: join(dir, 'seed-single'),
        name: 'single.bin',
        size: (3 << 20) + 12_345,
        seed: opts.seeds.single,
      });
      const singleTorrent = await makeTorrent({
        source: singlePayload.root,
        out: join(dir, 'single.torrent'),
        pieceLength: 64 * 1024,
      });
      const singleSeeder = await seed(singleTorrent, join(dir, 'seed-single'), true);
      single = {
        name: 'single.bin',
        payload: singlePayload,
        torrent: singleTorrent,
        info: await referenceTorrentInfo(singleTorrent),
        seeder: singleSeeder,
      };

      // Multi-file: nested folders, a 5-byte file, a zero-length file, sizes aligned neither to
      // pieces nor to blocks; 128 KiB pieces, so several files start and end inside one piece.
      const multiPayload = await writeMultiFilePayload({
        dir: join(dir, 'seed-multi'),
        name: 'tree',
        files: [...defaultTreeSpec(4 << 20), { path: 'nested/empty.dat', length: 0 }],
        seed: opts.seeds.multi,
      });
      const multiTorrent = await makeTorrent({
        source: multiPayload.root,
        out: join(dir, 'tree.torrent'),
        pieceLength: 128 * 1024,
        announce: [tracker.announceUrl],
      });
      const multiInfo = await referenceTorrentInfo(multiTorrent);
      assert.ok(
        multiInfo.files.some((f) => f.length === 0),
        'the torrent keeps the zero-length file',
      );
      await tracker.allow([multiInfo.infoHash]);
      const multiSeeder = await seed(multiTorrent, join(dir, 'seed-multi'), false);
      await tracker.waitForSeeders(multiInfo.infoHash, 1, 10_000);
      multi = {
        name: 'tree',
        payload: multiPayload,
        torrent: multiTorrent,
        info: multiInfo,
        seeder: multiSeeder,
      };
    });

    after(async () => {
      await stopAll([tracker, ...stoppables]);
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    });

    it('a single-file torrent via --peer (no tracker)', async (t) => {
      const { single } = state;
      const run = await state.downloadChecked(t, single, 'single-peer', single.seeder.port);
      const connected = run.events.find((e) => e.type === 'peer.connected');
      assert.equal(connected?.address, `127.0.0.1:${single.seeder.port}`);
    });

    it('a multi-file torrent (nested, tiny, empty, unaligned files) via --peer', async (t) => {
      const { multi } = state;
      const run = await state.downloadChecked(t, multi, 'multi-peer', multi.seeder.port);
      assert.equal(
        run.events.filter((e) => e.type === 'tracker.announce').length,
        0,
        '--no-tracker announces nothing',
      );
    });

    it('the multi-file torrent via opentracker (no --peer)', async (t) => {
      const { multi } = state;
      const run = await state.downloadChecked(t, multi, 'multi-tracker');
      const announce = run.events.find((e) => e.type === 'tracker.announce' && e.ok === true);
      assert.ok(announce, `a successful tracker.announce event; ${run.describe()}`);
      assert.ok(
        run.events.some((e) => e.type === 'peer.connected' && e.address === `127.0.0.1:${multi.seeder.port}`),
        `connected to the seeder the tracker named; ${run.describe()}`,
      );
    });

    opts.moreCases?.(state);
  });
}
