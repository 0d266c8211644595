import { acquireLeases, releaseLeases } from "../durable/record-lock.ts";
import type { SyncDeps } from "../sync/deps.ts";

/**
 * Leases are short and renewed while their batch works: a batch of 2,000 records writing to Attio
 * at 24/s keeps its leases for the minutes it needs, while the leases of a consumer that died
 * (a restart, an evicted isolate) free their records within LEASE_MS.
 */
const LEASE_MS = 20_000;
const LEASE_RENEW_MS = 5_000;

/** The leases one engine run holds: taken in steps, renewed while it works, released at the end. */
export class Leases {
  private readonly holder = crypto.randomUUID();
  private readonly held: string[] = [];
  private renewal: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly deps: SyncDeps) {}

  /** Leases the names not held yet; answers the busy ones with their wait in ms. */
  async take(names: readonly string[]): Promise<Map<string, number>> {
    const have = new Set(this.held);
    const fresh = [...new Set(names)].filter((name) => !have.has(name));
    if (fresh.length === 0) return new Map();
    const result = await acquireLeases(this.deps.locks, this.holder, fresh, LEASE_MS);
    this.held.push(...result.acquired);
    if (this.held.length > 0 && !this.renewal) {
      this.renewal = setInterval(() => {
        // Re-entrant: the holder's own leases are extended. A failed renewal is retried next tick.
        acquireLeases(this.deps.locks, this.holder, this.held, LEASE_MS).catch(() => {});
      }, LEASE_RENEW_MS);
    }
    return new Map(result.busy.map((b) => [b.name, b.retryInMs]));
  }

  async release(): Promise<void> {
    if (this.renewal) clearInterval(this.renewal);
    if (this.held.length > 0) await releaseLeases(this.deps.locks, this.holder, this.held);
  }
}
