/**
 * A MachineGraph as Markdown: a Mermaid `stateDiagram-v2` (renders on GitHub and most code hosts)
 * and a table of every state with the transitions that leave it. Transitions declared on the
 * machine's root (taken from any state) and those with no target are in the table only.
 */
import type { GraphState, MachineGraph } from './machine-graph.js';

export function statechartMarkdown(graph: MachineGraph, header: string): string {
  const byId = new Map(graph.states.map((s) => [s.id, s]));
  const mid = (id: string) =>
    id === graph.id ? '[*]' : id.slice(graph.id.length + 1).replace(/[^A-Za-z0-9]/g, '_');
  const lines: string[] = ['stateDiagram-v2', '  direction LR'];
  const emit = (s: GraphState, indent: string) => {
    for (const [i, id] of s.children.entries()) {
      const c = byId.get(id)!;
      if (s.type === 'parallel' && i > 0) lines.push(`${indent}--`);
      lines.push(`${indent}state "${c.key}" as ${mid(c.id)}`);
      if (c.children.length > 0) {
        lines.push(`${indent}state ${mid(c.id)} {`);
        emit(c, `${indent}  `);
        lines.push(`${indent}}`);
      }
      if (c.type === 'final') lines.push(`${indent}${mid(c.id)} --> [*]`);
    }
    if (s.initial !== undefined) lines.push(`${indent}[*] --> ${mid(s.initial)}`);
  };
  emit(byId.get(graph.id)!, '  ');
  for (const t of graph.transitions) {
    if (t.source === graph.id) continue;
    for (const target of t.targets) {
      const label = (t.guard === undefined ? t.event : `${t.event} [${t.guard}]`).replace(/[;#:]/g, ' ');
      lines.push(`  ${mid(t.source)} --> ${mid(target)} : ${label}`);
    }
  }
  const rows = graph.states.map((s) => {
    const own = graph.transitions.filter((t) => t.source === s.id);
    const leaves = own.map((t) => {
      const target =
        t.targets.length === 0
          ? '(stays)'
          : t.targets.map((x) => `→ ${x === s.id ? `${s.key} (re-entered)` : shortId(graph, x)}`).join(', ');
      const guard = t.guard === undefined ? '' : ` [${t.guard}]`;
      const actions = t.actions.length === 0 ? '' : ` / ${t.actions.join(', ')}`;
      return `\`${t.event}\`${guard} ${target}${actions}`;
    });
    const notes = [
      ...(s.entry.length > 0 ? [`entry: ${s.entry.join(', ')}`] : []),
      ...(s.invoke.length > 0 ? [`invokes: ${s.invoke.join(', ')}`] : []),
    ];
    return `| \`${shortId(graph, s.id)}\` | ${s.type}${s.parent !== undefined && byId.get(s.parent)?.initial === s.id ? ', initial' : ''} | ${notes.join('; ')} | ${leaves.join('<br>') || '—'} |`;
  });
  return [
    header,
    '',
    `# The \`${graph.id}\` machine`,
    '',
    '```mermaid',
    ...lines,
    '```',
    '',
    `## States and the transitions that leave them`,
    '',
    `A transition on a state applies in every state inside it; those on \`${graph.id}\` apply everywhere.`,
    '',
    '| state | type | entry / invokes | transitions (event [guard] → target / actions) |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

function shortId(graph: MachineGraph, id: string): string {
  return id === graph.id ? graph.id : id.slice(graph.id.length + 1);
}
