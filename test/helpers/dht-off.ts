/**
 * Tests talk only to 127.0.0.1, and the CLI turns the DHT on by default with the public routers
 * (src/dht/routers.ts) and Local Service Discovery (BEP 14) on by default on every interface but
 * loopback: every spawn of the CLI in test/ and bench/ passes its arguments through `withDhtOff`,
 * which adds `--no-dht` to `download` and `seed` unless the test names its own (loopback) routers
 * with `--dht-bootstrap`, and `--no-lsd` unless the test names the interfaces LSD may use with
 * `--lsd-interface` (127.0.0.1; any other address is refused with an Error).
 * test/unit/cli/dht-guard.test.ts checks that it does.
 */
import { ipv4Number } from '../../src/lsd/lsd-interfaces.js';

function names(args: readonly string[], flag: string): boolean {
  return args.some((a) => a === flag || a.startsWith(`${flag}=`));
}

/** The values given to `flag`, as `flag VALUE` or `flag=VALUE`. */
function valuesOf(args: readonly string[], flag: string): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    if (a === flag && i + 1 < args.length) out.push(args[i + 1]!);
    else if (a.startsWith(`${flag}=`)) out.push(a.slice(flag.length + 1));
  });
  return out;
}

export function withDhtOff(args: readonly string[]): string[] {
  const command = args[0];
  if (command !== 'download' && command !== 'seed') return [...args];
  const end = args.indexOf('--');
  // A test may name the interfaces LSD runs on, loopback's only: another address is refused here,
  // whatever the test (what is no address at all the CLI refuses, exit 2, before any socket).
  for (const i of valuesOf(end < 0 ? args : args.slice(0, end), '--lsd-interface'))
    if (ipv4Number(i) !== undefined && !i.startsWith('127.'))
      throw new Error(`tests run LSD on 127.0.0.1 only, not on ${i}`);
  const added = [
    ...(names(args, '--no-dht') || names(args, '--dht-bootstrap') ? [] : ['--no-dht']),
    ...(names(args, '--no-lsd') || names(args, '--lsd-interface') ? [] : ['--no-lsd']),
  ];
  return end < 0 ? [...args, ...added] : [...args.slice(0, end), ...added, ...args.slice(end)];
}
