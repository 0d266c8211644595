import { acquireLeases, releaseLeases } from "../durable/record-lock.ts";
import type { SyncDeps } from "../sync/deps.ts";

/**
 * Leases are short and renewed while their batch works: a batch of 2,000 records writing to Attio
 * at 24/s keeps its leases for the minutes it needs, while the leases of a consumer that died
 * (a restart, an evicted isolate) free their records within LEASE_MS.
 */
const LEASE_MS = 20_000;
const LEASE_RENEW_MS = 5_000;

/**
 * The leases one engine run holds: taken in steps, renewed while it works, released at the end.
 *
 * Fencing: a lease can be lost, either taken by another holder after it expired (a renewal answers
 * it busy) or unconfirmed for LEASE_MS because renewals failed (it may have expired and been taken).
 * A lost lease stays lost for the run: its records are written no more (`holds` is false) and are
 * retried, so two writers never write one pair at once.
 */
export class Leases {
  private readonly holder = crypto.randomUUID();
  private readonly held = new Set<string>();
  private readonly lost = new Set<string>();
  /** When every held lease was last confirmed ours (taken or renewed). */
  private confirmedAt = 0;
  private renewal: ReturnType<typeof setInterval> | undefined;
  /** The renewal in flight, if any: release waits for it (see release). */
  private renewing: Promise<void> | undefined;

  constructor(private readonly deps: SyncDeps) {}

  /** Leases the names not held yet; answers the busy ones with their wait in ms. */
  async take(names: readonly string[]): Promise<Map<string, number>> {
    const fresh = [...new Set(names)].filter((name) => !this.held.has(name));
    if (fresh.length === 0) return new Map();
    const started = Date.now();
    const result = await acquireLeases(this.deps.locks, this.holder, fresh, LEASE_MS);
    if (this.held.size === 0) this.confirmedAt = started;
    for (const name of result.acquired) this.held.add(name);
    if (this.held.size > 0 && !this.renewal) {
      this.renewal = setInterval(() => {
        this.renewing = this.renew();
      }, LEASE_RENEW_MS);
    }
    return new Map(result.busy.map((b) => [b.name, b.retryInMs]));
  }

  /** Whether the lease on `name` was taken by this run and is still its own. */
  holds(name: string): boolean {
    return !this.lost.has(name) && this.held.has(name);
  }

  /**
   * Renews every lease still held, now: the fence before writing. Re-entrant (the holder's own
   * leases are extended); a lease another holder has taken meanwhile answers busy and is lost.
   */
  async renew(): Promise<void> {
    const names = [...this.held].filter((name) => !this.lost.has(name));
    if (names.length === 0) return;
    const started = Date.now();
    try {
      const result = await acquireLeases(this.deps.locks, this.holder, names, LEASE_MS);
      for (const busy of result.busy) this.lost.add(busy.name);
      this.confirmedAt = started;
      if (result.busy.length > 0) {
        this.deps.log.warn("leases lost to another consumer: their records are not written and are retried", {
          leases: result.busy.map((b) => b.name),
        });
      }
    } catch (err) {
      // Not renewed: once LEASE_MS passed since the last confirmation, each lease may have expired
      // and been taken, so none is trusted any more.
      const unconfirmedMs = Date.now() - this.confirmedAt;
      if (unconfirmedMs >= LEASE_MS) for (const name of names) this.lost.add(name);
      this.deps.log.warn("lease renewal failed", {
        error: String(err),
        unconfirmed_ms: unconfirmedMs,
        leases_lost: unconfirmedMs >= LEASE_MS ? names.length : 0,
      });
    }
  }

  /**
   * Gives every lease back. A renewal still in flight is waited for first: answered after the
   * release, it would take the leases again for LEASE_MS, and the records would wait that long.
   */
  async release(): Promise<void> {
    if (this.renewal) clearInterval(this.renewal);
    await this.renewing;
    if (this.held.size > 0) await releaseLeases(this.deps.locks, this.holder, [...this.held]);
  }
}
