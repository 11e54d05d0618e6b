/**
 * A machine definition read at run time (XState v5 StateNodes: `.states`, `.transitions`,
 * `.always`, `.invoke`, `.initial`) as plain data: every state and every transition with its
 * event, guard, targets and actions. The visualizations, the dashboard's statecharts and the
 * machine-files test all start from this, so they follow the machines as they change.
 */
import type { AnyStateMachine } from 'xstate';

export interface GraphState {
  /** Full id, e.g. `peer.connected.download.interested`. The root's id is the machine id. */
  readonly id: string;
  readonly key: string;
  readonly parent: string | undefined;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** Child ids in definition order. */
  readonly children: readonly string[];
  /** The initial child's id (compound states). */
  readonly initial: string | undefined;
  readonly entry: readonly string[];
  readonly exit: readonly string[];
  /** Actors invoked while in the state (their `src` names). */
  readonly invoke: readonly string[];
  /** Delays named by `after` (their names, or the number of ms). */
  readonly delays: readonly string[];
}

export interface GraphTransition {
  readonly source: string;
  /** Readable event: `wire.piece`, `after tick`, `done: announce`, `error: announce`, `always`. */
  readonly event: string;
  /** The raw event type XState uses (`xstate.after.tick.peer…`), or '' for `always`. */
  readonly eventType: string;
  readonly guard: string | undefined;
  /** Target ids; empty for a targetless transition (actions only). */
  readonly targets: readonly string[];
  readonly actions: readonly string[];
  readonly reenter: boolean;
}

export interface MachineGraph {
  readonly id: string;
  readonly states: readonly GraphState[];
  readonly transitions: readonly GraphTransition[];
}

// XState's StateNode and TransitionDefinition, as much of them as we read.
interface NodeLike {
  id: string;
  key: string;
  type: GraphState['type'];
  parent?: NodeLike;
  states: Record<string, NodeLike>;
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
  initial?: { target: NodeLike[] };
  entry: unknown[];
  exit: unknown[];
  invoke: { id: string; src: unknown }[];
  after: { delay: unknown; eventType: string }[];
}
interface TransitionLike {
  eventType: string;
  guard?: unknown;
  target?: NodeLike[];
  actions: unknown[];
  reenter?: boolean;
}

export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const states: GraphState[] = [];
  const transitions: GraphTransition[] = [];
  const invokeSrc = new Map<string, string>();
  const walk = (node: NodeLike): void => {
    const children = Object.values(node.states);
    for (const inv of node.invoke) invokeSrc.set(inv.id, nameOf(inv.src));
    states.push({
      id: node.id,
      key: node.key,
      parent: node.parent?.id,
      type: node.type,
      children: children.map((c) => c.id),
      initial: node.type === 'compound' ? node.initial?.target[0]?.id : undefined,
      entry: node.entry.map(nameOf).filter((n) => !n.startsWith('xstate.')),
      exit: node.exit.map(nameOf).filter((n) => !n.startsWith('xstate.')),
      invoke: node.invoke.map((i) => nameOf(i.src)),
      delays: node.after.map((a) => String(a.delay)),
    });
    for (const c of children) walk(c);
  };
  walk((machine as unknown as { root: NodeLike }).root);
  const add = (source: string, t: TransitionLike) =>
    transitions.push({
      source,
      event: readableEvent(t.eventType, invokeSrc),
      eventType: t.eventType,
      guard: t.guard === undefined ? undefined : nameOf(t.guard),
      targets: (t.target ?? []).map((n) => n.id),
      actions: t.actions.map(nameOf),
      reenter: t.reenter === true,
    });
  const byId = new Map<string, NodeLike>();
  const index = (n: NodeLike) => {
    byId.set(n.id, n);
    for (const c of Object.values(n.states)) index(c);
  };
  index((machine as unknown as { root: NodeLike }).root);
  for (const s of states) {
    const node = byId.get(s.id)!;
    for (const t of node.always ?? []) add(s.id, { ...t, eventType: '' });
    for (const list of node.transitions.values()) for (const t of list) add(s.id, t);
  }
  return { id: machine.id, states, transitions };
}

/** `xstate.after.tick.peer.x` → `after tick`; `xstate.done.actor.<id>` → `done: <src>`. */
export function readableEvent(eventType: string, invokeSrc: ReadonlyMap<string, string> = new Map()): string {
  if (eventType === '') return 'always';
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after ${after[1]}`;
  const done = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (done) return `${done[1]}: ${invokeSrc.get(done[2]!) ?? done[2]}`;
  if (eventType.startsWith('xstate.done.state.')) return 'done';
  return eventType;
}

/** The name of an action, guard or actor source as written in the config; `inline` for a function. */
export function nameOf(x: unknown): string {
  if (typeof x === 'string') return x;
  if (typeof x === 'function') {
    const t = (x as { type?: unknown }).type;
    if (typeof t === 'string' && t.startsWith('xstate.')) return t === 'xstate.assign' ? 'assign' : t;
    return 'inline';
  }
  if (x !== null && typeof x === 'object') {
    const t = (x as { type?: unknown }).type;
    if (typeof t === 'string') return t;
    const id = (x as { id?: unknown }).id;
    if (typeof id === 'string') return id;
  }
  return String(x);
}

/** The ids of the states a snapshot value is in, leaves and ancestors: `{a:{b:'c'}}` → a, a.b, a.b.c. */
export function activeStateIds(machineId: string, value: unknown): string[] {
  const out: string[] = [machineId];
  const walk = (prefix: string, v: unknown) => {
    if (typeof v === 'string') out.push(`${prefix}.${v}`);
    else if (v !== null && typeof v === 'object')
      for (const [k, sub] of Object.entries(v)) {
        out.push(`${prefix}.${k}`);
        walk(`${prefix}.${k}`, sub);
      }
  };
  walk(machineId, value);
  return out;
}
