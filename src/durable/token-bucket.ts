/** A token bucket: `ratePerSecond` tokens refill per second, up to `burst`. */
export interface BucketSpec {
  kind: "bucket";
  ratePerSecond: number;
  burst: number;
}

/**
 * The bucket as one instant (the generic cell rate algorithm): `emptyAt` is when the bucket, left
 * alone, would hold no token debt, i.e. when the last reserved slot is used. Tokens are derived
 * from it, so a block and the queue behind it are one number instead of two that can disagree.
 */
export interface BucketState {
  /** Epoch ms after which every reserved slot has been used. Before `now`: the bucket is full. */
  emptyAt: number;
  /** No tokens are handed out before this time (epoch ms; set after the API answered 429). */
  blockedUntil: number;
}

/** A full bucket at `now`. */
export function fullBucket(now: number): BucketState {
  return { emptyAt: now, blockedUntil: 0 };
}

/** Milliseconds one token takes to refill. */
function intervalMs(spec: BucketSpec): number {
  return 1000 / spec.ratePerSecond;
}

/** Tokens in the bucket at `now`; negative when callers are queued for later slots. Pure. */
export function tokensAt(state: BucketState, spec: BucketSpec, now: number): number {
  return spec.burst - Math.max(0, state.emptyAt - now) / intervalMs(spec);
}

/**
 * Takes `cost` tokens at `now` (the balance may go negative: later callers queue behind, one
 * interval apart) and returns the new state and how long the caller must wait before its call. Pure.
 *
 * @example
 * const { state, waitMs } = reserveTokens(fullBucket(0), { ratePerSecond: 10, burst: 1 }, 1, 0);
 */
export function reserveTokens(
  previous: BucketState,
  spec: BucketSpec,
  cost: number,
  now: number,
  maxWaitMs = Number.POSITIVE_INFINITY,
): { state: BucketState; waitMs: number } {
  const interval = intervalMs(spec);
  const emptyAt = Math.max(previous.emptyAt, now) + cost * interval;
  // The caller's slot: as soon as the bucket, after this reservation, is no deeper than its burst.
  const waitMs = Math.ceil(Math.max(0, emptyAt - spec.burst * interval - now));
  // A caller that will not wait that long does not call: it takes nothing, or callers that gave up
  // would pile a debt on the bucket that only the ones that stayed could pay off.
  if (waitMs > maxWaitMs) return { state: previous, waitMs };
  return { state: { emptyAt, blockedUntil: previous.blockedUntil }, waitMs };
}

/**
 * Blocks the bucket until `untilMs` and drops any saved-up burst: the first caller goes when the
 * block ends and the others follow one interval apart, not all in the same instant (which would
 * fill the API's next window at once and draw the next 429). Pure.
 */
export function blockBucket(previous: BucketState, spec: BucketSpec, untilMs: number): BucketState {
  const queuedFromEnd = untilMs + (spec.burst - 1) * intervalMs(spec);
  return {
    emptyAt: Math.max(previous.emptyAt, queuedFromEnd),
    blockedUntil: Math.max(previous.blockedUntil, untilMs),
  };
}
