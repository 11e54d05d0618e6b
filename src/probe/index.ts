/**
 * `bitstate/probe`: generated BitTorrent conversations against another client, judged by the rules
 * of BEP 3, 6 and 10 (docs/probe.md). A separate entry from `bitstate` so that the library's
 * download path never loads fast-check.
 */
export {
  ConformanceLedger,
  type Finding,
  type FindingLevel,
  type LedgerTorrent,
} from './conformance-ledger.js';
export { type ProbeConnectionOptions, type ProbeRunResult, runProbeScript } from './probe-connection.js';
export { ProbeError, type ProbeErrorCode } from './probe-error.js';
export { type ProbeOptions, type ProbeReport, type ProbeRunReport, probePeer } from './probe-peer.js';
export { hostileStep, type ProbeScriptOptions, probeScript, validStep } from './probe-script.js';
export { describeStep, type HostileStep, isHostile, type ProbeStep, type ValidStep } from './probe-step.js';
