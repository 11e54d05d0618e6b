/**
 * Tests talk only to 127.0.0.1, and the CLI turns the DHT on by default with the public routers
 * (src/dht/routers.ts): every spawn of the CLI in test/ and bench/ passes its arguments through
 * `withDhtOff`, which adds `--no-dht` to `download` and `seed` unless the test names its own
 * (loopback) routers with `--dht-bootstrap`. test/unit/cli/dht-guard.test.ts checks that it does.
 */
export function withDhtOff(args: readonly string[]): string[] {
  const command = args[0];
  if (command !== 'download' && command !== 'seed') return [...args];
  if (args.some((a) => a === '--no-dht' || a === '--dht-bootstrap' || a.startsWith('--dht-bootstrap=')))
    return [...args];
  const end = args.indexOf('--');
  return end < 0 ? [...args, '--no-dht'] : [...args.slice(0, end), '--no-dht', ...args.slice(end)];
}
