import { DurableObject } from "cloudflare:workers";

/** What the lock stores under the storage key `lease`. */
interface Lease {
  holder: string;
  expiresAt: number;
}

export type AcquireResult = { acquired: true } | { acquired: false; heldBy: string; retryInMs: number };

/**
 * Serializes planning and writing for one record pair (one instance per pair, named
 * `pair:<mapping id>`, or `<side>:<mapping>:<record id>` before the record is linked). A Durable Object's input gate opens while it awaits outbound I/O, so holding
 * the object across an API call would not serialize anything; instead callers take a lease, do
 * their reads and writes outside, and release it. A lease expires on its own so a crashed consumer
 * cannot block a record forever.
 */
export class RecordLock extends DurableObject<Env> {
  /** Takes the lease for `holder` unless another holder has an unexpired one. Re-entrant. */
  async acquire(holder: string, ttlMs: number): Promise<AcquireResult> {
    const now = Date.now();
    const lease = await this.ctx.storage.get<Lease>("lease");
    if (lease && lease.holder !== holder && lease.expiresAt > now) {
      return { acquired: false, heldBy: lease.holder, retryInMs: lease.expiresAt - now };
    }
    await this.ctx.storage.put<Lease>("lease", { holder, expiresAt: now + ttlMs });
    return { acquired: true };
  }

  /** Gives the lease back; a holder that lost its lease (expired, taken over) changes nothing. */
  async release(holder: string): Promise<boolean> {
    const lease = await this.ctx.storage.get<Lease>("lease");
    if (!lease || lease.holder !== holder) return false;
    await this.ctx.storage.delete("lease");
    return true;
  }
}
