/**
 * `bitstate replay <FILE> [--ui [--ui-port N]] [--speed X] [--step]` — plays a `--trace` file back:
 * each state change printed, and with --ui into the same dashboard as a live download (no network).
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { DashboardModel, stateLabel } from '../../inspect/dashboard-model.js';
import { DASHBOARD_MACHINES } from '../../inspect/inspection-session.js';
import { ReplayPlayer } from '../../inspect/replay-player.js';
import type { Summary } from '../../inspect/summarise-event.js';
import { readTrace } from '../../inspect/trace-reader.js';
import { type DashboardServer, startDashboard } from '../../inspect/ui-server.js';
import { ExitCode } from '../exit-code.js';
import { parseCount } from '../parse-number.js';
import { printable } from '../printable.js';
import { UsageError } from '../usage-error.js';

export const usage = `Usage: bitstate replay <FILE> [options]

Plays back a trace written by \`bitstate download --trace FILE\`: every machine's state changes in
order, at the speed they happened (or faster), printed and optionally shown in the dashboard.

Options:
      --speed X      play X times faster than recorded (default 1; 'max' = no waiting)
      --step         one state change per Enter (or per "step" click in the dashboard)
      --ui           serve the dashboard on 127.0.0.1 and play into it
      --ui-port N    the dashboard's port (default 7881; 0 = any)
  -q, --quiet        do not print state changes, only the summary
  -h, --help         this text`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      speed: { type: 'string' },
      step: { type: 'boolean' },
      ui: { type: 'boolean' },
      'ui-port': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) throw new UsageError('expected one trace file (see bitstate replay --help)');
  const speed = parseSpeed(values.speed ?? '1');
  const uiPort =
    values['ui-port'] === undefined ? undefined : parseCount('--ui-port', values['ui-port'], 0, 65535);
  const withUi = values.ui === true || uiPort !== undefined;
  const model = new DashboardModel();
  // Names, states and event types come from the trace file: printed through `printable`.
  const print = (line: string) => {
    if (values.quiet !== true) process.stdout.write(`${printable(line)}\n`);
  };
  const player = new ReplayPlayer(model, { speed, paused: values.step === true }, (c) =>
    print(
      `${(c.t / 1000).toFixed(3).padStart(9)}s  ${c.machine === 'torrent' ? 'torrent' : c.name}  ${stateLabel(c.from as Summary) || '(start)'} → ${stateLabel(c.to as Summary)}  (${c.event})`,
    ),
  );
  let dashboard: DashboardServer | undefined;
  let stdin: ReturnType<typeof createInterface> | undefined;
  try {
    if (withUi) {
      dashboard = await startDashboard(model, {
        machines: [...DASHBOARD_MACHINES],
        title: `bitstate replay — ${positionals[0]}`,
        ...(uiPort === undefined ? {} : { port: uiPort }),
        onControl: (c) => {
          if (c.action === 'play') player.play();
          else if (c.action === 'pause') player.pause();
          else if (c.action === 'step') player.step();
          else if (c.action === 'speed') player.setSpeed(c.speed);
        },
      });
      process.stderr.write(`dashboard: open ${dashboard.url}\n`);
    }
    if (values.step === true && process.stdin.isTTY === true) {
      process.stderr.write('step mode: Enter plays the next state change\n');
      stdin = createInterface({ input: process.stdin });
      stdin.on('line', () => player.step());
    }
    await player.run(readTrace(positionals[0]!));
    stdin?.close();
    process.stdout.write(`${printable(summary(model))}\n`);
    if (dashboard !== undefined) {
      dashboard.flush();
      if (process.stdin.isTTY === true) {
        process.stderr.write('replay finished; the dashboard stays up until Ctrl-C\n');
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      } else await new Promise((r) => setTimeout(r, 1000));
    }
    return ExitCode.ok;
  } finally {
    stdin?.close();
    await dashboard?.close();
  }
}

function parseSpeed(s: string): number {
  if (s === 'max') return Number.POSITIVE_INFINITY;
  const n = Number(s);
  if (!/^\d+(\.\d+)?$/.test(s) || !(n > 0))
    throw new UsageError(`--speed takes a positive number or 'max', not '${s}'`);
  return n;
}

function summary(model: DashboardModel): string {
  const v = model.view() as { progress: { verified: number; pieceCount: number }; peers: unknown[] };
  const tor = model.torrent();
  const peers = [...model.actors.values()].filter((a) => a.machine === 'peer').length;
  return `trace of ${(model.t / 1000).toFixed(1)} s: torrent ${tor === undefined ? '(none)' : `${stateLabel(tor.value)} (${tor.status})`}; ${v.progress.verified}/${v.progress.pieceCount} pieces verified; ${peers} peer connections`;
}
