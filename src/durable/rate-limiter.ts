import { DurableObject } from "cloudflare:workers";

/** A token bucket: `ratePerSecond` tokens refill per second, up to `burst`. */
export interface BucketSpec {
  ratePerSecond: number;
  burst: number;
}

interface BucketState {
  tokens: number;
  updatedAt: number;
  /** No tokens are handed out before this time (set after the API answered 429). */
  blockedUntil: number;
}

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
  reserve(spec: BucketSpec, cost = 1): number {
    const now = Date.now();
    const state = this.refill(spec, now);
    state.tokens -= cost;
    const deficitMs = state.tokens >= 0 ? 0 : (-state.tokens / spec.ratePerSecond) * 1000;
    return Math.ceil(Math.max(deficitMs, state.blockedUntil - now));
  }

  /** Blocks the bucket until `untilMs` (epoch ms), after an upstream 429 with Retry-After. */
  penalize(untilMs: number): void {
    const state = this.state ?? { tokens: 0, updatedAt: Date.now(), blockedUntil: 0 };
    state.blockedUntil = Math.max(state.blockedUntil, untilMs);
    state.tokens = Math.min(state.tokens, 0);
    this.state = state;
  }

  private refill(spec: BucketSpec, now: number): BucketState {
    const state = this.state ?? { tokens: spec.burst, updatedAt: now, blockedUntil: 0 };
    const elapsed = Math.max(0, now - state.updatedAt) / 1000;
    state.tokens = Math.min(spec.burst, state.tokens + elapsed * spec.ratePerSecond);
    state.updatedAt = now;
    this.state = state;
    return state;
  }
}
