import { SyncError } from "../lib/errors.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import type { WindowSpec } from "./sliding-window.ts";
import type { BucketSpec } from "./token-bucket.ts";

/** How a RateLimiter spaces calls: a token bucket, or a sliding window for per-second limits. */
export type LimitSpec = BucketSpec | WindowSpec;

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
 * The limiter kept for a limit counted over a sliding one-second window: the whole limit, in a
 * window longer than the API's second by the lateness a call may still go out with
 * (`LATE_TOLERANCE_MS`) and a margin for what happens after it leaves (the isolate yielding, the
 * network, the API's clock). Any second upstream then holds at most the limit; steady work runs at
 * 97% of it (25 per 1,030 ms), and a window left part-empty by a pause is filled afterwards. Pure.
 *
 * @example windowFor(25) // { kind: "window", limit: 25, windowMs: 1030 }
 */
export function windowFor(limitPerSecond: number): WindowSpec {
  return {
    kind: "window",
    limit: Math.max(1, Math.floor(limitPerSecond)),
    windowMs: 1000 + LATE_TOLERANCE_MS + SEND_MARGIN_MS,
  };
}

/** How late after its slot a call may still go out; a later one takes a new slot. */
const LATE_TOLERANCE_MS = 10;
/** Room in each window for delays after the call left the limiter's hands. */
const SEND_MARGIN_MS = 20;

/** Every bucket for the given limits. */
export function bucketsFor(limits: ApiLimits) {
  return {
    "attio:read": windowFor(limits.attioReadsPerSecond),
    "attio:write": windowFor(limits.attioWritesPerSecond),
    salesforce: {
      kind: "bucket",
      ratePerSecond: limits.salesforceCallsPerSecond,
      burst: Math.max(1, limits.salesforceCallsPerSecond / 2),
    },
  } satisfies Record<string, LimitSpec>;
}

/**
 * Calls per second a limiter allows to steady work (a window's limit spread over its length).
 *
 * @example steadyRate(windowFor(25)) // 24.27
 */
export function steadyRate(spec: LimitSpec): number {
  switch (spec.kind) {
    case "bucket":
      return spec.ratePerSecond;
    case "window":
      return Math.round((spec.limit * 100_000) / spec.windowMs) / 100;
  }
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
  spec: LimitSpec = BUCKETS[bucket],
): Promise<void> {
  let unused: number | undefined;
  for (let attempt = 0; ; attempt++) {
    const { waitMs, slot } = await ns.getByName(bucket).take(spec, MAX_WAIT_MS, unused);
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
    // hands its slot back and takes a new one instead.
    if (Date.now() - due <= LATE_TOLERANCE_MS || attempt >= MAX_LATE_RETRIES) return;
    unused = slot;
  }
}

/** Slots given up for lateness before a call goes out anyway. */
const MAX_LATE_RETRIES = 3;

/** Records an upstream 429 so every caller of the bucket pauses until `untilMs` (epoch ms). */
export async function penalizeBucket(
  ns: DurableObjectNamespace<RateLimiter>,
  bucket: BucketName,
  untilMs: number,
  spec: LimitSpec = BUCKETS[bucket],
): Promise<void> {
  await ns.getByName(bucket).penalize(spec, untilMs);
}
