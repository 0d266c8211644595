export type RequestKind = "read" | "write";

/**
 * Attio's published limits: 100 reads and 25 writes per second. A sliding one-second window per
 * kind; a refused request is not counted, as Attio does not process it.
 */
export class RateLimiter {
  private stamps: Record<RequestKind, number[]> = { read: [], write: [] };

  constructor(
    public limits: Record<RequestKind, number> = { read: 100, write: 25 },
    private now: () => number = Date.now,
  ) {}

  /**
   * `null` when the request may proceed, else the time from which a retry will be accepted.
   * `commit: false` only asks, for a request that another window may still refuse.
   */
  take(kind: RequestKind, commit = true): Date | null {
    const now = this.now();
    const window = this.stamps[kind];
    while (window.length > 0 && (window[0] ?? 0) <= now - 1000) window.shift();
    if (window.length >= this.limits[kind]) {
      const freeAt = (window[0] ?? now) + 1000;
      // Retry-After is an HTTP date with one-second resolution: round up so the retry is not early.
      return new Date(Math.ceil(freeAt / 1000) * 1000);
    }
    if (commit) window.push(now);
    return null;
  }

  reset(): void {
    this.stamps = { read: [], write: [] };
  }
}

/** `Tue, 23 May 2023 14:42:01 GMT`, the form of Attio's Retry-After header. */
export function httpDate(date: Date): string {
  return date.toUTCString();
}
