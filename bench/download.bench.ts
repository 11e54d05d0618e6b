/**
 * Download benchmark: the same swarm (opentracker + N python3-libtorrent seeders on 127.0.0.1),
 * downloaded in turn by bitstate, aria2 and libtorrent, `rounds` times each into a fresh folder;
 * wall time, MB/s, CPU seconds and peak RSS per run, bytes verified after each; medians and
 * bitstate's ratios to the fastest other client. See docs/benchmarks.md.
 *
 *   node --import tsx bench/download.bench.ts --size 1G --piece-length 1M --seeders 4 --rounds 3
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { referenceInfoHash } from '../test/interop/harness/info-hash.js';
import { type LibtorrentSeeder, startLibtorrentSeeder } from '../test/interop/harness/libtorrent.js';
import { makeTorrent } from '../test/interop/harness/mktorrent.js';
import { type Opentracker, startOpentracker } from '../test/interop/harness/opentracker.js';
import {
  compareTrees,
  defaultTreeSpec,
  type Payload,
  writeMultiFilePayload,
  writeSingleFilePayload,
} from '../test/interop/harness/payload.js';
import { getFreePort, getFreePorts } from '../test/interop/harness/ports.js';
import { stopAll } from '../test/interop/harness/processes.js';
import {
  type BenchClient,
  type BenchOptions,
  BenchUsageError,
  parseBenchOptions,
  USAGE,
} from './bench-options.js';
import { measure } from './measure.js';
import { formatRatios, formatTable, type RoundResult, summarize } from './report.js';
import { downloadCommand } from './suite/swarm.js';

const PAYLOAD_SEED = 20_240_401;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The payload, made once per (layout, size) and kept in workDir across runs. */
async function cachedPayload(opts: BenchOptions): Promise<{ payload: Payload; dataDir: string }> {
  const dataDir = join(opts.workDir, `payload-${opts.layout}-${opts.size}`);
  const markerPath = join(dataDir, '.complete');
  const marker = JSON.stringify({ layout: opts.layout, size: opts.size, seed: PAYLOAD_SEED, format: 1 });
  const files =
    opts.layout === 'single' ? [{ path: 'payload.bin', length: opts.size }] : defaultTreeSpec(opts.size);
  const payload: Payload = {
    root: join(dataDir, opts.layout === 'single' ? 'payload.bin' : 'payload'),
    files,
    totalLength: files.reduce((s, f) => s + f.length, 0),
  };
  if (existsSync(markerPath) && (await readFile(markerPath, 'utf8')) === marker) return { payload, dataDir };
  log(`making the ${opts.layout} payload of ${opts.size} bytes in ${dataDir} (cached for later runs)…`);
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true });
  const made =
    opts.layout === 'single'
      ? await writeSingleFilePayload({
          dir: dataDir,
          name: 'payload.bin',
          size: opts.size,
          seed: PAYLOAD_SEED,
        })
      : await writeMultiFilePayload({ dir: dataDir, name: 'payload', files, seed: PAYLOAD_SEED });
  await writeFile(markerPath, marker);
  return { payload: made, dataDir };
}

/** The command line of one download by `client` into `outDir`. */
async function oneRound(
  client: BenchClient,
  round: number,
  ctx: { torrent: string; payload: Payload; peers: readonly string[]; runDir: string; opts: BenchOptions },
): Promise<RoundResult> {
  const outDir = join(ctx.runDir, `${client}-${round}`);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  try {
    const { command, args } = await downloadCommand(
      client,
      ctx.torrent,
      outDir,
      ctx.peers,
      ctx.opts.timeoutSec,
    );
    const m = await measure(command, args, { name: client, timeoutMs: ctx.opts.timeoutSec * 1000 });
    if (m.timedOut)
      return { client, round, ok: false, error: `timeout after ${ctx.opts.timeoutSec} s`, measurement: m };
    if (m.exitCode !== 0) {
      const tail = m.outputTail.split('\n').filter(Boolean).slice(-2).join(' / ');
      return { client, round, ok: false, error: `exit ${m.exitCode}: ${tail}`, measurement: m };
    }
    // Every client here puts the torrent's file or folder inside the output folder.
    const inside = join(outDir, basename(ctx.payload.root));
    const cmp = await compareTrees(ctx.payload.root, existsSync(inside) ? inside : outDir);
    if (!cmp.equal) {
      return {
        client,
        round,
        ok: false,
        error: `bytes differ: ${cmp.mismatches.slice(0, 3).join('; ')}`,
        measurement: m,
      };
    }
    return { client, round, ok: true, error: undefined, measurement: m };
  } finally {
    // Nothing downloaded survives the round.
    await rm(outDir, { recursive: true, force: true });
  }
}

async function run(opts: BenchOptions): Promise<void> {
  const runDir = join(opts.workDir, `run-${process.pid}`);
  await mkdir(runDir, { recursive: true });
  let tracker: Opentracker | undefined;
  const seeders: LibtorrentSeeder[] = [];
  const onSignal = (): void => {
    void stopAll([tracker, ...seeders]).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { payload, dataDir } = await cachedPayload(opts);
    const trackerPort = await getFreePort();
    const announce = `http://127.0.0.1:${trackerPort}/announce`;
    const hashStart = performance.now();
    const torrent = await makeTorrent({
      source: payload.root,
      out: join(runDir, 'payload.torrent'),
      pieceLength: opts.pieceLength,
      announce: [announce],
      timeoutMs: 600_000,
    });
    const infoHash = await referenceInfoHash(torrent);
    log(`torrent ${infoHash} made in ${((performance.now() - hashStart) / 1000).toFixed(1)} s`);
    tracker = await startOpentracker({ infoHashes: [infoHash], port: trackerPort });

    const ports = await getFreePorts(opts.seeders);
    // --recheck: each seeder hashes its copy before seeding, so no seeder spends CPU verifying
    // pieces lazily while a measured download runs.
    const started = await Promise.all(
      ports.map((port) =>
        startLibtorrentSeeder({
          torrent,
          dataDir,
          port,
          recheck: true,
          readyTimeoutMs: 600_000,
          timeoutMs: 24 * 3600_000,
        }),
      ),
    );
    seeders.push(...started);
    await tracker.waitForSeeders(infoHash, opts.seeders, 30_000);
    const peers = seeders.map((s) => `127.0.0.1:${s.port}`);
    log(`${opts.seeders} libtorrent seeders on ${peers.join(' ')}; tracker ${announce}`);

    const results: RoundResult[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      for (const client of opts.clients) {
        const r = await oneRound(client, round, { torrent, payload, peers, runDir, opts });
        results.push(r);
        const m = r.measurement;
        const rate = m && r.ok ? (payload.totalLength / 1e6 / m.wallSeconds).toFixed(1) : '—';
        log(
          `round ${round}/${opts.rounds} ${client.padEnd(10)} ${r.ok ? 'ok  ' : 'FAIL'} ` +
            `${m ? m.wallSeconds.toFixed(2) : '—'} s, ${rate} MB/s, CPU ${m ? m.cpuSeconds.toFixed(2) : '—'} s` +
            (r.error ? ` — ${r.error.slice(0, 200)}` : ''),
        );
      }
    }

    const rows = summarize(results, opts.clients, payload.totalLength);
    const pieces = Math.ceil(payload.totalLength / opts.pieceLength);
    process.stdout.write(
      `\nDownload of ${(payload.totalLength / 2 ** 20).toFixed(0)} MiB (${opts.layout}, ${pieces} pieces of ` +
        `${opts.pieceLength / 1024} KiB) from ${opts.seeders} libtorrent seeders on 127.0.0.1; ` +
        `median of ${opts.rounds}; node ${process.version}, ${cpus().length} CPUs\n\n` +
        `${formatTable(rows)}\n\n${formatRatios(rows)}\n`,
    );
    if (opts.json !== undefined) {
      await writeFile(
        opts.json,
        JSON.stringify({ options: opts, infoHash, results, summary: rows }, null, 2),
      );
    }
  } finally {
    await stopAll([tracker, ...seeders]);
    await rm(runDir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function main(): Promise<void> {
  try {
    const opts = parseBenchOptions(process.argv.slice(2));
    if (opts === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    await run(opts);
  } catch (err) {
    process.stderr.write(`download.bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = err instanceof BenchUsageError ? 2 : 1;
  }
}

await main();
