/** The org's daily API allocation as last reported (Sforce-Limit-Info). */
export interface ApiUsage {
  used: number;
  limit: number;
}

/**
 * Whether background work (catch-up, jobs) must pause: the org's other integrations keep
 * `reserve` (a fraction) of the daily allocation. Real-time changes still flow.
 */
export function budgetExhausted(usage: ApiUsage | undefined | null, reserve: number): boolean {
  if (!usage || usage.limit <= 0) return false;
  return usage.used >= usage.limit * (1 - reserve);
}
