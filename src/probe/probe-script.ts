/**
 * fast-check arbitraries of probe scripts (probe-step.ts): what `bitstate probe` plays against a
 * target, exported for anyone who writes their own properties about a BitTorrent implementation
 * (`import { probeScript } from 'bitstate/probe'`).
 *
 * Requests dominate (a conversation that asks for nothing proves little); waits are short, so a
 * script of 40 steps takes a second or two against a local client. Numbers that pick a piece or a
 * block are plain naturals, mapped onto what the target has when the step is played, so they shrink
 * toward the first piece and block.
 */
import fc from 'fast-check';
import { framingArbitrary } from './framing-step.js';
import type { HostileStep, ProbeStep, ValidStep } from './probe-step.js';

/** Most steps in a generated script (`maxSteps` may ask for fewer or more, up to MAX_SCRIPT_STEPS). */
export const DEFAULT_SCRIPT_STEPS = 40;
export const MAX_SCRIPT_STEPS = 1_000;
/** Longest `wait` step. */
export const MAX_WAIT_MS = 200;

const pick = fc.nat({ max: 1 << 20 });

export function validStep(): fc.Arbitrary<ValidStep> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ kind: fc.constant('request' as const), pick, block: fc.nat({ max: 1 << 10 }) }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('requestPiece' as const), pick }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('cancel' as const), nth: fc.nat({ max: 1 << 10 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('wait' as const),
        ms: fc.integer({ min: 1, max: MAX_WAIT_MS }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'interested' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'notInterested' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'keepAlive' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'extendedHandshake' as const }) },
  );
}

export function hostileStep(): fc.Arbitrary<HostileStep> {
  return fc.oneof(
    fc.record({
      kind: fc.constant('requestTooLong' as const),
      pick,
      length: fc.integer({ min: 16 * 1024 + 1, max: 1 << 20 }),
    }),
    fc.record({
      kind: fc.constant('requestOutOfRange' as const),
      pick,
      overshoot: fc.integer({ min: 1, max: 16 * 1024 }),
    }),
    framingArbitrary.haveOutOfRange,
    framingArbitrary.lateBitfield,
    framingArbitrary.unknownMessage,
    fc.record({ kind: fc.constant('unsolicitedPiece' as const), pick }),
    framingArbitrary.oversizedFrame,
    framingArbitrary.badExtended,
    framingArbitrary.garbage,
  );
}

export interface ProbeScriptOptions {
  /** Mix in steps that break a rule on purpose (about one in five). Default false. */
  readonly hostile?: boolean;
  /** At most this many steps (default DEFAULT_SCRIPT_STEPS, at most MAX_SCRIPT_STEPS). */
  readonly maxSteps?: number;
}

export function probeScript(options: ProbeScriptOptions = {}): fc.Arbitrary<ProbeStep[]> {
  const step: fc.Arbitrary<ProbeStep> = options.hostile
    ? fc.oneof({ weight: 4, arbitrary: validStep() }, { weight: 1, arbitrary: hostileStep() })
    : validStep();
  return switchedSteps(step, options.maxSteps);
}

/**
 * A script of `step`s, at most `maxSteps` (default DEFAULT_SCRIPT_STEPS, at most MAX_SCRIPT_STEPS)
 * — both sides' scripts (serving-script.ts too).
 */
export function switchedSteps<S>(step: fc.Arbitrary<S>, maxSteps?: number): fc.Arbitrary<S[]> {
  const maxLength = Math.min(MAX_SCRIPT_STEPS, Math.max(1, maxSteps ?? DEFAULT_SCRIPT_STEPS));
  // Each step comes with a switch that shrinks to off: fast-check shrinks an array by cutting it
  // from one end, so a step in the middle that has nothing to do with a failure would otherwise
  // stay in the shortest script found. Off, a step is left out of the script.
  // (An integer that shrinks toward 0, which is off: 1 in 20 steps is generated off.)
  const on = fc.integer({ min: 0, max: 19 }).map((n) => n !== 0);
  return fc
    .array(fc.tuple(on, step), { minLength: 1, maxLength })
    .map((slots) => slots.flatMap(([played, s]) => (played ? [s] : [])));
}
