import { DurableObject } from "cloudflare:workers";

export type AcquireResult = { acquired: true } | { acquired: false; heldBy: string; retryInMs: number };

/** What `acquireMany` answers: the names now held, and for each busy one when to try again. */
export interface AcquireManyResult {
  acquired: string[];
  busy: { name: string; heldBy: string; retryInMs: number }[];
}

/**
 * How many RecordLock instances share the leases. Each lease still belongs to one record pair
 * (`pair:<mapping id>`, or `<side>:<mapping>:<record id>` before the record is linked); sharding
 * only decides which instance keeps it, so a batch of 2,000 records costs at most this many calls
 * instead of one per record, and no instance sees all the traffic.
 */
export const LOCK_SHARDS = 8;

/**
 * The shard that keeps a lease name: FNV-1a of the name, modulo LOCK_SHARDS. Pure.
 *
 * @example lockShard("pair:42") // "shard:7" (with LOCK_SHARDS = 8)
 */
export function lockShard(name: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return `shard:${(hash >>> 0) % LOCK_SHARDS}`;
}

/** How often a RecordLock deletes its expired leases. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Serializes planning and writing per record pair with leases. A Durable Object's input gate opens
 * while it awaits outbound I/O, so holding the object across an API call would not serialize
 * anything; instead callers take leases, do their reads and writes outside, and release them. A
 * lease expires on its own so a crashed consumer cannot block a record forever.
 *
 * Leases live in the instance's SQLite table `leases (name, holder, expires_at)`. Every method
 * runs its statements synchronously, with no await in between, so each call is atomic.
 */
export class RecordLock extends DurableObject<Env> {
  /** When expired leases were last deleted (see acquireMany). */
  private swept = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL)",
    );
  }

  /**
   * Takes the leases on `names` for `holder`, except those another holder has unexpired.
   * Re-entrant: a holder's own lease is renewed.
   */
  acquireMany(holder: string, names: readonly string[], ttlMs: number): AcquireManyResult {
    const now = Date.now();
    const sql = this.ctx.storage.sql;
    // An expired lease is free (below) and overwritten when taken; the sweep only keeps the table
    // small, so it runs at most once per SWEEP_EVERY_MS instead of scanning the table every call.
    if (now - this.swept >= SWEEP_EVERY_MS) {
      sql.exec("DELETE FROM leases WHERE expires_at <= ?", now);
      this.swept = now;
    }
    const held = new Map<string, { holder: string; expiresAt: number }>();
    const rows = sql.exec<{ name: string; holder: string; expires_at: number }>(
      "SELECT name, holder, expires_at FROM leases WHERE name IN (SELECT value FROM json_each(?))",
      JSON.stringify(names),
    );
    for (const row of rows) held.set(row.name, { holder: row.holder, expiresAt: row.expires_at });
    const result: AcquireManyResult = { acquired: [], busy: [] };
    for (const name of new Set(names)) {
      const lease = held.get(name);
      if (lease && lease.holder !== holder && lease.expiresAt > now) {
        result.busy.push({ name, heldBy: lease.holder, retryInMs: lease.expiresAt - now });
      } else {
        result.acquired.push(name);
      }
    }
    sql.exec(
      `INSERT INTO leases (name, holder, expires_at) SELECT value, ?, ? FROM json_each(?) WHERE true
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at`,
      holder,
      now + ttlMs,
      JSON.stringify(result.acquired),
    );
    return result;
  }

  /** Gives back `holder`'s leases on `names`; a lease it lost (expired, taken over) is left alone. */
  releaseMany(holder: string, names: readonly string[]): number {
    const cursor = this.ctx.storage.sql.exec(
      "DELETE FROM leases WHERE holder = ? AND name IN (SELECT value FROM json_each(?))",
      holder,
      JSON.stringify(names),
    );
    return cursor.rowsWritten;
  }

  /** One lease (see acquireMany). */
  acquire(holder: string, name: string, ttlMs: number): AcquireResult {
    const [busy] = this.acquireMany(holder, [name], ttlMs).busy;
    return busy ? { acquired: false, heldBy: busy.heldBy, retryInMs: busy.retryInMs } : { acquired: true };
  }

  /** Gives one lease back; returns whether `holder` still had it. */
  release(holder: string, name: string): boolean {
    return this.releaseMany(holder, [name]) > 0;
  }
}

/** Leases on many names across the shards, one call per shard involved. */
export async function acquireLeases(
  ns: DurableObjectNamespace<RecordLock>,
  holder: string,
  names: readonly string[],
  ttlMs: number,
): Promise<AcquireManyResult> {
  const results = await Promise.all(
    [...byShard(names)].map(([shard, part]) => ns.getByName(shard).acquireMany(holder, part, ttlMs)),
  );
  return { acquired: results.flatMap((r) => r.acquired), busy: results.flatMap((r) => r.busy) };
}

/** Gives back leases taken with acquireLeases. */
export async function releaseLeases(
  ns: DurableObjectNamespace<RecordLock>,
  holder: string,
  names: readonly string[],
): Promise<void> {
  await Promise.all([...byShard(names)].map(([shard, part]) => ns.getByName(shard).releaseMany(holder, part)));
}

function byShard(names: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of names) {
    const shard = lockShard(name);
    const list = out.get(shard);
    if (list) list.push(name);
    else out.set(shard, [name]);
  }
  return out;
}
