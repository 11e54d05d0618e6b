/**
 * Tests talk only to 127.0.0.1, and the CLI turns the DHT on by default with the public routers
 * (src/dht/routers.ts) and Local Service Discovery (BEP 14) on by default on every interface but
 * loopback: every spawn of the CLI in test/ and bench/ passes its arguments through `withDhtOff`,
 * which adds `--no-dht` to `download` and `seed` unless the test names its own (loopback) routers
 * with `--dht-bootstrap`, and `--no-lsd` unless the test names the interfaces LSD may use with
 * `--lsd-interface` (127.0.0.1). test/unit/cli/dht-guard.test.ts checks that it does.
 */
function names(args: readonly string[], flag: string): boolean {
  return args.some((a) => a === flag || a.startsWith(`${flag}=`));
}

export function withDhtOff(args: readonly string[]): string[] {
  const command = args[0];
  if (command !== 'download' && command !== 'seed') return [...args];
  const added = [
    ...(names(args, '--no-dht') || names(args, '--dht-bootstrap') ? [] : ['--no-dht']),
    ...(names(args, '--no-lsd') || names(args, '--lsd-interface') ? [] : ['--no-lsd']),
  ];
  const end = args.indexOf('--');
  return end < 0 ? [...args, ...added] : [...args.slice(0, end), ...added, ...args.slice(end)];
}
