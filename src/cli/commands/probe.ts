/**
 * `bitstate probe <FILE.torrent> --peer HOST:PORT [options]`: generated BitTorrent conversations
 * against another client that has the torrent, every answer judged by BEP 3, 6 and 10
 * (src/probe/, docs/probe.md). For people who test BitTorrent implementations: a violation comes
 * back as the shortest script that still provokes it, with the seed and path that replay it.
 */
import { parseArgs } from 'node:util';
import { readTorrentFile } from '../../metainfo/read-torrent-file.js';
import { parsePeerAddress } from '../../net/address.js';
import type { Finding } from '../../probe/conformance-ledger.js';
import { type ProbeReport, type ProbeRunReport, probePeer } from '../../probe/probe-peer.js';
import { DEFAULT_SCRIPT_STEPS, MAX_SCRIPT_STEPS } from '../../probe/probe-script.js';
import { describeStep } from '../../probe/probe-step.js';
import type { ConnectionRunResult } from '../../probe/probe-swarm.js';
import { MAX_CONNECTIONS } from '../../probe/swarm-ledger.js';
import { ExitCode } from '../exit-code.js';
import { parseCount, parseSeconds } from '../parse-number.js';
import { printable, printableJson } from '../printable.js';
import { UsageError } from '../usage-error.js';

export const usage = `Usage: bitstate probe <FILE.torrent> --peer HOST:PORT [--data DIR] [options]

Plays generated BitTorrent conversations (fast-check) against another client that has the
torrent — a seeder, or a peer with some of its pieces — one connection per script, and checks
every answer against BEP 3, 6 and 10: blocks it was never asked for, blocks whose piece fails its
hash, a bitfield after other messages, a BEP 6 or BEP 10 message that was not negotiated, a
frame that does not decode. A script that makes the target break a rule is shrunk to the shortest
one that still does (each attempt is a new connection) and printed with the seed and path that
replay it. The probe announces no pieces and offers no extension.

With --data DIR the probe serves instead: DIR holds the torrent's data (as download --out left it),
checked against the torrent first; the target is a client downloading the torrent that takes
incoming connections. The probe announces what it has, chokes, unchokes, serves, rejects as the
script says, and judges the target as a downloader: requests over 16 KiB, past a piece's end, for a
piece never announced, or while choked (once it had read the choke); a have of a piece whose only
copy of a block was one the probe corrupted on purpose (--hostile).

Options:
      --peer HOST:PORT   the client to probe (required)
      --data DIR         serve the torrent's data in DIR to a downloading target (see above)
      --runs N           scripts to play (default 20)
      --connections N    play N scripts at once, one a connection, against the target (default 1,
                         at most ${MAX_CONNECTIONS}): each judged as alone, and the group too — the same
                         block with other bytes on two connections; with --data, a piece the
                         target completed never announced (have) to a connection that lacked it
      --steps N          at most N steps per script (default ${DEFAULT_SCRIPT_STEPS}, at most ${MAX_SCRIPT_STEPS})
      --hostile          mix in steps that break the rules on purpose (oversized or out-of-range
                         requests, unknown ids, garbage…): what the target does with them is
                         reported (closed, ignored, served), and only its own breaches count
      --seed N           fast-check's seed (printed on every run; default random)
      --path P           with --seed: replay exactly the script a report printed
      --no-shrink        stop at the first failing script as it was generated
      --time-limit S     bound on the whole probe, shrinking included (default 600)
      --json             NDJSON events on stdout: probe.run per connection, then probe.done
  -h, --help             this text

Exit status: 0 when no script made the target break a rule, 1 when one did (or the target could
not be reached, or did not answer a handshake for this torrent), 2 for bad input.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      peer: { type: 'string' },
      data: { type: 'string' },
      runs: { type: 'string' },
      connections: { type: 'string' },
      steps: { type: 'string' },
      hostile: { type: 'boolean' },
      seed: { type: 'string' },
      path: { type: 'string' },
      'no-shrink': { type: 'boolean' },
      'time-limit': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return ExitCode.ok;
  }
  if (positionals.length !== 1)
    throw new UsageError('expected one .torrent file (see bitstate probe --help)');
  if (values.peer === undefined) throw new UsageError('--peer HOST:PORT is required: the client to probe');
  const target = parsePeerAddress(values.peer);
  const seed = values.seed === undefined ? undefined : parseSeed(values.seed);
  if (values.path !== undefined && seed === undefined)
    throw new UsageError('--path replays a script: give its --seed too');
  if (values.path !== undefined && !/^\d+(:\d+)*$/.test(values.path))
    throw new UsageError(`--path takes what a report printed (such as 4:0:2), not '${values.path}'`);
  const options = {
    runs: values.runs === undefined ? 20 : parseCount('--runs', values.runs, 1, 100_000),
    maxSteps:
      values.steps === undefined
        ? DEFAULT_SCRIPT_STEPS
        : parseCount('--steps', values.steps, 1, MAX_SCRIPT_STEPS),
    connections:
      values.connections === undefined
        ? 1
        : parseCount('--connections', values.connections, 1, MAX_CONNECTIONS),
    hostile: values.hostile === true,
    shrink: values['no-shrink'] !== true,
    timeLimitMs:
      1000 * (values['time-limit'] === undefined ? 600 : parseSeconds('--time-limit', values['time-limit'])),
    ...(seed === undefined ? {} : { seed }),
    ...(values.path === undefined ? {} : { path: values.path }),
  };
  const torrent = await readTorrentFile(positionals[0]!);
  const json = values.json === true;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const data = values.data;
  if (!json)
    out(
      `probing ${values.peer} ${data === undefined ? 'for' : 'as it downloads'} ${printable(torrent.name)} (${torrent.infoHashHex})${options.connections === 1 ? '' : `, ${options.connections} connections at once`}`,
    );
  const report = await probePeer(torrent, target, {
    ...options,
    ...(data === undefined ? {} : { data }),
    onRun: (r) => out(json ? printableJson({ type: 'probe.run', ...runEvent(r) }) : describeRun(r)),
  });
  if (json) out(printableJson({ type: 'probe.done', ...doneEvent(report, options.connections) }));
  else
    for (const line of describeReport(report, replayFlags({ ...options, data }), options.connections))
      out(line);
  return report.counterexample === undefined ? ExitCode.ok : ExitCode.failed;
}

/** fast-check seeds are 32-bit integers, negative ones included (they print them so). */
function parseSeed(s: string): number {
  if (!/^-?\d+$/.test(s)) throw new UsageError(`--seed takes an integer, not '${s}'`);
  const n = Number(s);
  if (n < -(2 ** 31) || n >= 2 ** 32) throw new UsageError(`--seed must be a 32-bit integer, not ${s}`);
  return n;
}

function runEvent(r: ProbeRunReport) {
  const group = r.perConnection;
  return {
    run: r.run,
    shrinking: r.shrinking,
    ...(group === undefined
      ? connectionEvent(r)
      : {
          ...connectionEvent(r),
          // The group's own findings here; each connection's in its entry.
          findings: r.swarmFindings ?? [],
          connections: group.map((c) => ({ connection: c.connection, ...connectionEvent(c) })),
        }),
  };
}

function connectionEvent(r: ProbeRunReport | ConnectionRunResult) {
  return {
    steps: r.steps,
    stepsPlayed: r.stepsPlayed,
    closedBy: r.closedBy,
    ...(r.closedAfter === undefined ? {} : { closedAfter: r.closedAfter }),
    role: r.role,
    received: r.received,
    blocks: r.blocksReceived,
    blocksServed: r.blocksServed,
    blocksCorrupted: r.blocksCorrupted,
    piecesVerified: r.piecesVerified,
    fast: r.fast,
    elapsedMs: r.elapsedMs,
    findings: r.findings,
  };
}

function doneEvent(r: ProbeReport, connections: number) {
  return {
    seed: r.seed,
    runs: r.runs,
    connections: r.connections,
    shrinks: r.shrinks,
    interrupted: r.interrupted,
    notes: r.notes,
    ...(r.counterexample === undefined
      ? { violation: false as const }
      : {
          violation: true,
          path: r.counterexample.path,
          script: r.counterexample.script.map(describeStep),
          ...(connections === 1 ? {} : { scripts: r.counterexample.scripts.map((s) => s.map(describeStep)) }),
          findings: r.counterexample.findings,
        }),
  };
}

function describeFinding(f: Finding): string {
  const where = f.step < 0 ? 'in the opening' : `after step ${f.step}`;
  const on = f.connection === undefined ? '' : ` on connection ${f.connection}`;
  return `${f.level} ${f.rule} (BEP ${f.bep})${on} ${where}: ${printable(f.detail)}`;
}

function describeRun(r: ProbeRunReport): string {
  const group = r.perConnection;
  if (group === undefined) return describeConnection(r, `${r.shrinking ? 'shrink' : 'run'} ${r.run}`);
  const head = `${r.shrinking ? 'shrink' : 'run'} ${r.run} (${group.length} connections at once)${r.violations > 0 ? ': VIOLATION' : ''}`;
  const lines = group.map(
    (c) => `\n  ${describeConnection(c, `connection ${c.connection}`).replaceAll('\n', '\n  ')}`,
  );
  const across = (r.swarmFindings ?? []).map((f) => `\n  ${describeFinding(f)}`);
  return `${head}${lines.join('')}${across.join('')}`;
}

function describeConnection(r: ProbeRunReport | ConnectionRunResult, name: string): string {
  const blocks =
    r.role === 'serve'
      ? `${r.blocksServed} blocks served (${r.blocksCorrupted} corrupted), ${r.received.request ?? 0} requests`
      : `${r.blocksReceived} blocks, ${r.piecesVerified} pieces checked`;
  const head = `${name}: ${r.stepsPlayed}/${r.steps} steps, ${blocks}, `;
  const end = r.closedBy === 'target' ? `closed by the target after ${r.closedAfter ?? 'the opening'}` : 'ok';
  const findings = r.findings.map((f) => `\n    ${describeFinding(f)}`).join('');
  return `${head}${r.violations > 0 ? 'VIOLATION, ' : ''}${end}${findings}`;
}

/** The flags a replay needs besides --seed and --path: the same script generator (and side). */
function replayFlags(o: {
  hostile: boolean;
  maxSteps: number;
  connections: number;
  data: string | undefined;
}): string {
  const data = o.data === undefined ? '' : ` --data ${printable(shellWord(o.data))}`;
  const connections = o.connections === 1 ? '' : ` --connections ${o.connections}`;
  return `${data}${connections}${o.hostile ? ' --hostile' : ''}${o.maxSteps === DEFAULT_SCRIPT_STEPS ? '' : ` --steps ${o.maxSteps}`}`;
}

/** A path as one shell word: as it is when plain, else single-quoted. */
function shellWord(s: string): string {
  return /^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

function describeReport(r: ProbeReport, flags: string, connections: number): string[] {
  const hostile = flags.includes('--hostile');
  const lines: string[] = [];
  const notes = Object.entries(r.notes).map(([rule, n]) => `${rule} ×${n}`);
  if (notes.length > 0) lines.push(`notes: ${notes.join(', ')}`);
  if (r.interrupted) lines.push('stopped at --time-limit before every run was played');
  const c = r.counterexample;
  if (c === undefined) {
    const scripts = connections === 1 ? 'scripts' : `groups of ${connections} scripts at once`;
    lines.push(`no violation in ${r.runs} ${hostile ? 'hostile ' : ''}${scripts} (seed ${r.seed})`);
    return lines;
  }
  lines.push(
    connections === 1
      ? `VIOLATION after ${r.runs} scripts and ${r.shrinks} shrinks; the shortest script found:`
      : `VIOLATION after ${r.runs} groups and ${r.shrinks} shrinks; the shortest group found:`,
  );
  const group = c.scripts.length > 1;
  for (const [k, script] of c.scripts.entries()) {
    const indent = group ? '    ' : '  ';
    if (group) lines.push(`  connection ${k}:`);
    if (script.length === 0) lines.push(`${indent}(no step: the opening alone)`);
    for (const [i, s] of script.entries()) lines.push(`${indent}${i}. ${describeStep(s)}`);
  }
  for (const f of c.findings) lines.push(`  ${describeFinding(f)}`);
  // `--seed=N`: parseArgs takes `--seed -5` for an option, and fast-check's seeds can be negative.
  lines.push(`replay: --seed=${r.seed} --path ${c.path}${flags}`);
  return lines;
}
