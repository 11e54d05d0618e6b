/**
 * The whole of issue #8's measurements in one run: the machine's limits, throughput / CPU per GiB /
 * peak RSS of bitstate, aria2c and libtorrent on the same swarms, bitstate's RSS on a big payload,
 * time to the first piece, a 100,000-piece torrent, 500 connections, and seeding to aria2c. Prints
 * one Markdown table per part (stdout; progress on stderr). See docs/performance.md.
 *
 *   npm run build && node --import tsx bench/suite.ts [--parts …] [--quick] [--json FILE]
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { bitstateBin } from '../test/interop/harness/bitstate.js';
import { BenchUsageError } from './bench-options.js';
import { buildStamp, describeStamp } from './suite/build-stamp.js';
import { LoadSampler, machineInfo } from './suite/machine.js';
import type { PartContext, PartResult } from './suite/part.js';
import { limitsPart } from './suite/part-limits.js';
import { memoryPart } from './suite/part-memory.js';
import { scalePart } from './suite/part-scale.js';
import { seedingPart } from './suite/part-seeding.js';
import { firstPiecePart, manyPiecesPart } from './suite/part-startup.js';
import { throughputPart } from './suite/part-throughput.js';
import { fmt } from './suite/stats.js';
import { parseSuiteOptions, SUITE_USAGE, type SuitePart } from './suite/suite-options.js';

const RUNNERS: Record<SuitePart, (ctx: PartContext) => Promise<PartResult>> = {
  limits: limitsPart,
  throughput: throughputPart,
  memory: memoryPart,
  'first-piece': firstPiecePart,
  'many-pieces': manyPiecesPart,
  scale: scalePart,
  seeding: seedingPart,
};

async function main(): Promise<void> {
  const opts = parseSuiteOptions(process.argv.slice(2));
  if (opts === 'help') {
    process.stdout.write(`${SUITE_USAGE}\n`);
    return;
  }
  bitstateBin(); // fails early, with the fix, when dist/ is missing
  const scratch = join(opts.workDir, `run-${process.pid}`);
  await mkdir(scratch, { recursive: true });
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  const machine = machineInfo();
  const load = new LoadSampler();
  const started = new Date();
  const script = relative(process.cwd(), process.argv[1] ?? 'bench/suite.ts');
  const runner = script.endsWith('.ts') ? 'node --import tsx' : 'node';
  const command = `${runner} ${script} ${process.argv.slice(2).join(' ')}`.trim();
  process.stdout.write(
    `## bitstate benchmark suite — ${started.toISOString()}\n\n` +
      `Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, Linux ${machine.kernel}\n` +
      `Command: \`${command}\`\n` +
      `Build: ${describeStamp(buildStamp())}\n`,
  );
  const results: (PartResult & {
    load: ReturnType<LoadSampler['summary']>;
    seconds: number;
    build: { before: ReturnType<typeof buildStamp>; after: ReturnType<typeof buildStamp> };
  })[] = [];
  try {
    for (const part of opts.parts) {
      const from = load.mark();
      const t0 = performance.now();
      const before = buildStamp();
      let result: PartResult;
      try {
        result = await RUNNERS[part]({ opts, scratch });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        process.stderr.write(`part ${part} failed: ${message}\n`);
        result = {
          part,
          tables: [`### ${part}: FAILED\n\n${message.replace(/\s+/g, ' ').slice(0, 1500)}`],
          data: { error: message },
        };
      }
      load.mark();
      const l = load.summary(from);
      const seconds = (performance.now() - t0) / 1000;
      const after = buildStamp();
      const rebuilt = before.builtAt !== after.builtAt || before.commit !== after.commit;
      results.push({ ...result, load: l, seconds, build: { before, after } });
      process.stdout.write(
        `\n${result.tables.join('\n\n')}\n\n` +
          `(${part}: ${seconds.toFixed(0)} s; 1-min load average ${fmt(l.min, 2)}–${fmt(l.max, 2)}, mean ${fmt(l.mean, 2)})\n` +
          (rebuilt ? `(WARNING: bitstate was rebuilt during this part: ${describeStamp(after)})\n` : ''),
      );
      if (opts.json !== undefined) {
        await writeFile(
          opts.json,
          JSON.stringify({ started, command, machine, options: opts, results }, null, 2),
        );
      }
    }
  } finally {
    load.stop();
    await rm(scratch, { recursive: true, force: true });
  }
  const all = load.summary();
  process.stdout.write(
    `\nWhole run: ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s; 1-min load average ${fmt(all.min, 2)}–${fmt(all.max, 2)}, mean ${fmt(all.mean, 2)} (${all.n} samples)\n`,
  );
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench/suite: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = err instanceof BenchUsageError ? 2 : 1;
}
