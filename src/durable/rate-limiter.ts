import { DurableObject } from "cloudflare:workers";
import type { LimitSpec } from "./limit-spec.ts";
import {
  blockWindow,
  emptyWindow,
  reserveSlot,
  roomAt,
  settleSlot,
  slotStillClear,
  type WindowState,
} from "./sliding-window.ts";
import { type BucketState, blockBucket, fullBucket, reserveTokens, tokensAt } from "./token-bucket.ts";

/** A caller's place: how long to wait before calling, and the slot (epoch ms) it was given. */
export interface Reservation {
  waitMs: number;
  slot: number;
}

/**
 * Rate limiting of outbound calls, one instance per API and kind of call (e.g. `attio:write`), so
 * every consumer invocation shares one budget. `take` hands out a slot now and tells the caller how
 * long to wait before using it, which spaces calls out instead of failing them.
 *
 * State lives in memory: an evicted limiter restarts empty, which at worst lets one burst through;
 * the API's own 429 then blocks it through `penalize`.
 */
export class RateLimiter extends DurableObject<Env> {
  private bucket: BucketState | undefined;
  private window: WindowState | undefined;
  /** Calls reserved since the cron last read them (`takeCallCount`), for the console's budget chart. */
  private calls = 0;

  /**
   * Reserves one call. `unused` is a slot this caller was given before and did not use (a window
   * forgets it; a bucket has already refilled it).
   */
  take(spec: LimitSpec, maxWaitMs?: number, unused?: number): Reservation {
    const reservation = this.reserve(spec, maxWaitMs, unused);
    // A slot given up for a later one (`unused`) is the same call; a refused reservation is none.
    if (unused === undefined && (maxWaitMs === undefined || reservation.waitMs <= maxWaitMs)) this.calls += 1;
    return reservation;
  }

  /**
   * The calls reserved since the last read, and the count starts again: read by the cron only, every
   * run, so each sample is one run's calls. Kept in memory like the rest: an evicted limiter loses
   * the calls since the last read (the sample then reads low).
   */
  takeCallCount(): number {
    const calls = this.calls;
    this.calls = 0;
    return calls;
  }

  private reserve(spec: LimitSpec, maxWaitMs?: number, unused?: number): Reservation {
    const now = Date.now();
    switch (spec.kind) {
      case "bucket": {
        const { state, waitMs } = reserveTokens(this.bucket ?? fullBucket(now), spec, 1, now, maxWaitMs);
        this.bucket = state;
        return { waitMs, slot: now + waitMs };
      }
      case "window": {
        const { state, waitMs, slot } = reserveSlot(this.window ?? emptyWindow(), spec, now, maxWaitMs, unused);
        this.window = state;
        return { waitMs, slot };
      }
      default:
        return unknownSpec(spec);
    }
  }

  /**
   * Reserves one call as `take` does, and answers when its slot is due instead of at once: a
   * window's slot is then checked to be still clear (see `stillClear`) and, when a call before it
   * was reported late meanwhile, given up for a later one (at most MAX_RECHECKS times). The caller
   * sends on the answer: one round trip to the limiter per call instead of `take`, a timer in the
   * caller and `stillClear`. A reservation whose wait would exceed `maxWaitMs` is answered at once
   * with that wait, and not kept (as `take`).
   */
  async takeWhenDue(spec: LimitSpec, maxWaitMs: number, unused?: number): Promise<Reservation> {
    let reservation = this.take(spec, maxWaitMs, unused);
    for (let recheck = 0; reservation.waitMs <= maxWaitMs; recheck++) {
      const wait = reservation.slot - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (recheck >= MAX_RECHECKS || this.stillClear(spec, reservation.slot))
        return { waitMs: 0, slot: reservation.slot };
      reservation = this.take(spec, maxWaitMs, reservation.slot);
    }
    return reservation;
  }

  /**
   * A window's call of `slot` may have reached the API as late as `end` (epoch ms): it is counted
   * until then (see `settleToken`). Buckets do not track single calls.
   */
  settle(spec: LimitSpec, slot: number, end: number): void {
    if (spec.kind === "window" && this.window) this.window = settleSlot(this.window, slot, end);
  }

  /**
   * Whether a window's slot handed out earlier may still be used (see `slotStillClear`). A bucket's
   * slots always may: it does not track single calls.
   */
  stillClear(spec: LimitSpec, slot: number): boolean {
    return spec.kind !== "window" || !this.window || slotStillClear(this.window, spec, slot);
  }

  /** The limiter as it stands (for status): calls available now and until when a 429 blocks it. */
  inspect(spec: LimitSpec): { tokens: number; blockedUntil: number | null } {
    const now = Date.now();
    const [tokens, blockedUntil] = this.standing(spec, now);
    return { tokens: Math.floor(tokens), blockedUntil: blockedUntil > now ? blockedUntil : null };
  }

  /**
   * Blocks the limiter until `untilMs` (epoch ms), after an upstream 429 with Retry-After; callers
   * then resume one interval apart.
   */
  penalize(spec: LimitSpec, untilMs: number): void {
    switch (spec.kind) {
      case "bucket":
        this.bucket = blockBucket(this.bucket ?? fullBucket(Date.now()), spec, untilMs);
        return;
      case "window":
        this.window = blockWindow(this.window ?? emptyWindow(), spec, untilMs);
        return;
      default:
        unknownSpec(spec);
    }
  }

  private standing(spec: LimitSpec, now: number): [tokens: number, blockedUntil: number] {
    switch (spec.kind) {
      case "bucket": {
        const state = this.bucket ?? fullBucket(now);
        return [tokensAt(state, spec, now), state.blockedUntil];
      }
      case "window": {
        const state = this.window ?? emptyWindow();
        return [roomAt(state, spec, now), state.blockedUntil];
      }
      default:
        return unknownSpec(spec);
    }
  }
}

/** Slots `takeWhenDue` gives up for a later one before answering with the last anyway. */
const MAX_RECHECKS = 3;

function unknownSpec(spec: never): never {
  throw new Error(`unknown rate limit spec ${JSON.stringify(spec)}`);
}
