/**
 * What the swarm timeline reads from Linux's /proc (issue #8): CPU ticks of a process or one of its
 * threads, context switches, the machine's idle time, the bytes IP has received (on loopback, every
 * byte a seeder sends), and which process listens on a TCP port.
 * Parsing is kept apart from reading so that it can be tested on fixed text.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { statCpuTicks } from '../suite/machine.js';

/** utime + stime, in clock ticks (bench/suite/machine.ts), from the text of a /proc stat file. */
export function statTicks(stat: string): number {
  const { user, system } = statCpuTicks(stat);
  return user + system;
}

/** Voluntary + involuntary context switches, from the text of /proc/PID/task/TID/status. */
export function statusSwitches(status: string): number {
  let n = 0;
  for (const m of status.matchAll(/^(?:voluntary|nonvoluntary)_ctxt_switches:\s+(\d+)$/gm)) n += Number(m[1]);
  return n;
}

/** Idle + iowait ticks of all CPUs, from the first line of /proc/stat. */
export function machineIdleTicks(procStat: string): number {
  const cpu = procStat.slice(0, procStat.indexOf('\n')).trim().split(/\s+/);
  if (cpu[0] !== 'cpu') throw new Error('/proc/stat does not start with the all-CPU line');
  return Number(cpu[4]) + Number(cpu[5]);
}

/** IpExt InOctets (bytes IP received, every interface, headers included), from /proc/net/netstat. */
export function ipInOctets(netstat: string): number {
  const lines = netstat.split('\n').filter((l) => l.startsWith('IpExt:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const at = names.indexOf('InOctets');
  const value = lines[1]?.split(/\s+/)[at];
  if (at === -1 || value === undefined) throw new Error('no IpExt InOctets in /proc/net/netstat');
  return Number(value);
}

/**
 * The socket inode listening on `port` (any address), from the text of /proc/net/tcp or tcp6;
 * undefined when none does.
 */
export function listeningInode(procNetTcp: string, port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of procNetTcp.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    if (f.length < 10 || f[3] !== '0A') continue; // 0A: TCP_LISTEN
    if (f[1]?.endsWith(`:${hexPort}`)) return Number(f[9]);
  }
  return undefined;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback; // the process or thread ended between listing and reading
  }
}

/** The PID of the process listening on TCP `port` on this machine, or undefined. */
export function pidListeningOn(port: number): number | undefined {
  const inode =
    listeningInode(readOr('/proc/net/tcp', ''), port) ?? listeningInode(readOr('/proc/net/tcp6', ''), port);
  if (inode === undefined) return undefined;
  const target = `socket:[${inode}]`;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return Number(pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/**
 * CPU ticks of process `pid` (all threads), of its main thread alone, and its threads' context
 * switches; undefined once the process has ended.
 */
export function processSample(
  pid: number,
): { ticks: number; mainTicks: number; switches: number } | undefined {
  const stat = readOr(`/proc/${pid}/stat`, '');
  const mainStat = readOr(`/proc/${pid}/task/${pid}/stat`, '');
  if (stat === '' || mainStat === '') return undefined;
  let switches = 0;
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  for (const tid of tids) switches += statusSwitches(readOr(`/proc/${pid}/task/${tid}/status`, ''));
  return { ticks: statTicks(stat), mainTicks: statTicks(mainStat), switches };
}

/** Idle + iowait ticks of the whole machine so far. */
export function machineIdle(): number {
  return machineIdleTicks(readFileSync('/proc/stat', 'utf8'));
}

/** Bytes IP has received on this machine so far (see ipInOctets). */
export function ipBytesReceived(): number {
  return ipInOctets(readFileSync('/proc/net/netstat', 'utf8'));
}
