/** Human formatting of sizes, rates and durations for the terminal. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 2 : 1)} ${UNITS[u]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** "1 more tracker URL" / "N more tracker URLs": what a torrent lists past one of its limits. */
export function moreOf(n: number, noun: string): string {
  return `${n} more ${noun}${n === 1 ? '' : 's'}`;
}

/** The line for `lsd.off` (BEP 14): LSD could not start, and why (said whatever the terminal). */
export function lsdOffText(reason: string): string {
  return `LSD off: ${reason}`;
}

/** The terminal's line for `lsd.ready` (BEP 14): where LSD runs, or that it runs nowhere. */
export function lsdReadyText(interfaces: readonly string[]): string {
  return interfaces.length === 0
    ? 'LSD: no interface to multicast on'
    : `LSD: announcing on ${interfaces.join(', ')}`;
}
