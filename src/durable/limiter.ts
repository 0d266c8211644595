import { BUCKETS, type BucketName, type Buckets, penalizeBucket, settleToken, takeToken } from "./limits.ts";
import type { RateLimiter } from "./rate-limiter.ts";

/** Leave to send one call, taken from a Limiter. */
export interface Permit {
  /** The call went out at `sentAt` and was answered at `answeredAt` (epoch ms). */
  answered(sentAt: number, answeredAt: number): Promise<void>;
  /** The API answered 429: every caller of the bucket waits until `untilMs` (epoch ms). */
  penalize(untilMs: number): Promise<void>;
}

/**
 * The one seam between the API clients and rate limiting: a client asks for a permit before each
 * call and reports how the call went. The clients know nothing of slots, windows or lateness.
 */
export interface Limiter {
  acquire(bucket: BucketName): Promise<Permit>;
}

/** Milliseconds the quickest round trip rises per call, so it follows a network that got slower. */
const QUICKEST_DRIFT_MS = 0.1;

/**
 * The shared limiter: RateLimiter Durable Objects, one per bucket, for every isolate (see
 * limits.ts). It also learns the quickest recent round trip of each bucket, what a call takes when
 * nothing holds it, so that a call answered much later than that is reported as possibly late
 * (`settleToken`): the next second's calls keep clear of it.
 */
export function sharedLimiter(ns: DurableObjectNamespace<RateLimiter>, buckets: Buckets = BUCKETS): Limiter {
  const quickest = new Map<BucketName, number>();
  return {
    async acquire(bucket) {
      const spec = buckets[bucket];
      const taken = await takeToken(ns, bucket, spec);
      return {
        async answered(sentAt, answeredAt) {
          const usual = Math.min(
            answeredAt - sentAt,
            (quickest.get(bucket) ?? Number.POSITIVE_INFINITY) + QUICKEST_DRIFT_MS,
          );
          quickest.set(bucket, usual);
          try {
            await settleToken(ns, bucket, spec, taken, answeredAt, usual);
          } catch {
            // Only precision is lost: the limiter keeps its assumed reach for the call.
          }
        },
        penalize: (untilMs) => penalizeBucket(ns, bucket, untilMs, spec),
      };
    },
  };
}

/** No limit at all: for tests and tools that talk to an emulator without the Durable Object. */
export const noLimiter: Limiter = {
  async acquire() {
    return { answered: async () => {}, penalize: async () => {} };
  },
};
