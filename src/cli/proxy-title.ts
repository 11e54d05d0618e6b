/**
 * `--proxy`'s password out of the process's command line (docs/proxy.md): /proc/PID/cmdline, and so
 * `ps`, shows every user of the machine each process's arguments. curl blanks the credentials in
 * its argv for this; Node can too, through `process.title`, which on Linux overwrites the argv area
 * (no longer than it was: the end of a title that does not fit is cut). The title becomes the
 * command line with the password as `***`, as the errors print it (proxy.ts, withoutPassword), the
 * process's name (`comm`) kept. The password is still there from the process's start until main() runs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { withoutPassword } from '../net/proxy.js';

/** `args` with every `--proxy` URL's password as `***`; undefined when there is none to hide. */
export function hiddenProxyPassword(args: readonly string[]): string[] | undefined {
  let hidden = false;
  const out = args.map((a, i) => {
    const value = a.startsWith('--proxy=') || args[i - 1] === '--proxy';
    const masked = value ? withoutPassword(a) : a;
    if (masked !== a) hidden = true;
    return masked;
  });
  return hidden ? out : undefined;
}

/** The command line as the kernel keeps it (Linux), else as Node tells it. */
function commandLine(): string[] {
  try {
    const raw = readFileSync('/proc/self/cmdline', 'utf8');
    return raw.split('\0').slice(0, raw.endsWith('\0') ? -1 : undefined);
  } catch {
    return [process.argv0, ...process.execArgv, ...process.argv.slice(1)];
  }
}

/** The kernel's name of the process (Linux: /proc/self/comm, `ps -C`, pidof, killall, top), or undefined. */
function processName(): string | undefined {
  try {
    return readFileSync('/proc/self/comm', 'utf8').replace(/\n$/, '');
  } catch {
    return undefined;
  }
}

/**
 * The process's title without --proxy's password, when its command line carries one. Node's
 * title setter also renames the main thread (libuv: prctl PR_SET_NAME) to the title's first 15
 * bytes ("/usr/bin/node -"): the name it had is given back, so `ps -C node` and the like still
 * find it.
 */
export function hideProxyPassword(): void {
  const hidden = hiddenProxyPassword(commandLine());
  if (hidden === undefined) return;
  const name = processName();
  process.title = hidden.join(' ');
  if (name === undefined) return;
  try {
    writeFileSync('/proc/self/comm', name);
  } catch {
    // Not Linux, or /proc read-only: the thread keeps the title's name.
  }
}
