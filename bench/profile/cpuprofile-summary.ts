/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`) by self time per function and by
 * file (issue #8 profiling): the top N functions with their share of all samples.
 *
 *   node --import tsx bench/profile/cpuprofile-summary.ts PROFILE.cpuprofile [--top 40]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' } },
});
const file = positionals[0];
if (file === undefined) throw new Error('usage: cpuprofile-summary.ts PROFILE.cpuprofile [--top N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const hits = new Map<number, number>();
for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
const total = profile.samples.length;
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, n] of hits) {
  const node = byId.get(id);
  if (node === undefined) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const short = url.replace(/^.*\/(node_modules|dist|h13-dist)\//, '').replace(/^file:\/\//, '');
  const fn = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + n);
  const f = short.includes('xstate') ? 'xstate' : short || functionName;
  byFile.set(f, (byFile.get(f) ?? 0) + n);
}
const pct = (n: number) => `${((100 * n) / total).toFixed(1).padStart(5)} %`;
const top = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k);
process.stdout.write(`${total} samples\n\nby function (self)\n`);
for (const [name, n] of top(byFunction, Number(values.top))) process.stdout.write(`${pct(n)}  ${name}\n`);
process.stdout.write('\nby file (self)\n');
for (const [name, n] of top(byFile, 25)) process.stdout.write(`${pct(n)}  ${name}\n`);
