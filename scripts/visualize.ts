/**
 * `npm run visualize` writes visualizations/ from the machine definitions;
 * `npm run visualize:check` exits 1 when visualizations/ is stale (what CI's test checks too).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMachineFiles } from '../src/inspect/machine-files.js';
import { renderVisualizations, VISUALIZATIONS_DIR } from '../src/inspect/visualizations.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, VISUALIZATIONS_DIR);
const files = renderVisualizations(await loadMachineFiles(root));
const check = process.argv.includes('--check');
mkdirSync(dir, { recursive: true });
const existing = readdirSync(dir);
const stale: string[] = [];
for (const [name, content] of files) {
  let old: string | undefined;
  try {
    old = readFileSync(join(dir, name), 'utf8');
  } catch {}
  if (old === content) continue;
  stale.push(name);
  if (!check) writeFileSync(join(dir, name), content);
}
for (const name of existing)
  if (!files.has(name)) {
    stale.push(name);
    if (!check) rmSync(join(dir, name));
  }
if (check && stale.length > 0) {
  process.stderr.write(`visualizations/ is stale (${stale.join(', ')}): run npm run visualize\n`);
  process.exit(1);
}
process.stdout.write(
  check
    ? 'visualizations/ is current\n'
    : `visualizations/: ${stale.length === 0 ? 'already current' : `wrote ${stale.join(', ')}`}\n`,
);
