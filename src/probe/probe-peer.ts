/**
 * `probePeer`: plays generated scripts (probe-script.ts) against one target peer, one connection
 * per script, and when a script makes the target break a rule, lets fast-check shrink it to the
 * shortest script that still does — each shrink attempt is one more real connection — and reports
 * it with the seed and path that replay exactly that script.
 *
 * The target must have the torrent (a seeder, or a peer with some of it): a first connection with
 * no steps checks that it answers the handshake, so a wrong address or torrent is an error
 * (ProbeError), not a finding. A run whose connection the target refuses later (it banned us after
 * a hostile run) is a note, not a violation.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import type { Torrent } from '../metainfo/torrent.js';
import type { PeerAddress } from '../net/address.js';
import type { Finding, LedgerTorrent } from './conformance-ledger.js';
import { openPieceSource, type PieceSource } from './piece-source.js';
import { type ProbeRunResult, runProbeScript } from './probe-connection.js';
import { ProbeError } from './probe-error.js';
import { type ProbeScriptOptions, probeScript } from './probe-script.js';
import type { ProbeStep } from './probe-step.js';
import { runServingScript, type ServingConnectionOptions } from './serving-connection.js';
import { probeServingScript } from './serving-script.js';
import type { ServingStep } from './serving-step.js';

/** A step of either side's scripts. */
export type ScriptStep = ProbeStep | ServingStep;

/** Connections tried before a target that answers no handshake is given up. */
export const PREFLIGHT_ATTEMPTS = 3;

export interface ProbeOptions extends ServingConnectionOptions, ProbeScriptOptions {
  /**
   * Serve instead of fetch: the torrent's data, a folder (checked, then closed when the probe ends)
   * or an open PieceSource (the caller closes it). Needs the whole Torrent, not a LedgerTorrent.
   */
  readonly data?: string | PieceSource;
  /** Scripts to play before declaring the target conformant (default 20). */
  readonly runs?: number;
  /** fast-check's seed (default: random, reported). */
  readonly seed?: number;
  /** With `seed`: replay exactly the script at this path (a report's `path`). */
  readonly path?: string;
  /** Shrink a failing script (default true); false stops at the first failing one. */
  readonly shrink?: boolean;
  /** Bound on the whole probe, shrinking included (default 10 min): past it the probe stops. */
  readonly timeLimitMs?: number;
  /** Told after every connection: the scripts played and, once one failed, each shrink attempt. */
  readonly onRun?: (run: ProbeRunReport) => void;
}

export interface ProbeRunReport extends ProbeRunResult {
  /** 1-based: the n-th connection of this probe (the handshake check is not counted). */
  readonly run: number;
  /** After the first failing script: an attempt to shrink it. */
  readonly shrinking: boolean;
  readonly steps: number;
}

export interface ProbeReport {
  readonly seed: number;
  /** Scripts fast-check played before it stopped (a failure stops it), shrinking not counted. */
  readonly runs: number;
  /** Every connection made, shrinking included. */
  readonly connections: number;
  readonly shrinks: number;
  /** The probe hit its time limit before playing every run. */
  readonly interrupted: boolean;
  /** Notes over every run, by rule: how often the target did something lenient or odd. */
  readonly notes: Readonly<Record<string, number>>;
  /** Set when a script made the target break a rule: the smallest found, and how to replay it. */
  readonly counterexample?: {
    readonly script: readonly ScriptStep[];
    readonly findings: readonly Finding[];
    readonly result: ProbeRunResult;
    /** `--seed <seed> --path <path>` replays exactly this script. */
    readonly path: string;
  };
}

export async function probePeer(
  torrent: LedgerTorrent | Torrent,
  target: PeerAddress,
  options: ProbeOptions = {},
): Promise<ProbeReport> {
  if (options.path !== undefined && (options.seed === undefined || !/^\d+(:\d+)*$/.test(options.path)))
    throw new ProbeError(
      'badReplay',
      `a replay path needs its seed and reads like 3:0:1, not '${options.path}'`,
    );
  const { data } = options;
  if (data === undefined)
    return probeWith(options, probeScript(options), (script) =>
      runProbeScript(torrent, target, script, options),
    );
  if (typeof data !== 'string')
    return probeWith(options, probeServingScript(options), (script) =>
      runServingScript(data, target, script, options),
    );
  if (!('infoBytes' in torrent)) throw new TypeError('probePeer: serving needs the whole Torrent');
  const source = await openPieceSource(torrent, data);
  try {
    return await probeWith(options, probeServingScript(options), (script) =>
      runServingScript(source, target, script, options),
    );
  } finally {
    await source.close();
  }
}

async function probeWith<S extends ScriptStep>(
  options: ProbeOptions,
  scripts: fc.Arbitrary<S[]>,
  play: (script: readonly S[]) => Promise<ProbeRunResult>,
): Promise<ProbeReport> {
  // The target must answer a handshake for this torrent before anything is judged. A few tries, a
  // second apart: Transmission keeps one connection per IP and refuses a new one while it has not
  // yet seen the last one close (measured: every other quick reconnection refused).
  for (let attempt = 1; ; attempt++) {
    const check = await play([]);
    const refused = check.findings.find(
      (f) => f.rule === 'connection.refused' || f.rule === 'handshake.none',
    );
    if (refused === undefined) break;
    if (refused.rule === 'connection.refused' || attempt === PREFLIGHT_ATTEMPTS)
      throw new ProbeError(
        refused.rule === 'connection.refused' ? 'unreachable' : 'noHandshake',
        refused.detail,
      );
    await sleep(1000);
  }

  const results = new WeakMap<S[], ProbeRunResult>();
  const notes: Record<string, number> = {};
  let connections = 0;
  let failedOnce = false;
  const property = fc.asyncProperty(scripts, async (script) => {
    const r = await play(script);
    connections++;
    results.set(script, r);
    for (const f of r.findings) if (f.level === 'note') notes[f.rule] = (notes[f.rule] ?? 0) + 1;
    options.onRun?.({ ...r, run: connections, shrinking: failedOnce, steps: script.length });
    if (r.violations > 0) failedOnce = true;
    return r.violations === 0;
  });
  const details = await fc.check(property, {
    numRuns: options.path === undefined ? (options.runs ?? 20) : 1,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.path === undefined ? {} : { path: options.path }),
    // A replay plays its one script and stops there, shrunk already.
    endOnFailure: options.shrink === false || options.path !== undefined,
    interruptAfterTimeLimit: options.timeLimitMs ?? 10 * 60_000,
    markInterruptAsFailure: false,
  });
  const report = {
    seed: details.seed,
    runs: details.numRuns,
    connections,
    shrinks: details.numShrinks,
    interrupted: details.interrupted,
    notes,
  };
  if (!details.failed) return report;
  const [script] = details.counterexample ?? [];
  const result = script === undefined ? undefined : results.get(script);
  // A script that failed by throwing is a bug of the probe's, not a finding: let it out.
  if (script === undefined || result === undefined || result.violations === 0) throw details.errorInstance;
  return {
    ...report,
    counterexample: {
      script,
      findings: result.findings.filter((f) => f.level === 'violation'),
      result,
      path: details.counterexamplePath ?? '',
    },
  };
}
