import { SyncError } from "../lib/errors.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import type { BucketSpec } from "./token-bucket.ts";

/** The buckets we keep, each well inside the API's published limit. */
export const BUCKETS = {
  /** Attio: 100 reads/s across the workspace; we take at most 80 so other integrations have room. */
  "attio:read": { ratePerSecond: 80, burst: 20 },
  /** Attio: 25 writes/s; at most 20. */
  "attio:write": { ratePerSecond: 20, burst: 5 },
  /** Salesforce has a daily allocation rather than a rate; spacing calls keeps bursts polite. */
  salesforce: { ratePerSecond: 20, burst: 10 },
} as const satisfies Record<string, BucketSpec>;
export type BucketName = keyof typeof BUCKETS;

/** Longest a call waits for a token inside one invocation before the message is retried later. */
const MAX_WAIT_MS = 5_000;

/**
 * Waits for a token of `bucket` from the shared RateLimiter. When the wait would be too long the
 * work is handed back to the queue as retryable instead of holding the consumer.
 */
export async function takeToken(ns: DurableObjectNamespace<RateLimiter>, bucket: BucketName): Promise<void> {
  const waitMs = await ns.getByName(bucket).reserve(BUCKETS[bucket], 1);
  if (waitMs > MAX_WAIT_MS) {
    throw new SyncError("rate_limited", `local rate limit for ${bucket}`, {
      retryAfterSeconds: Math.ceil(waitMs / 1000),
      detail: { bucket, waitMs },
    });
  }
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
}

/** Records an upstream 429 so every caller of the bucket pauses until Retry-After. */
export async function penalizeBucket(
  ns: DurableObjectNamespace<RateLimiter>,
  bucket: BucketName,
  retryAfterSeconds: number,
): Promise<void> {
  await ns.getByName(bucket).penalize(Date.now() + retryAfterSeconds * 1000);
}
