/**
 * Benchmarks talk only to 127.0.0.1: a build with the DHT (on by default at the CLI) is run with
 * `--no-dht`, and one with Local Service Discovery (BEP 14, on by default too) with `--no-lsd`. An
 * older build, which has neither and would refuse the flag, is run without it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** `['--no-dht', '--no-lsd']`, each when the build at `root` (its dist/) has it. */
export function dhtOffArgs(root: string): string[] {
  return [
    ...(existsSync(join(root, 'dist', 'src', 'dht', 'routers.js')) ? ['--no-dht'] : []),
    ...(existsSync(join(root, 'dist', 'src', 'lsd', 'lsd.js')) ? ['--no-lsd'] : []),
  ];
}
