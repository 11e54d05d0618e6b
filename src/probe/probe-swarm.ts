/**
 * Several probe connections at once to one target (`bitstate probe --connections N`): N scripts,
 * one a connection, played side by side as N peers of the target's swarm, each connection judged by
 * its own ledger as when alone, and the group by the swarm ledger (swarm-ledger.ts): the same
 * block with other bytes on two connections, a piece the target completed and did not announce to
 * a connection that lacked it, a well-behaved connection closed in the wake of a hostile one.
 *
 *   connection 0 ─ opening, step 0, step 1, …  ─┐
 *   connection 1 ─ opening, step 0, …           ├─ each waits for every other to play its script,
 *   …                                            │  then (serving) up to `haveWaitMs` for the haves
 *   connection N-1 ─ opening, step 0, …         ─┘  it is owed, then listens and closes as alone
 *
 * (Serving, a connection listens `settleMs` before it counts as played, not after its wait, so
 * that the `have` of a piece a script's last blocks completed has come before the others decide
 * what they are owed.)
 *
 * Serving (`--data`), connection k has every piece the probe has but those whose index is k modulo
 * N (all of them when that leaves it none), so each piece is missing from one connection: the one
 * the target must tell with `have` once it has the piece from the others (BEP 3).
 */
import type { WireMessage } from '../wire/messages.js';
import type { Finding } from './conformance-ledger.js';
import type { BlockCopies } from './downloader-ledger.js';
import type { ProbeRunResult } from './probe-connection.js';
import { describeStep } from './probe-step.js';
import type { ProbeWire } from './probe-wire.js';
import { SwarmLedger } from './swarm-ledger.js';

/** How long a connection waits, once every script is played, for the haves it is owed (default). */
export const HAVE_WAIT_MS = 11_000;

/** What one connection of a group tells the group, and how it is held open (probe-connection.ts). */
export interface SwarmHooks {
  /** Which connection of the group this is, 0-based. */
  readonly connection: number;
  /** Serving: the pieces this connection has, announces and serves (the others it lacks). */
  readonly pieces?: readonly number[];
  /** Serving: every connection's served copies of each block, for `have.badData`. */
  readonly copies?: BlockCopies;
  /** A message the target sent on this connection, after step `step`. */
  received(m: WireMessage, step: number): void;
  /** The probe announced these pieces on this connection. */
  announced(indexes: Iterable<number>): void;
  /** After the script: holds the connection open until the group is done with it. */
  linger(wire: ProbeWire): Promise<void>;
}

export interface SwarmOptions {
  /** Serving: the pieces the probe has; each connection lacks its share of them (see above). */
  readonly pieces?: readonly number[];
  /** How long a connection waits for the haves it is owed (default HAVE_WAIT_MS). */
  readonly haveWaitMs?: number;
}

/** One connection's result in a group, with its script's length. */
export interface ConnectionRunResult extends ProbeRunResult {
  readonly connection: number;
  readonly steps: number;
}

/** A group's result: the sums over its connections, each connection's, and the group's own findings. */
export interface SwarmRunResult extends ProbeRunResult {
  readonly perConnection: readonly ConnectionRunResult[];
  /** The swarm ledger's findings (also in `findings`, after every connection's). */
  readonly swarmFindings: readonly Finding[];
}

/** Connection `c`'s share of `pieces` in a group of `n`: all but those that are `c` modulo `n`. */
export function connectionShare(pieces: readonly number[], c: number, n: number): readonly number[] {
  const share = pieces.filter((i) => i % n !== c);
  return share.length === 0 ? pieces : share;
}

export async function runSwarm<S extends { readonly kind: string }>(
  torrent: ConstructorParameters<typeof SwarmLedger>[0],
  scripts: readonly (readonly S[])[],
  play: (script: readonly S[], hooks: SwarmHooks) => Promise<ProbeRunResult>,
  hostile: (s: S) => boolean,
  options: SwarmOptions = {},
): Promise<SwarmRunResult> {
  const n = scripts.length;
  const haveWaitMs = options.haveWaitMs ?? HAVE_WAIT_MS;
  const ledger = new SwarmLedger(torrent, n, haveWaitMs);
  const serving = options.pieces !== undefined;
  const copies: BlockCopies = new Map();
  const lingering = new Set<ProbeWire>();
  const wakeAll = () => {
    for (const w of lingering) w.wake();
  };
  const played = (c: number) => {
    ledger.played(c);
    wakeAll();
  };
  const hooks = (c: number): SwarmHooks => ({
    connection: c,
    ...(options.pieces === undefined ? {} : { pieces: connectionShare(options.pieces, c, n), copies }),
    received: (m, step) => {
      ledger.targetSent(c, m, step, Date.now());
      if (m.type === 'have' || m.type === 'bitfield' || m.type === 'haveAll') wakeAll();
    },
    announced: (indexes) => ledger.probeAnnounced(c, indexes),
    linger: async (wire) => {
      lingering.add(wire);
      try {
        played(c);
        // Bounded by the connection's own deadline, as every wait of its.
        await wire.waitUntil(Number.MAX_SAFE_INTEGER, () => ledger.allPlayed);
        if (!serving || !ledger.allPlayed) return;
        // Until it is owed nothing, or haveWaitMs has passed since the last piece it is owed was
        // first announced (a later announcement moves that on), or the run's deadline. Only the
        // pieces first announced haveWaitMs before it stopped are judged, however it stopped.
        for (;;) {
          const until = ledger.owedUntil(c);
          if (wire.closed || wire.pastDeadline || until === undefined || Date.now() >= until) break;
          await wire.waitUntil(until - Date.now(), () => ledger.owedUntil(c) !== until);
        }
        if (!wire.closed) ledger.lingered(c, Date.now());
      } finally {
        lingering.delete(wire);
      }
    },
  });
  const settled = await Promise.allSettled(
    scripts.map(async (script, c) => {
      try {
        return await play(script, hooks(c));
      } finally {
        played(c);
      }
    }),
  );
  // A play that threw (a bug, the probe's or the caller's) ends the group, but only once every
  // other connection has ended: none is left open past it.
  const results = settled.map((s) => {
    if (s.status === 'rejected') throw s.reason;
    return s.value;
  });
  const perConnection = results.map((r, c): ConnectionRunResult => {
    const script = scripts[c]!;
    const first = script.slice(0, r.stepsPlayed).findIndex(hostile);
    ledger.ended(c, {
      closedByTarget: r.closedBy === 'target',
      refused: r.findings.some((f) => f.rule === 'connection.refused' || f.rule === 'handshake.none'),
      hostile: first < 0 ? undefined : `step ${first}: ${describeStep(script[first]!)}`,
      steps: script.length,
    });
    return {
      ...r,
      findings: r.findings.map((f) => ({ ...f, connection: c })),
      connection: c,
      steps: script.length,
    };
  });
  ledger.end();
  const sum = (f: (r: ProbeRunResult) => number) => perConnection.reduce((t, r) => t + f(r), 0);
  const received: Record<string, number> = {};
  for (const r of perConnection)
    for (const [type, k] of Object.entries(r.received)) received[type] = (received[type] ?? 0) + k;
  const byTarget = perConnection.filter((r) => r.closedBy === 'target').length;
  return {
    role: serving ? 'serve' : 'fetch',
    findings: [...perConnection.flatMap((r) => r.findings), ...ledger.findings],
    violations: sum((r) => r.violations) + ledger.violations,
    stepsPlayed: sum((r) => r.stepsPlayed),
    closedBy: byTarget > 0 ? 'target' : 'probe',
    ...(byTarget > 0 ? { closedAfter: `${byTarget} of ${n} connections closed by the target` } : {}),
    received,
    blocksReceived: sum((r) => r.blocksReceived),
    piecesVerified: sum((r) => r.piecesVerified),
    blocksServed: sum((r) => r.blocksServed),
    blocksCorrupted: sum((r) => r.blocksCorrupted),
    fast: perConnection.every((r) => r.fast),
    elapsedMs: Math.max(...perConnection.map((r) => r.elapsedMs)),
    perConnection,
    swarmFindings: ledger.findings,
  };
}
