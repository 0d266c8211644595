/**
 * Runs `work` on every item with at most `limit` running at once, and resolves when all are done.
 * For per-record API writes: the shared rate limiter sets their pace, and a few in flight keep that
 * pace even when each call takes longer than the gap between two tokens.
 *
 * @example await eachLimit(records, 8, (record) => write(record));
 */
export async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
