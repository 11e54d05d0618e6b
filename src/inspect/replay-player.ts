/**
 * Plays TraceRecords into a DashboardModel at trace time × speed, or one state change per step.
 * `onChange` is told each state change as it is applied (the CLI prints them). Waits are capped
 * at MAX_WAIT_MS of wall time so a long idle stretch in a trace does not stall the replay.
 */
import type { DashboardModel } from './dashboard-model.js';
import type { TraceRecord } from './trace-record.js';

export const MAX_WAIT_MS = 2000;

export interface StateChange {
  readonly t: number;
  readonly name: string;
  readonly machine: string;
  readonly from: unknown;
  readonly to: unknown;
  readonly event: string;
}

export class ReplayPlayer {
  speed: number;
  #paused: boolean;
  #steps = 0;
  #wake: (() => void) | undefined;

  constructor(
    private readonly model: DashboardModel,
    options: { speed: number; paused: boolean },
    private readonly onChange: (c: StateChange) => void = () => {},
  ) {
    this.speed = options.speed;
    this.#paused = options.paused;
  }

  play(): void {
    this.#paused = false;
    this.#wake?.();
  }
  pause(): void {
    this.#paused = true;
  }
  /** Lets one more state change through while paused. */
  step(): void {
    this.#steps++;
    this.#wake?.();
  }
  setSpeed(speed: number): void {
    if (Number.isFinite(speed) && speed > 0) this.speed = speed;
    this.#wake?.();
  }

  async run(records: AsyncIterable<TraceRecord>): Promise<void> {
    let lastT = 0;
    for await (const r of records) {
      const change = this.#changeOf(r);
      if (change !== undefined) {
        while (this.#paused && this.#steps === 0) await new Promise<void>((res) => (this.#wake = res));
        if (this.#paused) this.#steps--;
        else if (r.t > lastT && Number.isFinite(this.speed)) {
          const ms = Math.min((r.t - lastT) / this.speed, MAX_WAIT_MS);
          if (ms >= 1) await new Promise<void>((res) => setTimeout(res, ms));
        }
        lastT = r.t;
      }
      this.model.apply(r);
      if (change !== undefined) this.onChange(change);
    }
  }

  #changeOf(r: TraceRecord): StateChange | undefined {
    if (r.k !== 'state') return undefined;
    const a = this.model.actors.get(r.id);
    if (a === undefined || a.machine === undefined) return undefined;
    if (JSON.stringify(a.value) === JSON.stringify(r.value)) return undefined;
    return { t: r.t, name: a.name, machine: a.machine, from: a.value, to: r.value, event: r.event };
  }
}
