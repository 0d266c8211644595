/** What the batcher needs to know about one buffered event. */
export interface Sized {
  /** Bytes of the event's JSON, measured once when it was buffered. */
  bytes: number;
}

export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
}

/**
 * How many events from the head of the buffer go into the next POST: at most `maxEvents`, and no
 * more than `maxBytes` of event JSON, except that a single event larger than `maxBytes` still goes
 * alone (it cannot be split, and holding it back would stop the stream behind it).
 */
export function nextBatchSize(buffer: readonly Sized[], limits: BatchLimits): number {
  let count = 0;
  let bytes = 0;
  for (const item of buffer) {
    if (count >= limits.maxEvents) break;
    if (count > 0 && bytes + item.bytes > limits.maxBytes) break;
    count++;
    bytes += item.bytes;
  }
  return count;
}

/**
 * Whether to send now or wait for more events: a full batch goes at once, a partial one once its
 * oldest event has waited `lingerMs`, and a pending catch-up request goes even with no events.
 */
export function batchIsDue(input: {
  buffered: number;
  oldestBufferedAt: number | undefined;
  now: number;
  maxEvents: number;
  lingerMs: number;
  catchupPending: boolean;
}): boolean {
  if (input.catchupPending) return true;
  if (input.buffered === 0) return false;
  if (input.buffered >= input.maxEvents) return true;
  return input.oldestBufferedAt !== undefined && input.now - input.oldestBufferedAt >= input.lingerMs;
}
