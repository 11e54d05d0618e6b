import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ipInOctets,
  listeningInode,
  machineIdleTicks,
  statTicks,
  statusSwitches,
} from '../../../bench/profile/proc-samples.js';
import { type Interval, splitPhases } from '../../../bench/profile/swarm-phases.js';

describe('swarm timeline: what /proc says', () => {
  it('reads utime + stime after the command name, whatever the name holds', () => {
    // state, then ppid … cmajflt (fields 4–13), then utime and stime (14, 15).
    const fields = 'S 1 2 3 4 5 6 7 8 9 10 250 40 0 0 20 0 12';
    assert.equal(statTicks(`4242 (python3) ${fields}`), 290);
    assert.equal(statTicks(`4242 (a (b) c) ${fields}`), 290);
  });

  it('adds voluntary and involuntary context switches', () => {
    const status = 'Name:\tnode\nvoluntary_ctxt_switches:\t120\nnonvoluntary_ctxt_switches:\t7\n';
    assert.equal(statusSwitches(status), 127);
    assert.equal(statusSwitches('Name:\tnode\n'), 0);
  });

  it('takes idle and iowait from the all-CPU line', () => {
    const stat = 'cpu  100 2 30 4000 50 0 6 0 0 0\ncpu0 50 1 15 2000 25 0 3 0 0 0\n';
    assert.equal(machineIdleTicks(stat), 4050);
    assert.throws(() => machineIdleTicks('intr 1 2 3\n'), /all-CPU line/);
  });

  it('finds IpExt InOctets by its header, not by its position', () => {
    const netstat =
      'TcpExt: SyncookiesSent DelayedACKs\nTcpExt: 0 5\n' +
      'IpExt: InNoRoutes InTruncatedPkts InOctets OutOctets\nIpExt: 0 0 123456789 987654321\n';
    assert.equal(ipInOctets(netstat), 123456789);
    assert.throws(() => ipInOctets('TcpExt: A\nTcpExt: 1\n'), /InOctets/);
  });

  it('finds the socket listening on a port, not a connection from or to it', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:8BB3 0100007F:D5EA 01 00000000:00000000 00:00000000 00000000     0        0 111 1',
      '   1: 0100007F:8BB3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1',
      '   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1',
    ].join('\n');
    assert.equal(listeningInode(tcp, 0x8bb3), 222);
    assert.equal(listeningInode(tcp, 8080), 333);
    assert.equal(listeningInode(tcp, 9999), undefined);
  });
});

/** A 100 ms interval on 2 cores: 20 ticks of capacity. */
function interval(t: number, seederSwitches: number, over: Partial<Interval> = {}): Interval {
  return {
    t,
    capacity: 20,
    downloaderMain: 7,
    downloaderOther: 1,
    seeders: seederSwitches > 100 ? 8 : 0,
    seederSwitches,
    idle: 4,
    bytes: 50e6,
    ...over,
  };
}

describe('swarm timeline: phases', () => {
  it('splits start-up, ramp and rest by the seeders’ context switches', () => {
    const switches = [40, 45, 3000, 15000, 20000, 12000, 4000, 4200, 3800, 4100, 9000, 4000];
    const phases = splitPhases(
      switches.map((s, i) => interval((i + 1) / 10, s, i >= 2 && i <= 5 ? { bytes: 20e6 } : {})),
      2,
    );
    // Busy from the third interval (3000 ≥ a quarter of the median 4050); the ramp runs through the
    // peak and on while ≥ 2 × the busy intervals' median (4100): 3000, 15000, 20000, 12000.
    assert.equal(phases.startSeconds, 0.2);
    assert.ok(Math.abs(phases.ramp.seconds - 0.4) < 1e-9);
    assert.ok(Math.abs(phases.rest.seconds - 0.6) < 1e-9);
    assert.ok(Math.abs(phases.ramp.megabytesPerSecond - 200) < 1e-6);
    assert.ok(Math.abs(phases.rest.megabytesPerSecond - 500) < 1e-6);
    // 8 of 20 ticks each interval: 0.8 of a core on 2 cores; idle 4 of 20.
    assert.ok(Math.abs(phases.rest.downloaderCores - 0.8) < 1e-9);
    assert.ok(Math.abs(phases.rest.downloaderMainCores - 0.7) < 1e-9);
    assert.ok(Math.abs(phases.rest.idleShare - 0.2) < 1e-9);
    assert.ok(Math.abs(phases.ramp.seederSwitchesPerSecond - 500_000 / 4) < 1e-6);
    // A late spike (9000) after the ramp stays in the rest.
    assert.ok(Math.abs(phases.rest.seederSwitchesPerSecond - 29_100 / 0.6) < 1e-6);
  });

  it('has no ramp when no interval stands out', () => {
    const phases = splitPhases(
      [3000, 4000, 4100, 3900].map((s, i) => interval((i + 1) / 10, s)),
      2,
    );
    assert.equal(phases.ramp.seconds, 0);
    assert.ok(Number.isNaN(phases.ramp.downloaderCores));
    assert.ok(Math.abs(phases.rest.seconds - 0.4) < 1e-9);
  });
});
