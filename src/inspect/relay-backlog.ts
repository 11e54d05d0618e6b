/**
 * What the `--inspect` relay keeps for a viewer that connects late: the registration
 * (`@xstate.actor`, with the machine's definition) of every actor that is alive, the latest
 * snapshot of each (so a quiet actor still shows its state when the others' traffic has pushed it
 * out of the recent messages), and the last RELAY_BUFFER other messages of those actors. An actor is gone when its snapshot says so
 * (`@xstate.snapshot` with status `done`, `stopped` or `error`: XState sends one when a machine
 * reaches a final state, when it or a callback/observable/promise actor is stopped, and when a
 * promise rejects), or when its parent is told it failed (`@xstate.event` of type
 * `xstate.error.actor.…` from it: XState sends no ended snapshot when a machine's action throws or
 * a callback actor throws as it starts, only that event): then its registration and its kept
 * messages are forgotten. A root actor that fails has no parent to tell: its registration stays.
 *
 * Before, every registration was kept for the life of the process: a seed that saw 10,000 peer
 * connections (a peer machine and its connection actor each) sent a late viewer 20,005
 * registrations, 70 MiB (bench/profile/inspect-relay.ts). Now what is kept is bounded by the actors
 * alive at once (maxPeers; a root actor that failed besides), whatever the seed's length.
 *
 * The messages are @statelyai/inspect's (`{ type, sessionId, snapshot?: { status } … }`, one JSON
 * object each); what cannot be read as one is relayed but not kept.
 */

/** Messages other than actor registrations kept for a viewer that connects late. */
export const RELAY_BUFFER = 2000;

/** Snapshot statuses after which an actor processes nothing more (XState v5). */
const ENDED = new Set(['done', 'stopped', 'error']);

interface Kept {
  readonly sessionId: string;
  readonly message: string;
}

export class RelayBacklog {
  /** sessionId → its registration, in the order the actors registered (parents before children). */
  readonly #registrations = new Map<string, string>();
  /** Other messages of live actors, oldest first, at most RELAY_BUFFER. */
  #recent: Kept[] = [];
  /** sessionId → its latest `@xstate.snapshot` (the same object as in #recent while it is there). */
  readonly #snapshots = new Map<string, Kept>();
  /** How many of #recent each actor has: an actor that ends with none costs no pass over them. */
  readonly #recentCount = new Map<string, number>();
  #bytes = 0;

  /** Takes one message from the inspector (every message, in the order sent). */
  keep(message: string): void {
    const m = read(message);
    if (m === undefined) return;
    if (m.type === '@xstate.actor') {
      this.#forgetRegistration(m.sessionId);
      this.#registrations.set(m.sessionId, message);
      this.#bytes += message.length;
      return;
    }
    if (m.type === '@xstate.snapshot' && m.status !== undefined && ENDED.has(m.status)) {
      this.#forget(m.sessionId);
      return;
    }
    // The parent's event is kept as any other; the child that sent it is gone.
    if (m.failed !== undefined) this.#forget(m.failed);
    // Events sent to an actor already gone (XState reports them too) are not kept.
    if (!this.#registrations.has(m.sessionId)) return;
    const kept = { sessionId: m.sessionId, message };
    if (m.type === '@xstate.snapshot') this.#snapshots.set(m.sessionId, kept);
    this.#recent.push(kept);
    this.#recentCount.set(m.sessionId, (this.#recentCount.get(m.sessionId) ?? 0) + 1);
    this.#bytes += message.length;
    if (this.#recent.length > RELAY_BUFFER) {
      const old = this.#recent.shift()!;
      this.#bytes -= old.message.length;
      this.#uncount(old.sessionId);
    }
  }

  /**
   * What a newcomer is sent, in order: the registrations, the latest snapshot of each actor whose
   * snapshot is no longer among the recent messages, then the recent messages.
   */
  *messages(): Generator<string> {
    yield* this.#registrations.values();
    for (const k of this.#olderSnapshots()) yield k.message;
    for (const k of this.#recent) yield k.message;
  }

  /** Messages kept and their characters (the messages are JSON, ASCII but for names). */
  get size(): { readonly messages: number; readonly bytes: number } {
    let messages = this.#registrations.size + this.#recent.length;
    let bytes = this.#bytes;
    for (const k of this.#olderSnapshots()) {
      messages++;
      bytes += k.message.length;
    }
    return { messages, bytes };
  }

  /** Latest snapshots pushed out of #recent: at most one per live actor. */
  #olderSnapshots(): Kept[] {
    const recent = new Set(this.#recent);
    return [...this.#snapshots.values()].filter((k) => !recent.has(k));
  }

  #forget(sessionId: string): void {
    this.#forgetRegistration(sessionId);
    this.#snapshots.delete(sessionId);
    const n = this.#recentCount.get(sessionId) ?? 0;
    if (n === 0) return;
    const kept: Kept[] = [];
    for (const k of this.#recent)
      if (k.sessionId === sessionId) this.#bytes -= k.message.length;
      else kept.push(k);
    this.#recent = kept;
    this.#recentCount.delete(sessionId);
  }

  #forgetRegistration(sessionId: string): void {
    const r = this.#registrations.get(sessionId);
    if (r === undefined) return;
    this.#bytes -= r.length;
    this.#registrations.delete(sessionId);
  }

  #uncount(sessionId: string): void {
    const left = (this.#recentCount.get(sessionId) ?? 0) - 1;
    if (left > 0) this.#recentCount.set(sessionId, left);
    else this.#recentCount.delete(sessionId);
  }
}

/** An event XState sends a parent when its child fails (an action or the actor's logic threw). */
const ACTOR_ERROR = 'xstate.error.actor.';

/**
 * The fields the backlog looks at, or undefined for a message that is not an inspection event:
 * `status` of a snapshot, `failed` the session id of the child an error event reports.
 */
function read(
  message: string,
): { type: string; sessionId: string; status?: string; failed?: string } | undefined {
  let m: unknown;
  try {
    m = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const { type, sessionId, snapshot, event, sourceId } = m as {
    type?: unknown;
    sessionId?: unknown;
    snapshot?: unknown;
    event?: unknown;
    sourceId?: unknown;
  };
  if (typeof type !== 'string' || typeof sessionId !== 'string') return undefined;
  const status = (snapshot as { status?: unknown } | null | undefined)?.status;
  const eventType = (event as { type?: unknown } | null | undefined)?.type;
  const failed =
    type === '@xstate.event' &&
    typeof eventType === 'string' &&
    eventType.startsWith(ACTOR_ERROR) &&
    typeof sourceId === 'string'
      ? sourceId
      : undefined;
  return {
    type,
    sessionId,
    ...(typeof status === 'string' ? { status } : {}),
    ...(failed === undefined ? {} : { failed }),
  };
}
