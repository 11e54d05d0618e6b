/**
 * Turns XState inspection events (the `inspect` option of `download()`) into TraceRecords,
 * summarised once (summarise-event.ts) for every consumer: the trace file and the dashboard.
 * Snapshots carry the state on every change; their context (a summary, with `toJSON()`s) only
 * when the state changed or at most every CONTEXT_INTERVAL_MS per actor, so a block that moves
 * no state costs one small event record, not a context serialisation.
 */
import type { InspectionEvent } from 'xstate';
import { summarise, summariseEvent } from './summarise-event.js';
import { TRACE_VERSION, type TraceRecord } from './trace-record.js';

export const CONTEXT_INTERVAL_MS = 250;

interface RefLike {
  sessionId: string;
  id: string;
  logic?: { id?: unknown; root?: unknown };
  _parent?: { sessionId: string };
}

export interface Recorder {
  readonly inspect: (event: InspectionEvent) => void;
  /** Writes the `end` record. */
  end(): void;
}

export function createRecorder(
  sink: (record: TraceRecord) => void,
  now: () => number = () => performance.now(),
): Recorder {
  const t0 = now();
  const t = () => Math.round((now() - t0) * 10) / 10;
  const last = new Map<string, { value: string; valueRef: unknown; status: string; contextAt: number }>();
  sink({ k: 'start', t: 0, version: TRACE_VERSION, at: new Date().toISOString() });
  const inspect = (ev: InspectionEvent) => {
    const ref = ev.actorRef as unknown as RefLike;
    switch (ev.type) {
      case '@xstate.actor': {
        const machine = ref.logic?.root === undefined ? undefined : String(ref.logic.id);
        sink({
          k: 'actor',
          t: t(),
          id: ref.sessionId,
          name: ref.id,
          ...(machine === undefined ? {} : { machine }),
          ...(ref._parent === undefined ? {} : { parent: ref._parent.sessionId }),
        });
        return;
      }
      case '@xstate.event': {
        const from = (ev.sourceRef as unknown as RefLike | undefined)?.sessionId;
        sink({
          k: 'event',
          t: t(),
          to: ref.sessionId,
          ...(from === undefined ? {} : { from }),
          event: summariseEvent(ev.event),
        });
        return;
      }
      case '@xstate.snapshot': {
        const snap = ev.snapshot as { value?: unknown; status: string; context?: unknown; output?: unknown };
        if (!('value' in snap)) return; // not a machine (callback / promise actors)
        const time = t();
        const prev = last.get(ref.sessionId);
        // XState keeps the value object when the state did not change: most events cost no stringify.
        const sameRef = prev !== undefined && prev.valueRef === snap.value && prev.status === snap.status;
        if (sameRef && time - prev.contextAt < CONTEXT_INTERVAL_MS) return;
        const value = summarise(snap.value);
        const key = sameRef ? prev.value : JSON.stringify(value);
        const changed = prev === undefined || prev.value !== key || prev.status !== snap.status;
        const contextDue = changed || time - prev.contextAt >= CONTEXT_INTERVAL_MS;
        if (!changed && !contextDue) {
          prev.valueRef = snap.value;
          return;
        }
        last.set(ref.sessionId, {
          value: key,
          valueRef: snap.value,
          status: snap.status,
          contextAt: contextDue ? time : (prev?.contextAt ?? time),
        });
        sink({
          k: 'state',
          t: time,
          id: ref.sessionId,
          value,
          status: snap.status,
          event: ev.event.type,
          ...(contextDue ? { context: summarise(snap.context) } : {}),
          ...(snap.status === 'done' ? { output: summarise(snap.output) } : {}),
        });
        if (snap.status !== 'active') last.delete(ref.sessionId);
        return;
      }
      default:
        return;
    }
  };
  return { inspect, end: () => sink({ k: 'end', t: t() }) };
}
