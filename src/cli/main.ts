/**
 * `bitstate <command> …` — the CLI entry. Each command lives in src/cli/commands/<name>.ts and
 * exports `run(argv): Promise<number>` (the exit code) and `summary` (one line for --help).
 * Errors reaching here become one line on stderr: exit 2 for bad input (typed errors whose class
 * says so), 1 otherwise; a stack trace is printed only with BITSTATE_DEBUG=1. First of all, a
 * `--proxy` password is taken out of the process's command line (proxy-title.ts).
 */
import { ExitCode } from './exit-code.js';
import { hideProxyPassword } from './proxy-title.js';
import { describeError, isBadInput } from './report-error.js';
import { keepHeapSmall } from './small-heap.js';
import { watchStdout } from './stdout-closed.js';

const commands: Record<string, { load: () => Promise<CommandModule>; summary: string }> = {
  demo: {
    load: () => import('./commands/demo.js'),
    summary: 'download a sample payload from local seeders on 127.0.0.1 (no torrent needed)',
  },
  download: { load: () => import('./commands/download.js'), summary: 'download a torrent' },
  info: { load: () => import('./commands/info.js'), summary: 'show what a .torrent file holds' },
  create: { load: () => import('./commands/create.js'), summary: 'make a .torrent from a file or a folder' },
  seed: { load: () => import('./commands/seed.js'), summary: 'serve a torrent whose data you have' },
  probe: {
    load: () => import('./commands/probe.js'),
    summary: 'play generated conversations against another client and check its answers',
  },
  replay: {
    load: () => import('./commands/replay.js'),
    summary: 'play back a --trace file (printed, or into --ui)',
  },
};

export interface CommandModule {
  run(argv: string[]): Promise<number>;
}

function help(): string {
  const lines = [
    'bitstate — a BitTorrent client whose protocol logic is XState machines',
    '',
    'Usage: bitstate <command> [options]   (bitstate <command> --help for its options)',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`),
    '',
  ];
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<void> {
  hideProxyPassword();
  keepHeapSmall();
  watchStdout();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    process.exitCode = name === undefined ? ExitCode.badInput : ExitCode.ok;
    return;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write('bitstate 0.1.0\n');
    return;
  }
  const command = commands[name];
  if (command === undefined) {
    process.stderr.write(`bitstate: unknown command '${name}' (see bitstate --help)\n`);
    process.exitCode = ExitCode.badInput;
    return;
  }
  try {
    const mod = await command.load();
    process.exitCode = await mod.run(rest);
  } catch (err) {
    process.stderr.write(`bitstate ${name}: ${describeError(err)}\n`);
    if (process.env.BITSTATE_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = isBadInput(err) ? ExitCode.badInput : ExitCode.failed;
  }
}
