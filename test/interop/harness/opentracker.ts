/**
 * Debian's opentracker on 127.0.0.1, HTTP (BEP 3) and UDP (BEP 15) on one port.
 *
 * Debian builds it with a whitelist: only listed info-hashes are served ("Requested download is
 * not authorized"). Measured here: `-w FILE` is opened after opentracker chroots into `-d DIR`
 * (as root) and drops to user `nobody`, so FILE is a path inside DIR, DIR must be world-readable
 * (a mkdtemp folder is 0700: chmod it) and an absolute path outside DIR is not found. As non-root
 * the chroot fails quietly and FILE is relative to the working directory, which is also DIR here.
 * SIGHUP makes it re-read the whitelist.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HarnessError } from './harness-error.js';
import { getFreePort, LOOPBACK, waitForPort } from './ports.js';
import { startProcess, whileRunning } from './processes.js';

export const OPENTRACKER = '/usr/bin/opentracker';

export interface ScrapeCounts {
  readonly complete: number;
  readonly incomplete: number;
  readonly downloaded: number;
}

export interface Opentracker {
  readonly port: number;
  /** http://127.0.0.1:PORT/announce */
  readonly announceUrl: string;
  /** udp://127.0.0.1:PORT/announce */
  readonly udpUrl: string;
  /** Adds info-hashes (hex) to the whitelist and reloads it. */
  allow(infoHashesHex: readonly string[]): Promise<void>;
  /** BEP 48 scrape of one info-hash over HTTP. */
  scrape(infoHashHex: string): Promise<ScrapeCounts>;
  /** Resolves once at least `count` seeders have announced `infoHashHex`. */
  waitForSeeders(infoHashHex: string, count: number, timeoutMs: number): Promise<void>;
  /**
   * Resolves once at least `count` leechers have announced `infoHashHex`: opentracker counts a peer
   * by its `left` alone, so a partial seed (BEP 21, left > 0, `event=paused`) is one.
   */
  waitForLeechers(infoHashHex: string, count: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

function checkHex(h: string): string {
  if (!/^[0-9a-fA-F]{40}$/.test(h)) {
    throw new HarnessError('badArgument', `info-hash must be 40 hex characters, got '${h}'`, { infoHash: h });
  }
  return h.toLowerCase();
}

/** %XX-escapes every byte: opentracker wants the raw 20 bytes of the info-hash. */
function escapeHash(hex: string): string {
  return hex.replace(/../g, (b) => `%${b}`);
}

export async function startOpentracker(
  opts: { readonly infoHashes?: readonly string[]; readonly port?: number; readonly timeoutMs?: number } = {},
): Promise<Opentracker> {
  const port = opts.port ?? (await getFreePort());
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-opentracker-'));
  await chmod(dir, 0o755);
  const whitelist = new Set((opts.infoHashes ?? []).map(checkHex));
  const whitelistPath = join(dir, 'whitelist');
  const writeWhitelist = async (): Promise<void> => {
    await writeFile(whitelistPath, [...whitelist].map((h) => `${h}\n`).join(''));
    await chmod(whitelistPath, 0o644);
  };
  await writeWhitelist();
  const proc = startProcess(
    OPENTRACKER,
    ['-i', LOOPBACK, '-p', String(port), '-P', String(port), '-d', dir, '-w', 'whitelist'],
    { cwd: dir, name: 'opentracker', timeoutMs: opts.timeoutMs ?? 30 * 60_000 },
  );
  const base = `http://${LOOPBACK}:${port}`;
  const tracker: Opentracker = {
    port,
    announceUrl: `${base}/announce`,
    udpUrl: `udp://${LOOPBACK}:${port}/announce`,
    async allow(infoHashesHex) {
      for (const h of infoHashesHex) whitelist.add(checkHex(h));
      await writeWhitelist();
      process.kill(proc.pid, 'SIGHUP');
      // The reload runs on opentracker's own thread: wait until it serves them.
      await whenServed(infoHashesHex);
    },
    async scrape(infoHashHex) {
      const res = await fetch(`${base}/scrape?info_hash=${escapeHash(checkHex(infoHashHex))}`);
      const body = Buffer.from(await res.arrayBuffer()).toString('latin1');
      const num = (key: string): number =>
        Number(new RegExp(`${key.length}:${key}i(\\d+)e`).exec(body)?.[1] ?? 0);
      return { complete: num('complete'), incomplete: num('incomplete'), downloaded: num('downloaded') };
    },
    waitForSeeders: (infoHashHex, count, timeoutMs) =>
      waitForCount(infoHashHex, 'complete', count, timeoutMs),
    waitForLeechers: (infoHashHex, count, timeoutMs) =>
      waitForCount(infoHashHex, 'incomplete', count, timeoutMs),
    async stop() {
      await proc.stop(1000);
      await rm(dir, { recursive: true, force: true });
    },
  };
  /** Until scrape counts at least `count` peers of `infoHashHex` as `which` (seeders or leechers). */
  const waitForCount = async (
    infoHashHex: string,
    which: 'complete' | 'incomplete',
    count: number,
    timeoutMs: number,
  ): Promise<void> => {
    const deadline = performance.now() + timeoutMs;
    let last: ScrapeCounts = { complete: 0, incomplete: 0, downloaded: 0 };
    while (performance.now() < deadline) {
      last = await tracker.scrape(infoHashHex);
      if (last[which] >= count) return;
      await sleep(100);
    }
    const what = which === 'complete' ? 'seeders' : 'leechers';
    throw new HarnessError(
      'notReady',
      `tracker saw ${last[which]} of ${count} ${what} of ${infoHashHex} after ${timeoutMs} ms`,
      { ...last, count, timeoutMs },
    );
  };
  /**
   * Until opentracker serves every hash in `infoHashesHex`: it loads its whitelist on a thread of
   * its own, after it listens (and again after a SIGHUP), and answers a hash it has not loaded yet
   * as not authorized. Probed with an announce of a peer of our own (a `stopped` one is answered
   * whitelisted or not), taken out again at once with a `stopped`, so no count is left changed.
   */
  const whenServed = async (infoHashesHex: Iterable<string>) => {
    const deadline = performance.now() + 10_000;
    const announce = async (hex: string, event: string) => {
      const query = `info_hash=${escapeHash(checkHex(hex))}&peer_id=${'-PROBE-'.padEnd(20, '0')}&port=1&uploaded=0&downloaded=0&left=1&compact=1${event}`;
      return Buffer.from(await (await fetch(`${base}/announce?${query}`)).arrayBuffer()).toString('latin1');
    };
    for (const hex of infoHashesHex) {
      for (;;) {
        const body = await announce(hex, '');
        if (!body.includes('failure reason')) break;
        if (performance.now() > deadline)
          throw new HarnessError('notReady', `opentracker does not serve ${hex}: ${body}`, { infoHash: hex });
        await sleep(50);
      }
      await announce(hex, '&event=stopped');
    }
  };
  try {
    await whileRunning(proc, waitForPort(port, 10_000));
    await whileRunning(proc, whenServed(whitelist));
  } catch (err) {
    await tracker.stop();
    throw err;
  }
  return tracker;
}
