/**
 * The writeback a download leaves to the kernel (issue #8, table 2c). bitstate syncs its files
 * before it exits 0 (fdatasync: the data is on disk when the exit code says so), so writing the
 * page cache back to the disk is in its own CPU; libtorrent exits with its writes still dirty in
 * the page cache, and the kernel's flusher threads write them back later, on nobody's account
 * (aria2 leaves little: ~0.01 s per GiB here). Measured here as the CPU of an fdatasync of every
 * file the download wrote, right after it exited: the same work, done in a process of its own
 * (~0.01 s of it Python's start). Dirty pages stay in the page cache for up to 30 s
 * (vm.dirty_expire_centisecs) unless a tenth of the memory is dirty, so a 1 GiB download's are
 * all still there.
 */
import { SYSTEM_PYTHON } from '../../test/interop/harness/info-hash.js';
import { measure } from '../measure.js';

const SYNC_EVERY_FILE = `
import os, sys
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        fd = os.open(os.path.join(root, name), os.O_RDONLY)
        os.fdatasync(fd)
        os.close(fd)
`;

/** CPU seconds (user + sys) to make every file under `dir` durable; NaN when it failed. */
export async function writebackLeft(dir: string, timeoutMs: number): Promise<number> {
  const m = await measure(SYSTEM_PYTHON, ['-c', SYNC_EVERY_FILE, dir], { name: 'sync', timeoutMs });
  return m.exitCode === 0 ? m.cpuSeconds : Number.NaN;
}
