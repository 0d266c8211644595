import type { SyncError } from "../lib/errors.ts";

/**
 * Deliveries of a message on the live and job queues: 1 + `max_retries` (8, wrangler.toml). On the
 * last one a change that still asks for a retry is recorded as a failure with its own error, rather
 * than left to the dead-letter queue, which could only say "retries exhausted".
 */
export const QUEUE_DELIVERIES = 9;

/** The longest delay Queues accepts for a retried message (12 hours). */
export const MAX_DELAY_SECONDS = 43_200;

/**
 * Seconds before a retryable failure is tried again: what the API asked for (Retry-After) when it
 * said, otherwise exponential from 5 s by attempt (5, 10, 20, 40, ...), capped at 15 minutes.
 * Pure and deterministic; `jitter` in [0, 1) spreads retries of messages that failed together.
 */
export function retryDelaySeconds(attempts: number, retryAfterSeconds: number | undefined, jitter = 0): number {
  if (retryAfterSeconds !== undefined) return clamp(Math.ceil(retryAfterSeconds + jitter * 2));
  const exponential = 5 * 2 ** Math.max(0, attempts - 1);
  return clamp(Math.ceil(Math.min(exponential, 900) * (1 + jitter * 0.2)));
}

function clamp(seconds: number): number {
  return Math.min(MAX_DELAY_SECONDS, Math.max(1, seconds));
}

/**
 * Seconds before a message whose records asked for these retries is tried again: the longest any
 * of them needs. A busy record (another writer holds its lease, a merge Attio is applying) waits at
 * least the exponential backoff as well: its Retry-After alone (a few seconds) spent a message's
 * deliveries in about 3 minutes while a job held the record.
 */
export function retryDelayFor(errors: readonly SyncError[], attempts: number, jitter = 0): number {
  const waits = errors.map((error) => {
    if (error.code === "record_busy") {
      return Math.max(error.retryAfterSeconds ?? 0, retryDelaySeconds(attempts, undefined, jitter));
    }
    return retryDelaySeconds(attempts, error.retryAfterSeconds, jitter);
  });
  return Math.max(1, ...waits);
}

/** Deliveries of a change meeting an outage before it is parked rather than retried (about 35 s of blips). */
export const PARK_AFTER_DELIVERIES = 4;

/**
 * Whether a retry is an API that is out, to be parked until it answers instead of spending the
 * change's retries: Salesforce's daily request limit at once (nothing but time clears it), an
 * outage (5xx, unreachable, timeouts) once it outlived a few quick retries; a pause met just before
 * writing (sync/mode.ts) at once. Null when the change is
 * retried as usual (a 429, a busy record, an internal error).
 */
export function parkReason(
  error: SyncError,
  attempts: number,
  deliveries = QUEUE_DELIVERIES,
): "upstream_unavailable" | "daily_limit" | "paused" | null {
  // The deployment was paused while the batch read: the change is held until it resumes.
  if (error.code === "paused") return "paused";
  if (error.code === "rate_limited" && error.detail["daily_limit"] === true) return "daily_limit";
  // Parked by the last delivery at the latest, however few the queue gives (QUEUE_MAX_RETRIES).
  const parkAt = Math.min(PARK_AFTER_DELIVERIES, deliveries);
  if (error.code === "upstream_unavailable" && attempts >= parkAt) return "upstream_unavailable";
  return null;
}

/**
 * Seconds before a dead letter that could not be recorded (D1 down) is tried again: from a minute,
 * doubling to an hour. With the dead-letter consumer's 100 deliveries (wrangler.toml) that spans
 * about four days, the queue's retention: a dead letter outlives any D1 outage shorter than that.
 */
export function deadLetterDelaySeconds(attempts: number): number {
  return Math.min(3600, 60 * 2 ** Math.max(0, Math.min(attempts - 1, 10)));
}
