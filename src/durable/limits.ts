import { SyncError } from "../lib/errors.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import type { BucketSpec } from "./token-bucket.ts";

/** The APIs' published rate limits (Attio may lower its limits for a workspace: configurable). */
export interface ApiLimits {
  attioReadsPerSecond: number;
  attioWritesPerSecond: number;
  /** Salesforce has a daily allocation rather than a rate; spacing calls keeps bursts polite. */
  salesforceCallsPerSecond: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  attioReadsPerSecond: 100,
  attioWritesPerSecond: 25,
  salesforceCallsPerSecond: 20,
};

/**
 * The token bucket kept for a limit counted over a sliding one-second window: a burst of 4% of
 * the limit (at least one) and a refill of the rest, so no one-second window ever holds more than
 * the limit while steady work runs at 96% of it. Pure.
 *
 * @example windowBucket(25) // { ratePerSecond: 24, burst: 1 }
 */
export function windowBucket(limitPerSecond: number): BucketSpec {
  const burst = Math.max(1, Math.floor(limitPerSecond * 0.04));
  return { ratePerSecond: Math.max(0.1, limitPerSecond - burst), burst };
}

/** Every bucket for the given limits. */
export function bucketsFor(limits: ApiLimits) {
  return {
    "attio:read": windowBucket(limits.attioReadsPerSecond),
    "attio:write": windowBucket(limits.attioWritesPerSecond),
    salesforce: {
      ratePerSecond: limits.salesforceCallsPerSecond,
      burst: Math.max(1, limits.salesforceCallsPerSecond / 2),
    },
  } satisfies Record<string, BucketSpec>;
}

/** The buckets for the published limits. */
export const BUCKETS = bucketsFor(DEFAULT_LIMITS);
export type Buckets = typeof BUCKETS;
export type BucketName = keyof typeof BUCKETS;

/** Longest a call waits for a token inside one invocation before the message is retried later. */
const MAX_WAIT_MS = 5_000;

/**
 * Waits for a token of `bucket` from the shared RateLimiter. When the wait would be too long the
 * work is handed back to the queue as retryable instead of holding the consumer.
 */
export async function takeToken(
  ns: DurableObjectNamespace<RateLimiter>,
  bucket: BucketName,
  spec: BucketSpec = BUCKETS[bucket],
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const waitMs = await ns.getByName(bucket).reserve(spec, 1, MAX_WAIT_MS);
    if (waitMs > MAX_WAIT_MS) {
      throw new SyncError("rate_limited", `local rate limit for ${bucket}`, {
        retryAfterSeconds: Math.ceil(waitMs / 1000),
        detail: { bucket, waitMs },
      });
    }
    const due = Date.now() + waitMs;
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    // A caller that wakes well after its slot (a busy isolate) would send out of turn, next to the
    // callers of later slots, and a one-second window upstream could see more than the limit: it
    // leaves its slot unused and takes a new one instead.
    if (Date.now() - due <= LATE_TOLERANCE_MS || attempt >= MAX_LATE_RETRIES) return;
  }
}

/** How late after its slot a call may still go out. */
const LATE_TOLERANCE_MS = 25;
/** Slots given up for lateness before a call goes out anyway. */
const MAX_LATE_RETRIES = 3;

/** Records an upstream 429 so every caller of the bucket pauses until `untilMs` (epoch ms). */
export async function penalizeBucket(
  ns: DurableObjectNamespace<RateLimiter>,
  bucket: BucketName,
  untilMs: number,
  spec: BucketSpec = BUCKETS[bucket],
): Promise<void> {
  await ns.getByName(bucket).penalize(spec, untilMs);
}
