/**
 * How many messages a peer may send per second that each become a machine event of their own
 * (tcp-connection.ts). Pieces, requests and haves go in batches, one event per socket read, and
 * messages that add nothing are dropped before they become events (`redundantMessage`); what is
 * left — chokes, interest, cancels, rejects, suggests, allowed fast, extension messages — an
 * honest peer sends a few of at a time: at most a queue's worth of cancels or rejects (250–500)
 * when a request queue is dropped. A machine event costs microseconds, so a peer alternating two
 * such messages at line rate (cancels of two blocks: a hostile-peer review doubled an honest
 * download's time with 6 MB of them) is closed once it passes MAX_MESSAGE_EVENTS_PER_SECOND.
 */

export const MAX_MESSAGE_EVENTS_PER_SECOND = 2000;

export class MessageBudget {
  readonly #limit: number;
  readonly #now: () => number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #spent = 0;

  constructor(limit = MAX_MESSAGE_EVENTS_PER_SECOND, now: () => number = () => performance.now()) {
    this.#limit = limit;
    this.#now = now;
  }

  /** One more message event; false once more than the limit came within one second. */
  take(): boolean {
    if (++this.#spent <= this.#limit) return true;
    const now = this.#now();
    if (now - this.#windowStart >= 1000) {
      // The budget is spent only when a second's worth came within that second: a new window.
      this.#windowStart = now;
      this.#spent = 1;
      return true;
    }
    return false;
  }
}
