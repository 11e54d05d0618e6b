/**
 * fast-check arbitraries of serving scripts (serving-step.ts): what `bitstate probe --data DIR`
 * plays while a target downloads from it, exported as `probeServingScript` for anyone's own
 * properties. Serving and unchoking dominate (a target that is never unchoked and never served
 * shows little of how it downloads); waits are short.
 */
import fc from 'fast-check';
import { framingArbitrary } from './framing-step.js';
import { MAX_WAIT_MS, type ProbeScriptOptions, switchedSteps } from './probe-script.js';
import type { ServingHostileStep, ServingStep, ServingValidStep } from './serving-step.js';

/** Most requests one `serve` step answers. */
export const MAX_SERVE_PER_STEP = 8;
/** Most bytes a `wrongLengthBlock` is off by. */
const MAX_WRONG_BY = 1024;

const pick = fc.nat({ max: 1 << 20 });

export function servingValidStep(): fc.Arbitrary<ServingValidStep> {
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('serve' as const),
        n: fc.integer({ min: 1, max: MAX_SERVE_PER_STEP }),
      }),
    },
    { weight: 3, arbitrary: fc.constant({ kind: 'unchoke' as const }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('wait' as const),
        ms: fc.integer({ min: 1, max: MAX_WAIT_MS }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'choke' as const }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('reject' as const), nth: fc.nat({ max: 1 << 10 }) }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('have' as const), pick }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('allowedFast' as const), pick }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('suggest' as const), pick }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'keepAlive' as const }) },
  );
}

export function servingHostileStep(): fc.Arbitrary<ServingHostileStep> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant({ kind: 'corruptBlock' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('unsolicitedBlock' as const), pick }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('wrongLengthBlock' as const),
        longer: fc.boolean(),
        by: fc.integer({ min: 1, max: MAX_WRONG_BY }),
      }),
    },
    { weight: 1, arbitrary: framingArbitrary.haveOutOfRange },
    { weight: 1, arbitrary: framingArbitrary.lateBitfield },
    { weight: 1, arbitrary: framingArbitrary.unknownMessage },
    { weight: 1, arbitrary: framingArbitrary.oversizedFrame },
    { weight: 1, arbitrary: framingArbitrary.badExtended },
    { weight: 1, arbitrary: framingArbitrary.garbage },
  );
}

/** Serving scripts: `hostile` mixes in about one hostile step in five (corrupt blocks the most). */
export function probeServingScript(options: ProbeScriptOptions = {}): fc.Arbitrary<ServingStep[]> {
  const step: fc.Arbitrary<ServingStep> = options.hostile
    ? fc.oneof({ weight: 4, arbitrary: servingValidStep() }, { weight: 1, arbitrary: servingHostileStep() })
    : servingValidStep();
  return switchedSteps(step, options.maxSteps);
}
