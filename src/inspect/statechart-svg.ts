/**
 * Draws a MachineGraph as SVG with a small layout of our own (no ELK, no network): each compound
 * state lays its children out in columns by distance from its initial state, parallel regions are
 * stacked, transitions between siblings are curves labelled with their events and guards, and
 * transitions with no target (actions only) or that jump across levels (`event → closed`) are
 * listed inside their source state. Every state is a
 * `<g class="state" data-state="<id>">` so the dashboard can highlight the active ones.
 */
import type { GraphState, GraphTransition, MachineGraph } from './machine-graph.js';

const CHAR = 6.6; // width of one 11px monospace character
const LINE = 14;
const PAD = 12;
const HEADER = 22;
const GAP_Y = 18;
const MIN_GAP_X = 48;
const MAX_LABEL = 34; // characters per label line

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function statechartSvg(graph: MachineGraph): string {
  const byId = new Map(graph.states.map((s) => [s.id, s]));
  const inner = new Map<string, string[]>(); // targetless transitions, listed in the box
  const edges = new Map<string, { source: string; target: string; labels: string[] }>();
  for (const t of graph.transitions) {
    const label = labelOf(t);
    if (t.targets.length === 0) {
      const list = inner.get(t.source) ?? [];
      if (!list.includes(label)) list.push(label);
      inner.set(t.source, list);
      continue;
    }
    for (const target of t.targets) {
      // Arrows between siblings (and loops); a jump across levels is a note in its source: `event → key`.
      if (target !== t.source && byId.get(target)?.parent !== byId.get(t.source)?.parent) {
        const list = inner.get(t.source) ?? [];
        const note = `${label} → ${byId.get(target)?.key ?? target}`;
        if (!list.includes(note)) list.push(note);
        inner.set(t.source, list);
        continue;
      }
      const k = `${t.source}→${target}`;
      const e = edges.get(k) ?? { source: t.source, target, labels: [] };
      if (!e.labels.includes(label)) e.labels.push(label);
      edges.set(k, e);
    }
  }
  const size = new Map<string, { w: number; h: number }>();
  const rel = new Map<string, { x: number; y: number }>(); // position inside the parent's content
  const measure = (s: GraphState): { w: number; h: number } => {
    const notes = notesOf(s, inner.get(s.id) ?? []);
    const textW = Math.max(s.key.length * CHAR + 24, ...notes.map((n) => n.length * CHAR * 0.9 + 2 * PAD));
    const notesH = notes.length * (LINE - 2);
    if (s.children.length === 0) {
      const r = { w: Math.max(90, textW), h: HEADER + notesH + 10 };
      size.set(s.id, r);
      return r;
    }
    const kids = s.children.map((id) => byId.get(id)!);
    for (const k of kids) measure(k);
    let w = 0;
    let h = 0;
    if (s.type === 'parallel') {
      for (const k of kids) {
        const ks = size.get(k.id)!;
        rel.set(k.id, { x: 0, y: h });
        h += ks.h + GAP_Y;
        w = Math.max(w, ks.w);
      }
      h -= GAP_Y;
      for (const k of kids) size.get(k.id)!.w = w; // regions share one width
    } else {
      const columns = rankColumns(s, kids, graph.transitions, byId);
      let x = 0;
      columns.forEach((col, i) => {
        let y = 0;
        let colW = 0;
        for (const k of col) {
          const ks = size.get(k.id)!;
          rel.set(k.id, { x, y });
          y += ks.h + GAP_Y;
          colW = Math.max(colW, ks.w);
        }
        h = Math.max(h, y - GAP_Y);
        const next = columns[i + 1];
        x += colW + (next === undefined ? 0 : gapAfter(col, edges));
      });
      w = x;
    }
    const r = {
      w: Math.max(textW, w + 2 * PAD),
      h: HEADER + notesH + h + 2 * PAD,
    };
    size.set(s.id, r);
    return r;
  };
  const root = byId.get(graph.id)!;
  const total = measure(root);
  const abs = new Map<string, Box>();
  const place = (s: GraphState, x: number, y: number) => {
    const sz = size.get(s.id)!;
    abs.set(s.id, { x, y, w: sz.w, h: sz.h });
    const notesH = notesOf(s, inner.get(s.id) ?? []).length * (LINE - 2);
    for (const id of s.children) {
      const r = rel.get(id)!;
      place(byId.get(id)!, x + PAD + r.x, y + HEADER + notesH + PAD + r.y);
    }
  };
  place(root, 20, 20);

  const out: string[] = [];
  const W = Math.ceil(total.w + 40);
  const H = Math.ceil(total.h + 60);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" class="statechart" data-machine="${esc(graph.id)}">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    '<style>.state rect{fill:#fff;stroke:#888;stroke-width:1.2}.state.region>rect{fill:#fafafa;stroke-dasharray:4 3}.state.final>rect{stroke-width:3;stroke-opacity:.6}.state text{font:12px monospace;fill:#222}.state text.note{font:10px monospace;fill:#666}.state.active>rect{stroke:#0a66c2;stroke-width:2.2}.state.active.atomic>rect,.state.active.final>rect{fill:#cfe6ff;stroke-width:3}.edge path{fill:none;stroke:#555;stroke-width:1.2}.edge text{font:10px monospace;fill:#333}.edge rect{fill:#fff;fill-opacity:.85}.edge.fired path{stroke:#d9480f;stroke-width:2.5}</style>',
  );
  const draw = (s: GraphState) => {
    const b = abs.get(s.id)!;
    const parent = s.parent === undefined ? undefined : byId.get(s.parent);
    const cls = ['state', s.type];
    if (parent?.type === 'parallel') cls.push('region');
    out.push(`<g class="${cls.join(' ')}" data-state="${esc(s.id)}">`);
    out.push(
      `<rect x="${r1(b.x)}" y="${r1(b.y)}" width="${r1(b.w)}" height="${r1(b.h)}" rx="8"/>`,
      `<text x="${r1(b.x + 10)}" y="${r1(b.y + 16)}">${esc(s.key)}${s.type === 'parallel' ? ' ∥' : ''}</text>`,
    );
    notesOf(s, inner.get(s.id) ?? []).forEach((n, i) => {
      out.push(
        `<text class="note" x="${r1(b.x + 10)}" y="${r1(b.y + HEADER + 8 + i * (LINE - 2))}">${esc(n)}</text>`,
      );
    });
    if (parent !== undefined && parent.initial === s.id)
      out.push(
        `<circle cx="${r1(b.x - 9)}" cy="${r1(b.y + 12)}" r="4" fill="#222"/><path d="M${r1(b.x - 5)},${r1(b.y + 12)} L${r1(b.x - 1)},${r1(b.y + 12)}" stroke="#222" marker-end="url(#arrow)"/>`,
      );
    out.push('</g>');
    for (const id of s.children) draw(byId.get(id)!);
  };
  draw(root);
  for (const e of edges.values()) {
    const a = abs.get(e.source);
    const b = abs.get(e.target);
    if (a === undefined || b === undefined) continue;
    out.push(edgeSvg(e, a, b));
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function labelOf(t: GraphTransition): string {
  const l = t.guard === undefined ? t.event : `${t.event} [${t.guard}]`;
  return l.length > MAX_LABEL + 12 ? `${l.slice(0, MAX_LABEL + 11)}…` : l;
}

function notesOf(s: GraphState, inner: readonly string[]): string[] {
  const notes: string[] = [];
  if (s.entry.length > 0) notes.push(`entry / ${s.entry.join(', ')}`);
  if (s.invoke.length > 0) notes.push(`invoke ${s.invoke.join(', ')}`);
  for (const l of inner) notes.push(`${l}`);
  return notes;
}

/** Children of a compound state in columns: BFS distance from the initial child over sibling edges. */
function rankColumns(
  s: GraphState,
  kids: readonly GraphState[],
  transitions: readonly GraphTransition[],
  byId: ReadonlyMap<string, GraphState>,
): GraphState[][] {
  const kidIds = new Set(kids.map((k) => k.id));
  const under = (id: string): string | undefined => {
    let cur: string | undefined = id;
    while (cur !== undefined && !kidIds.has(cur)) cur = byId.get(cur)?.parent;
    return cur;
  };
  const next = new Map<string, string[]>();
  for (const t of transitions) {
    const from = under(t.source);
    if (from === undefined) continue;
    for (const target of t.targets) {
      const to = under(target);
      if (to !== undefined && to !== from) next.set(from, [...(next.get(from) ?? []), to]);
    }
  }
  const rank = new Map<string, number>();
  const start = s.initial ?? kids[0]!.id;
  rank.set(start, 0);
  const queue = [start];
  while (queue.length > 0) {
    const id = queue.shift()!;
    for (const n of next.get(id) ?? [])
      if (!rank.has(n)) {
        rank.set(n, rank.get(id)! + 1);
        queue.push(n);
      }
  }
  const max = Math.max(...rank.values());
  const columns: GraphState[][] = [];
  for (const k of kids) {
    const r = rank.get(k.id) ?? max + 1;
    (columns[r] ??= []).push(k);
  }
  return columns.filter((c) => c !== undefined);
}

function gapAfter(
  col: readonly GraphState[],
  edges: ReadonlyMap<string, { source: string; labels: string[] }>,
): number {
  let widest = 0;
  for (const e of edges.values())
    if (col.some((k) => e.source === k.id || e.source.startsWith(`${k.id}.`)))
      for (const l of e.labels) widest = Math.max(widest, Math.min(l.length, MAX_LABEL + 12) * CHAR * 0.9);
  return Math.max(MIN_GAP_X, Math.min(widest + 24, 260));
}

function edgeSvg(e: { source: string; target: string; labels: string[] }, a: Box, b: Box): string {
  let d: string;
  let lx: number;
  let ly: number;
  if (e.source === e.target) {
    // A re-entering transition: a loop over the top-right corner.
    const x = a.x + a.w - 18;
    const y = a.y;
    d = `M${r1(x)},${r1(y)} C${r1(x - 6)},${r1(y - 28)} ${r1(x + 30)},${r1(y - 28)} ${r1(x + 18)},${r1(y + 4)}`;
    lx = x + 34 + (Math.max(...e.labels.map((l) => l.length)) * CHAR * 0.9) / 2;
    ly = y - 14;
  } else if (b.x >= a.x + a.w - 1) {
    const x1 = a.x + a.w;
    const y1 = a.y + Math.min(a.h / 2, 20);
    const x2 = b.x;
    const y2 = b.y + Math.min(b.h / 2, 20);
    const mx = (x1 + x2) / 2;
    d = `M${r1(x1)},${r1(y1)} C${r1(mx)},${r1(y1)} ${r1(mx)},${r1(y2)} ${r1(x2)},${r1(y2)}`;
    lx = mx - 4;
    ly = (y1 + y2) / 2 - 4 - ((e.labels.length - 1) * 12) / 2;
  } else {
    // Backwards or nested: leave from the bottom, arrive at the bottom, bowing below both.
    const x1 = a.x + Math.min(a.w / 2, 40);
    const y1 = a.y + a.h;
    const x2 = b.x + Math.min(b.w / 2, 40) + 10;
    const y2 = b.y + b.h;
    const low = Math.max(y1, y2) + 30;
    d = `M${r1(x1)},${r1(y1)} C${r1(x1)},${r1(low)} ${r1(x2)},${r1(low)} ${r1(x2)},${r1(y2)}`;
    lx = (x1 + x2) / 2 - 20;
    ly = low - 8;
  }
  const lines = e.labels.map(
    (l, i) => `<text x="${r1(lx)}" y="${r1(ly + i * 12)}" text-anchor="middle">${esc(l)}</text>`,
  );
  const wMax = Math.max(...e.labels.map((l) => l.length)) * CHAR * 0.9 + 6;
  const bg = `<rect x="${r1(lx - wMax / 2)}" y="${r1(ly - 10)}" width="${r1(wMax)}" height="${e.labels.length * 12 + 2}"/>`;
  return `<g class="edge" data-source="${esc(e.source)}" data-target="${esc(e.target)}"><path d="${d}" marker-end="url(#arrow)"/>${bg}${lines.join('')}</g>`;
}

function r1(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
