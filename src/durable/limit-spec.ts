import type { WindowSpec } from "./sliding-window.ts";
import type { BucketSpec } from "./token-bucket.ts";

/** How a RateLimiter spaces calls: a token bucket, or a sliding window for per-second limits. */
export type LimitSpec = BucketSpec | WindowSpec;
