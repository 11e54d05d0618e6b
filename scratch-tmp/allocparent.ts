import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2]!, 'utf8'));
const by = new Map<string, number>();
const name = (n: any) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*\/(src|machines|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
const walk = (n: any, parent: string) => {
  const me = name(n);
  const native = n.callFrame.url === '' ;
  const k = native ? `${me} <- ${parent}` : me;
  by.set(k, (by.get(k) ?? 0) + n.selfSize);
  for (const c of n.children) walk(c, native ? parent : me);
};
walk(p.head, '');
for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 45)) console.log((v / 1e6).toFixed(2).padStart(7), k);
