import { SyncError } from "../lib/errors.ts";
import type { LimitSpec } from "./limit-spec.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { steadyWindowRate, type WindowSpec } from "./sliding-window.ts";

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
 * The limiter kept for a limit counted over a sliding one-second window: the whole limit in any
 * second, each call counted from its slot until `REACH_MS` later (or longer, when its caller saw it
 * take longer: `settleToken`). Steady work runs at 98% of the limit (25 per 1,020 ms), and a window
 * left part-empty by a pause is filled afterwards. Pure.
 *
 * @example windowFor(25) // { kind: "window", limit: 25, windowMs: 1000, reachMs: 20 }
 */
export function windowFor(limitPerSecond: number): WindowSpec {
  return { kind: "window", limit: Math.max(1, Math.floor(limitPerSecond)), windowMs: 1000, reachMs: REACH_MS };
}

/** How long after its slot a call is assumed to reach the API: its lateness and its way out. */
const REACH_MS = 20;
/** How late after its slot a call may still go out; a later one takes a new slot. */
const LATE_TOLERANCE_MS = 10;

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
 * @example steadyRate(windowFor(25)) // 24.51
 */
export function steadyRate(spec: LimitSpec): number {
  switch (spec.kind) {
    case "bucket":
      return spec.ratePerSecond;
    case "window":
      return Math.round(steadyWindowRate(spec) * 100) / 100;
  }
}

/** The buckets for the published limits. */
export const BUCKETS = bucketsFor(DEFAULT_LIMITS);
export type Buckets = typeof BUCKETS;
export type BucketName = keyof typeof BUCKETS;

/** Longest a call waits for a token inside one invocation before the message is retried later. */
const MAX_WAIT_MS = 5_000;

/** A slot taken from the shared limiter: `slot` on the limiter's clock, `due` on the caller's. */
export interface Taken {
  slot: number;
  due: number;
}

/**
 * Waits for a token of `bucket` from the shared RateLimiter, which answers when the slot is due
 * (`RateLimiter.takeWhenDue`). When the wait would be too long the work is handed back to the
 * queue as retryable instead of holding the consumer.
 */
export async function takeToken(
  ns: DurableObjectNamespace<RateLimiter>,
  bucket: BucketName,
  spec: LimitSpec = BUCKETS[bucket],
): Promise<Taken> {
  let unused: number | undefined;
  for (let attempt = 0; ; attempt++) {
    const asked = Date.now();
    const { waitMs, slot } = await ns.getByName(bucket).takeWhenDue(spec, MAX_WAIT_MS, unused);
    if (waitMs > MAX_WAIT_MS) {
      throw new SyncError("rate_limited", `local rate limit for ${bucket}`, {
        retryAfterSeconds: Math.ceil(waitMs / 1000),
        detail: { bucket, waitMs },
      });
    }
    const due = dueTime(slot, asked, Date.now());
    if (attempt >= MAX_LATE_RETRIES) return { slot, due };
    // A caller whose answer came well after its slot (a busy isolate) would send out of turn, next
    // to the callers of later slots, and a one-second window upstream could see more than the
    // limit: it hands its slot back and takes a new one instead.
    if (Date.now() - due > LATE_TOLERANCE_MS) {
      unused = slot;
      continue;
    }
    return { slot, due };
  }
}

/**
 * When a slot falls on this isolate's clock. The limiter's clock and ours agree within
 * milliseconds on Cloudflare, but its answer may reach a busy isolate tens of ms after it was
 * given: the slot itself is the due time, kept within what the request's round trip allows
 * (`earliest` from when it was asked, `latest` from when the answer came) in case they do not.
 * Pure.
 *
 * @example dueTime(1_000, 990, 1_040) // 1000: the answer came 40 ms after the slot was given
 */
export function dueTime(slot: number, earliest: number, latest: number): number {
  return Math.min(Math.max(slot, earliest), latest);
}

/** Slots given up (for lateness, or no longer clear) before a call goes out anyway. */
const MAX_LATE_RETRIES = 3;

/**
 * Tells a window limiter that the call of `taken` may have reached the API later than it assumed.
 * The limiter counts each call until `reachMs` after its slot; a call that went out late, or took
 * longer than the usual round trip (`usualRoundTripMs`: the isolate held the request, or the
 * network did), may have reached the API that much later still. Slots handed out after this keep
 * clear of it. Nothing to do for a bucket, or for a call within a few ms of the usual.
 */
export async function settleToken(
  ns: DurableObjectNamespace<RateLimiter>,
  bucket: BucketName,
  spec: LimitSpec,
  taken: Taken,
  answeredAt: number,
  usualRoundTripMs: number,
): Promise<void> {
  if (spec.kind !== "window") return;
  const beyondUsual = answeredAt - taken.due - usualRoundTripMs;
  if (beyondUsual <= spec.reachMs / 2) return;
  await ns.getByName(bucket).settle(spec, taken.slot, taken.slot + spec.reachMs + beyondUsual);
}

/** Records an upstream 429 so every caller of the bucket pauses until `untilMs` (epoch ms). */
export async function penalizeBucket(
  ns: DurableObjectNamespace<RateLimiter>,
  bucket: BucketName,
  untilMs: number,
  spec: LimitSpec = BUCKETS[bucket],
): Promise<void> {
  await ns.getByName(bucket).penalize(spec, untilMs);
}
