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
import { isHostile, type ProbeStep } from './probe-step.js';
import { type ConnectionRunResult, runSwarm, type SwarmHooks, type SwarmRunResult } from './probe-swarm.js';
import { runServingScript, type ServingConnectionOptions } from './serving-connection.js';
import { probeServingScript } from './serving-script.js';
import { isHostileServing, type ServingStep } from './serving-step.js';
import { MAX_CONNECTIONS } from './swarm-ledger.js';

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
  /**
   * Connections at once (default 1, at most MAX_CONNECTIONS): each run plays that many scripts side
   * by side against the target, each judged as alone and the group by the swarm ledger
   * (swarm-ledger.ts); a failing group is shrunk and replayed as one.
   */
  readonly connections?: number;
  /** With `connections` and `data`: how long each connection waits for the haves it is owed (11 s). */
  readonly haveWaitMs?: number;
  /** Told after every run (a group with `connections`): the scripts played and each shrink attempt. */
  readonly onRun?: (run: ProbeRunReport) => void;
}

export interface ProbeRunReport extends ProbeRunResult {
  /**
   * 1-based: the n-th run of this probe, shrink attempts included (the handshake check is not
   * counted) — with `connections` 1 the n-th connection, else the n-th group.
   */
  readonly run: number;
  /** After the first failing script: an attempt to shrink it. */
  readonly shrinking: boolean;
  /** Steps in the run's script (its scripts', summed, for a group). */
  readonly steps: number;
  /** With `connections` > 1: each connection's result; the fields above sum them. */
  readonly perConnection?: readonly ConnectionRunResult[];
  /** With `connections` > 1: what the group did across its connections (swarm-ledger.ts). */
  readonly swarmFindings?: readonly Finding[];
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
    /** The script (with `connections` > 1: connection 0's). */
    readonly script: readonly ScriptStep[];
    /** Every connection's script, in order (one when `connections` is 1). */
    readonly scripts: readonly (readonly ScriptStep[])[];
    /** Its violations; with `connections` > 1, each names its `connection`. */
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
  const n = options.connections ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CONNECTIONS)
    throw new ProbeError('badConnections', `connections must be 1 to ${MAX_CONNECTIONS}, not ${n}`);
  const { data } = options;
  if (data === undefined)
    return probeSide(options, probeScript(options), isHostile, undefined, (script, swarm) =>
      runProbeScript(torrent, target, script, { ...options, ...(swarm === undefined ? {} : { swarm }) }),
    );
  const serve = (source: PieceSource) =>
    probeSide(options, probeServingScript(options), isHostileServing, source.pieces, (script, swarm) =>
      runServingScript(source, target, script, { ...options, ...(swarm === undefined ? {} : { swarm }) }),
    );
  if (typeof data !== 'string') return serve(data);
  if (!('infoBytes' in torrent)) throw new TypeError('probePeer: serving needs the whole Torrent');
  const source = await openPieceSource(torrent, data);
  try {
    return await serve(source);
  } finally {
    await source.close();
  }

  /** One script a run, or with `connections` N a group of N scripts played at once (probe-swarm.ts). */
  function probeSide<S extends ScriptStep>(
    o: ProbeOptions,
    scripts: fc.Arbitrary<S[]>,
    hostile: (s: S) => boolean,
    pieces: readonly number[] | undefined,
    play: (script: readonly S[], swarm?: SwarmHooks) => Promise<ProbeRunResult>,
  ): Promise<ProbeReport> {
    const preflight = () => play([]);
    if (n === 1)
      return probeWith(
        o,
        preflight,
        scripts,
        (script) => play(script),
        (script) => [script],
      );
    const groups = fc.tuple(...Array.from({ length: n }, () => scripts));
    const swarmOptions = {
      ...(pieces === undefined ? {} : { pieces }),
      ...(o.haveWaitMs === undefined ? {} : { haveWaitMs: o.haveWaitMs }),
    };
    return probeWith(
      o,
      preflight,
      groups,
      (group) => runSwarm(torrent, group, play, hostile, swarmOptions),
      (group) => group,
    );
  }
}

async function probeWith<T extends object, S extends ScriptStep>(
  options: ProbeOptions,
  preflight: () => Promise<ProbeRunResult>,
  scripts: fc.Arbitrary<T>,
  play: (t: T) => Promise<ProbeRunResult | SwarmRunResult>,
  perConnection: (t: T) => readonly (readonly S[])[],
): Promise<ProbeReport> {
  // The target must answer a handshake for this torrent before anything is judged. A few tries, a
  // second apart: Transmission keeps one connection per IP and refuses a new one while it has not
  // yet seen the last one close (measured: every other quick reconnection refused).
  for (let attempt = 1; ; attempt++) {
    const check = await preflight();
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

  const results = new WeakMap<T, ProbeRunResult | SwarmRunResult>();
  const notes: Record<string, number> = {};
  let connections = 0;
  let played = 0;
  let failedOnce = false;
  const property = fc.asyncProperty(scripts, async (t) => {
    const r = await play(t);
    const group = perConnection(t);
    connections += group.length;
    results.set(t, r);
    for (const f of r.findings) if (f.level === 'note') notes[f.rule] = (notes[f.rule] ?? 0) + 1;
    const steps = group.reduce((k, s) => k + s.length, 0);
    options.onRun?.({ ...r, run: ++played, shrinking: failedOnce, steps });
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
  const [failing] = details.counterexample ?? [];
  const result = failing === undefined ? undefined : results.get(failing);
  // A script that failed by throwing is a bug of the probe's, not a finding: let it out.
  if (failing === undefined || result === undefined || result.violations === 0) throw details.errorInstance;
  const scriptsFound = perConnection(failing);
  return {
    ...report,
    counterexample: {
      script: scriptsFound[0]!,
      scripts: scriptsFound,
      findings: result.findings.filter((f) => f.level === 'violation'),
      result,
      path: details.counterexamplePath ?? '',
    },
  };
}
