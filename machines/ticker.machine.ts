/**
 * The torrent machine's clock: it sends its parent `clock.tick` every `everyMs` of the actor
 * system's clock (SimulatedClock in tests and simulations). The torrent machine has no timer that
 * runs in every state, and no clock to read (docs/machines.md); it counts these ticks to tell how
 * long a connection has been of no use (machines/torrent-slots.ts).
 */
import { sendParent, setup } from 'xstate';

export interface TickerInput {
  readonly everyMs: number;
}

export const tickerMachine = setup({
  types: { context: {} as TickerInput, input: {} as TickerInput },
  delays: { every: ({ context }) => context.everyMs },
  actions: { tellParent: sendParent({ type: 'clock.tick' }) },
}).createMachine({
  id: 'ticker',
  context: ({ input }) => input,
  initial: 'running',
  states: {
    running: { after: { every: { target: 'running', reenter: true, actions: 'tellParent' } } },
  },
});
