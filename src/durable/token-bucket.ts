/** A token bucket: `ratePerSecond` tokens refill per second, up to `burst`. */
export interface BucketSpec {
  ratePerSecond: number;
  burst: number;
}

export interface BucketState {
  tokens: number;
  updatedAt: number;
  /** No tokens are handed out before this time (epoch ms; set after the API answered 429). */
  blockedUntil: number;
}

/** A full bucket at `now`. */
export function fullBucket(spec: BucketSpec, now: number): BucketState {
  return { tokens: spec.burst, updatedAt: now, blockedUntil: 0 };
}

/**
 * Takes `cost` tokens at `now` (the balance may go negative: later callers queue behind) and
 * returns the new state and how long the caller must wait before its call. Pure.
 *
 * @example
 * const { state, waitMs } = reserveTokens(fullBucket(spec, 0), { ratePerSecond: 10, burst: 1 }, 1, 0);
 */
export function reserveTokens(
  previous: BucketState,
  spec: BucketSpec,
  cost: number,
  now: number,
  maxWaitMs = Number.POSITIVE_INFINITY,
): { state: BucketState; waitMs: number } {
  const elapsedSeconds = Math.max(0, now - previous.updatedAt) / 1000;
  const tokens = Math.min(spec.burst, previous.tokens + elapsedSeconds * spec.ratePerSecond) - cost;
  const deficitMs = tokens >= 0 ? 0 : (-tokens / spec.ratePerSecond) * 1000;
  const waitMs = Math.ceil(Math.max(deficitMs, previous.blockedUntil - now));
  // A caller that will not wait that long does not call: it takes nothing, or callers that gave up
  // would pile a debt on the bucket that only the ones that stayed could pay off.
  if (waitMs > maxWaitMs) return { state: previous, waitMs };
  return { state: { tokens, updatedAt: now, blockedUntil: previous.blockedUntil }, waitMs };
}

/** Blocks the bucket until `untilMs` and drops any saved-up burst. Pure. */
export function blockBucket(previous: BucketState, untilMs: number): BucketState {
  return { ...previous, tokens: Math.min(previous.tokens, 0), blockedUntil: Math.max(previous.blockedUntil, untilMs) };
}
