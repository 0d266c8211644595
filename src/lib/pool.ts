/**
 * Runs `work` on every item with at most `limit` running at once, and resolves when all are done.
 * For per-record API writes: the shared rate limiter sets their pace, and a few in flight keep that
 * pace even when each call takes longer than the gap between two tokens. `limit` may be a function,
 * asked again after every item: the pool grows or shrinks to follow it (at least one keeps going).
 *
 * @example await eachLimit(records, 8, (record) => write(record));
 * @example await eachLimit(records, () => writesInFlight(24, client.writeRoundTripMs), write);
 */
export async function eachLimit<T>(
  items: readonly T[],
  limit: number | (() => number),
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const want = () => Math.max(1, typeof limit === "function" ? limit() : limit);
  let next = 0;
  let active = 0;
  const running: Promise<void>[] = [];
  const worker = async (): Promise<void> => {
    try {
      while (next < items.length && active <= want()) {
        const index = next++;
        await work(items[index] as T, index);
        grow();
      }
    } finally {
      active--;
    }
  };
  const grow = () => {
    while (active < want() && next < items.length) {
      active++;
      running.push(worker());
    }
  };
  grow();
  // Workers started while waiting are waited for in the next round.
  for (let waited = 0; waited < running.length; ) {
    const round = running.slice(waited);
    waited = running.length;
    await Promise.all(round);
  }
}
