/**
 * `bitstate/probe`: generated BitTorrent conversations against another client, judged by the rules
 * of BEP 3, 6 and 10 (docs/probe.md) — fetching from a target that seeds, or serving one that
 * downloads (`data`), one connection at a time or several at once (`connections`). A separate
 * entry from `bitstate` so that the library's download path never loads fast-check.
 */
export {
  ConformanceLedger,
  type Finding,
  type FindingLevel,
  type LedgerTorrent,
} from './conformance-ledger.js';
export {
  type BlockCopies,
  type BlockCopy,
  DownloaderLedger,
  type PendingRequest,
} from './downloader-ledger.js';
export { openPieceSource, type PieceSource } from './piece-source.js';
export { type ProbeConnectionOptions, type ProbeRunResult, runProbeScript } from './probe-connection.js';
export { ProbeError, type ProbeErrorCode } from './probe-error.js';
export {
  type ProbeOptions,
  type ProbeReport,
  type ProbeRunReport,
  probePeer,
  type ScriptStep,
} from './probe-peer.js';
export { hostileStep, type ProbeScriptOptions, probeScript, validStep } from './probe-script.js';
export { describeStep, type HostileStep, isHostile, type ProbeStep, type ValidStep } from './probe-step.js';
export {
  type ConnectionRunResult,
  connectionShare,
  HAVE_WAIT_MS,
  runSwarm,
  type SwarmHooks,
  type SwarmOptions,
  type SwarmRunResult,
} from './probe-swarm.js';
export { runServingScript, type ServingConnectionOptions } from './serving-connection.js';
export { probeServingScript, servingHostileStep, servingValidStep } from './serving-script.js';
export {
  isHostileServing,
  type ServingHostileStep,
  type ServingStep,
  type ServingValidStep,
} from './serving-step.js';
export { type ConnectionEnd, MAX_COMPARED_BLOCKS, MAX_CONNECTIONS, SwarmLedger } from './swarm-ledger.js';
