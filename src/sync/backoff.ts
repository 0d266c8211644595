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
