/**
 * What `bitstate download --inspect / --ui / --trace` attach to a download: one `inspect`
 * callback (the `inspect` option of download()) fanning out to Stately's inspector, the
 * dashboard and the trace file, which share one recorder and so one summary per event.
 * The dashboard's server (ws) and Stately's inspector (@statelyai/inspect, ws, superjson) are
 * imported only when asked for: loading them costs ~100 ms of start-up (docs/performance.md §6).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { InspectionEvent } from 'xstate';
import { peerMachine } from '../../machines/peer.machine.js';
import { torrentMachine } from '../../machines/torrent.machine.js';
import { trackerMachine } from '../../machines/tracker.machine.js';
import { trackerTiersMachine } from '../../machines/tracker-tiers.machine.js';
import { DashboardModel } from './dashboard-model.js';
import { createRecorder, type Recorder } from './recorder.js';
import type { StatelyInspection } from './stately-inspector.js';
import type { TraceRecord } from './trace-record.js';
import type { DashboardServer } from './ui-server.js';

/** The machines the dashboard can draw. */
export const DASHBOARD_MACHINES = [torrentMachine, peerMachine, trackerMachine, trackerTiersMachine] as const;

export interface InspectionOptions {
  readonly stately?: boolean;
  readonly statelyPort?: number;
  readonly ui?: boolean;
  readonly uiPort?: number;
  readonly trace?: string;
  readonly title?: string;
}

export interface InspectionSession {
  readonly inspect: ((event: InspectionEvent) => void) | undefined;
  /** Lines to show the user (the URLs to open, the trace file). */
  readonly notes: readonly string[];
  /** Ends the trace and sends the dashboard its last view; servers stay up. */
  finish(): Promise<void>;
  close(): Promise<void>;
}

export async function startInspection(o: InspectionOptions): Promise<InspectionSession> {
  const sinks: ((r: TraceRecord) => void)[] = [];
  const notes: string[] = [];
  let stately: StatelyInspection | undefined;
  let dashboard: DashboardServer | undefined;
  let trace: WriteStream | undefined;
  try {
    if (o.trace !== undefined) {
      const file = createWriteStream(o.trace);
      trace = file;
      await new Promise<void>((resolve, reject) => {
        file.once('open', () => resolve());
        file.once('error', reject);
      });
      sinks.push((r) => file.write(`${JSON.stringify(r)}\n`));
      notes.push(`trace: writing ${o.trace}`);
    }
    if (o.ui === true) {
      const model = new DashboardModel();
      const { startDashboard } = await import('./ui-server.js');
      dashboard = await startDashboard(model, {
        machines: [...DASHBOARD_MACHINES],
        title: o.title ?? 'bitstate',
        ...(o.uiPort === undefined ? {} : { port: o.uiPort }),
      });
      sinks.push((r) => model.apply(r));
      notes.push(`dashboard: open ${dashboard.url}`);
    }
    if (o.stately === true) {
      const { startStatelyInspection } = await import('./stately-inspector.js');
      stately = await startStatelyInspection(o.statelyPort);
      notes.push(`Stately inspector: open ${stately.url} (the inspector UI itself is online)`);
      if (stately.note !== undefined) notes.push(`Stately inspector: ${stately.note}`);
    }
  } catch (err) {
    trace?.destroy();
    await dashboard?.close();
    throw err;
  }
  let recorder: Recorder | undefined;
  if (sinks.length > 0) {
    const [only] = sinks;
    recorder = createRecorder(
      sinks.length === 1 && only !== undefined
        ? only
        : (r) => {
            for (const s of sinks) s(r);
          },
    );
  }
  const s = stately;
  const rec = recorder;
  let failed = false;
  const inspect =
    rec === undefined && s === undefined
      ? undefined
      : (ev: InspectionEvent) => {
          // Watching must never break the download: a failure here is reported once and ignored.
          try {
            rec?.inspect(ev);
            s?.inspect(ev);
          } catch (err) {
            if (!failed)
              process.stderr.write(`inspection: ${(err as Error).message} (further errors ignored)\n`);
            failed = true;
          }
        };
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    rec?.end();
    dashboard?.flush();
    const t = trace;
    if (t !== undefined) await new Promise<void>((resolve) => t.end(() => resolve()));
  };
  return {
    inspect,
    notes,
    finish,
    close: async () => {
      await finish();
      await dashboard?.close();
      await stately?.close();
    },
  };
}
