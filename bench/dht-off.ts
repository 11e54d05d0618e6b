/**
 * Benchmarks talk only to 127.0.0.1: a build with the DHT (on by default at the CLI) is run with
 * `--no-dht`. An older build, which has no DHT and would refuse the flag, is run without it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** `['--no-dht']` when the build at `root` (its dist/) has the DHT, else nothing. */
export function dhtOffArgs(root: string): string[] {
  return existsSync(join(root, 'dist', 'src', 'dht', 'routers.js')) ? ['--no-dht'] : [];
}
