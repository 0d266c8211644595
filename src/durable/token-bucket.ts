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
): { state: BucketState; waitMs: number } {
  // While a 429 blocks the bucket, its clock (updatedAt) is at the block's end: the elapsed time is
  // negative, so callers queue one slot apart from the end instead of all going at once then.
  const elapsedSeconds = (now - previous.updatedAt) / 1000;
  const refilled = previous.tokens + elapsedSeconds * spec.ratePerSecond;
  const tokens = (elapsedSeconds > 0 ? Math.min(spec.burst, refilled) : refilled) - cost;
  const waitMs = tokens >= 0 ? 0 : Math.ceil((-tokens / spec.ratePerSecond) * 1000);
  return { state: { tokens, updatedAt: now, blockedUntil: previous.blockedUntil }, waitMs };
}

/**
 * Blocks the bucket until `untilMs`: its clock moves to the block's end with at most one token,
 * so the first caller goes when the block ends and the others follow at the rate. Pure.
 */
export function blockBucket(previous: BucketState, untilMs: number): BucketState {
  if (untilMs <= previous.updatedAt) return previous;
  return {
    tokens: Math.min(previous.tokens, 1),
    updatedAt: untilMs,
    blockedUntil: Math.max(previous.blockedUntil, untilMs),
  };
}
