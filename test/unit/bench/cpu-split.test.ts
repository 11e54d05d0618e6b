import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { measure } from '../../../bench/measure.js';
import { allowedCpus, cpuSplit, parseCpuList, pinProcess } from '../../../bench/suite/cpu-split.js';

const cpusAllowed = (pid: number | 'self'): string =>
  /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
const twoCpus = (allowedCpus()?.length ?? 0) >= 2;

describe('bench suite: seeders and downloader on separate CPUs', () => {
  it('reads a CPU list as Linux prints it; anything else is an error', () => {
    assert.deepEqual(parseCpuList('0-1'), [0, 1]);
    assert.deepEqual(parseCpuList('0,2-4,7\n'), [0, 2, 3, 4, 7]);
    assert.deepEqual(parseCpuList('3'), [3]);
    assert.throws(() => parseCpuList('0-'), /not a CPU list/);
    assert.throws(() => parseCpuList('a'), /not a CPU list/);
  });

  it('gives the seeders the first half (rounded down) and the downloader the rest; no split on one CPU', () => {
    assert.equal(cpuSplit([0]), undefined);
    assert.deepEqual(cpuSplit([0, 1]), { swarm: [0], downloader: [1], all: [0, 1] });
    assert.deepEqual(cpuSplit([2, 3, 5]), { swarm: [2], downloader: [3, 5], all: [2, 3, 5] });
    assert.deepEqual(cpuSplit([0, 1, 2, 3]), { swarm: [0, 1], downloader: [2, 3], all: [0, 1, 2, 3] });
  });

  it('pins a running process and back', { skip: !twoCpus && 'needs two CPUs' }, async () => {
    const all = allowedCpus() ?? [];
    const child = spawn('sleep', ['10'], { stdio: 'ignore' });
    try {
      const pid = child.pid ?? assert.fail('no pid');
      pinProcess(pid, [all[0] ?? 0]);
      assert.equal(cpusAllowed(pid), String(all[0]));
      pinProcess(pid, all);
      assert.deepEqual(parseCpuList(cpusAllowed(pid)), all);
    } finally {
      child.kill();
    }
  });

  it('measure.py runs the command on the CPUs asked for', {
    skip: !twoCpus && 'needs two CPUs',
  }, async () => {
    const last = (allowedCpus() ?? []).at(-1) ?? 0;
    const opts = { name: 'grep', timeoutMs: 60_000 };
    const pinned = await measure('grep', ['Cpus_allowed_list', '/proc/self/status'], {
      ...opts,
      cpus: [last],
    });
    assert.equal(pinned.exitCode, 0);
    assert.match(pinned.outputTail, new RegExp(`Cpus_allowed_list:\\s*${last}$`, 'm'));
    const free = await measure('grep', ['Cpus_allowed_list', '/proc/self/status'], opts);
    assert.match(free.outputTail, new RegExp(`Cpus_allowed_list:\\s*${cpusAllowed('self')}$`, 'm'));
  });
});
