import { DurableObject } from "cloudflare:workers";
import { type BucketSpec, type BucketState, blockBucket, fullBucket, reserveTokens, tokensAt } from "./token-bucket.ts";

export type { BucketSpec } from "./token-bucket.ts";

/**
 * Rate limiting of outbound calls, one instance per API and kind of call (e.g. `attio:write`), so
 * every consumer invocation shares one budget. `reserve` takes tokens now and tells the caller how
 * long to wait before using them, which spaces calls out instead of failing them.
 *
 * State lives in memory: an evicted limiter restarts with a full bucket, which at worst lets one
 * burst through; the API's own 429 then blocks the bucket through `penalize`.
 */
export class RateLimiter extends DurableObject<Env> {
  private state: BucketState | undefined;

  /** Reserves `cost` tokens; returns the milliseconds the caller must wait before its call. */
  reserve(spec: BucketSpec, cost = 1, maxWaitMs?: number): number {
    const now = Date.now();
    const { state, waitMs } = reserveTokens(this.state ?? fullBucket(now), spec, cost, now, maxWaitMs);
    this.state = state;
    return waitMs;
  }

  /** The bucket as it stands (for status): tokens left and until when a 429 blocks it. */
  inspect(spec: BucketSpec): { tokens: number; blockedUntil: number | null } {
    const now = Date.now();
    const state = this.state ?? fullBucket(now);
    return {
      tokens: Math.floor(tokensAt(state, spec, now)),
      blockedUntil: state.blockedUntil > now ? state.blockedUntil : null,
    };
  }

  /**
   * Blocks the bucket until `untilMs` (epoch ms), after an upstream 429 with Retry-After; callers
   * then resume one interval apart.
   */
  penalize(spec: BucketSpec, untilMs: number): void {
    this.state = blockBucket(this.state ?? fullBucket(Date.now()), spec, untilMs);
  }
}
