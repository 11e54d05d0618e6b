/**
 * File-system calls in flight at once while the store's files are checked, looked at or created:
 * enough to keep libuv's four pool threads busy; 131,072 one-byte files took 56 s one at a time.
 */
export const FILE_LANES = 16;

/**
 * Runs `task(i)` for i = 0 … count − 1, at most `lanes` at a time, and resolves once every task
 * started has settled. After a task fails no new one starts, and the first failure is thrown once
 * the running ones are done (nothing is left touching the disk behind the caller's back).
 *
 * Tasks start in index order, one per lane first: task i < lanes is its lane's first. Used for
 * pieces hashed from disk (piece-store.ts `checkPieces`), preallocation (preallocate.ts), and many
 * small file-system calls (store-files.ts, file-looks.ts): each awaited call is a round trip
 * through libuv's thread pool, so one at a time a 131,072-file torrent spent 56 s opening its store
 * with the main thread idle three quarters of the time (hostile-input review).
 */
export async function inLanes(
  count: number,
  lanes: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (failure === undefined && next < count) {
      const i = next++;
      try {
        await task(i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, count) }, lane));
  if (failure !== undefined) throw failure.error;
}
