/**
 * One line of a trace (NDJSON, `--trace FILE`) and the unit the dashboard consumes, live or
 * replayed. `t` is milliseconds since the trace started. Actors are named by XState's `sessionId`
 * (unique in the system); `name` is the actor's id (`peer:127.0.0.1:6881#1`), `machine` the id of
 * its machine definition (`peer`), absent for non-machine actors (connection, storage).
 */
import type { Summary } from './summarise-event.js';

export const TRACE_VERSION = 1;

export type TraceRecord =
  | { readonly k: 'start'; readonly t: 0; readonly version: number; readonly at: string }
  | {
      readonly k: 'actor';
      readonly t: number;
      readonly id: string;
      readonly name: string;
      readonly machine?: string;
      readonly parent?: string;
    }
  | {
      readonly k: 'event';
      readonly t: number;
      /** Receiver and sender sessions. */
      readonly to: string;
      readonly from?: string;
      readonly event: { readonly type: string; readonly [key: string]: Summary };
    }
  | {
      readonly k: 'state';
      readonly t: number;
      readonly id: string;
      readonly value: Summary;
      readonly status: string;
      /** The type of the event that led to this snapshot. */
      readonly event: string;
      /** Present when the state or status changed, or at most every CONTEXT_INTERVAL_MS otherwise. */
      readonly context?: Summary;
      readonly output?: Summary;
    }
  | { readonly k: 'end'; readonly t: number };

export function isTraceRecord(x: unknown): x is TraceRecord {
  if (x === null || typeof x !== 'object') return false;
  const r = x as { k?: unknown; t?: unknown };
  return (
    typeof r.t === 'number' &&
    (r.k === 'start' || r.k === 'actor' || r.k === 'event' || r.k === 'state' || r.k === 'end')
  );
}
