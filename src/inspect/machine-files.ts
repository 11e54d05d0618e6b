/**
 * Finds the machine files (machines/*.machine.ts) and loads the machines they export, so the
 * visualizations and the checks cover every machine, including ones added later. Loading `.ts`
 * needs tsx (npm run visualize, the tests).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyStateMachine } from 'xstate';

export const MACHINE_FILE_SUFFIX = '.machine.ts';

export interface MachineFile {
  /** Path relative to the repository, e.g. `machines/peer.machine.ts`. */
  readonly file: string;
  readonly machines: readonly AnyStateMachine[];
}

export function findMachineFiles(repoRoot: string): string[] {
  return readdirSync(join(repoRoot, 'machines'))
    .filter((n) => n.endsWith(MACHINE_FILE_SUFFIX))
    .sort()
    .map((n) => `machines/${n}`);
}

export async function loadMachineFiles(repoRoot: string): Promise<MachineFile[]> {
  const out: MachineFile[] = [];
  for (const file of findMachineFiles(repoRoot)) {
    const mod = (await import(pathToFileURL(join(repoRoot, file)).href)) as Record<string, unknown>;
    out.push({ file, machines: Object.values(mod).filter(isStateMachine) });
  }
  return out;
}

export function isStateMachine(x: unknown): x is AnyStateMachine {
  return (
    typeof x === 'object' &&
    x !== null &&
    'root' in x &&
    'config' in x &&
    typeof (x as { provide?: unknown }).provide === 'function'
  );
}
