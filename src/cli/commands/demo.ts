/**
 * `bitstate demo` — the README's first command. First version: seeding lands in issue #5 (in
 * progress); until then the demo says so and exits 1.
 */
import { ExitCode } from '../exit-code.js';

export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('bitstate demo: not ready yet (it needs `bitstate seed`, issue #5)\n');
  return ExitCode.failed;
}
