/**
 * The peer machine's tick: the download rate that sets the pipeline target, the silence and
 * snub clocks, and the smoothed rates the choker ranks peers by (docs/seeding.md).
 */
import type { PeerContext, PeerEffects } from './peer-context.js';
import { pipelineTarget, room, wantBlocks } from './peer-pipeline.js';

/** Once a tick: measure the rate, retarget the pipeline, and ask for blocks if there is room. */
export function measureRate(context: PeerContext, fx: PeerEffects): void {
  const silentMs = context.silentMs + context.timeouts.tick;
  if (context.outstanding.size === 0 && context.bytesThisTick === 0) {
    fx.assign({ silentMs, sinceBlockMs: 0 });
    // Idle while requesting: ask again once a tick, in case blocks came free without a top-up.
    const idleRoom = room(context);
    if (idleRoom > 0) fx.report(wantBlocks(context, idleRoom));
    return;
  }
  const sample = (context.bytesThisTick * 1000) / context.timeouts.tick;
  const rate = context.rateMeasured ? (context.rate + sample) / 2 : sample;
  const target = pipelineTarget(rate, context.limits);
  const sinceBlockMs = context.outstanding.size > 0 ? context.sinceBlockMs + context.timeouts.tick : 0;
  fx.assign({ silentMs, sinceBlockMs, rate, target, rateMeasured: true, bytesThisTick: 0 });
  const n = room({ ...context, target });
  if (n > 0) fx.report(wantBlocks(context, n));
}

/** Once a tick: the rates for the choker, reported only when they changed. */
export function reportRates(context: PeerContext, fx: PeerEffects): void {
  // Rates for the choker, smoothed every tick (EWMA α = ½), rounded so they settle at 0.
  const perSec = 1000 / context.timeouts.tick;
  const downloadRate = Math.floor((context.downloadRate + context.bytesThisTick * perSec) / 2);
  const uploadRate = Math.floor((context.uploadRate + context.bytesSentThisTick * perSec) / 2);
  const sinceReceivedMs =
    context.amInterested && context.bytesThisTick === 0 ? context.sinceReceivedMs + context.timeouts.tick : 0;
  const snubbed = sinceReceivedMs >= context.timeouts.snub;
  const report = `${downloadRate}/${uploadRate}/${snubbed}`;
  fx.assign({
    downloadRate,
    uploadRate,
    sinceReceivedMs,
    bytesSentThisTick: 0,
    lastRateReport: report,
  });
  if (report !== context.lastRateReport)
    fx.report({
      type: 'peer.rate',
      key: context.key,
      downloadRate,
      uploadRate,
      snubbed,
    });
}
