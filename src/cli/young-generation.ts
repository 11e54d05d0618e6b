/**
 * Keeps V8's young generation at its initial size for the CLI's process (issue #8: peak RSS).
 *
 * V8 doubles the young generation's semi-spaces (up to 16 MiB each on 64-bit Node 20) whenever
 * the bytes that survived scavenges since the last growth pass its size: on a long download that
 * always happens, however little survives, and the semi-spaces — from-space and to-space — then
 * hold ~25 MB of RSS that a download does not need (measured: 1 GiB from one local seeder, peak RSS
 * 118–126 MiB with growth, 93–95 without; young garbage is ~0.2 GB per GiB downloaded and mostly
 * dies young). `--max-semi-space-size` would cap it but can only be given before Node starts, and
 * re-executing the CLI would cost its start-up time; `--semi-space-growth-factor` is read each
 * time V8 grows the space, so setting it to 1 here stops the growth. The library never does this:
 * a program that embeds bitstate owns its process's flags.
 */
import { setFlagsFromString } from 'node:v8';

export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}
