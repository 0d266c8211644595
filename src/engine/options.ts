import type { AttioRecord } from "../attio/record-schema.ts";
import type { UserLookup } from "../mapping/transforms.ts";
import type { DeletePolicy } from "../plan/decision.ts";
import type { BreakerLimits } from "../plan/mass-update.ts";
import type { Strategy, SyncDirection } from "../plan/plan-fields.ts";

/**
 * How one engine run behaves. The last four are the performance short-cuts that come from outside
 * the engine, each through this one option (docs/ARCHITECTURE.md lists them with their gains).
 */
export interface EngineOptions {
  deletePolicy: DeletePolicy;
  /** Decide everything, execute nothing (no CRM write, no D1 row): the outcome carries the plan. */
  dryRun?: boolean;
  /** Option/status titles of this mapping's Attio object, per attribute (from the schema layer). */
  attioTitles?: Readonly<Record<string, readonly string[]>> | undefined;
  strategy: Strategy;
  direction: SyncDirection;
  /** What trips the mass-update breaker (config.toml `[breaker]`); unset: it never trips. */
  massUpdates?: BreakerLimits | undefined;
  /**
   * The records of a hold a person decided (engine/breaker.ts): `approve` runs them with the
   * breaker bypassed, `reject` re-bases their updates and writes nothing.
   */
  release?: { hold: string; decision: "approve" | "reject" } | undefined;
  /** Records a reference waits on, and asks for its parent to be synced (sync/deferred.ts). */
  defer(
    side: "attio" | "salesforce",
    record: { object: string; id: string },
    target: { object: string; id: string },
  ): Promise<void>;
  /** Asks for a record to be synced (the master of a Salesforce merge). */
  requestSync(side: "attio" | "salesforce", object: string, recordId: string): Promise<void>;
  /** Pairs were linked (created or matched): records waiting on either side can now be completed. */
  onLinked(pairs: readonly { attioId: string; sfId: string }[]): Promise<void>;
  /**
   * The owner directory (sync/directory.ts), loaded only for a mapping with an owner field. It
   * throws when either API cannot answer, and the batch is retried: an owner is never guessed.
   */
  users?: (() => Promise<UserLookup>) | undefined;
  /**
   * Milliseconds a run waits for a record another run holds before leaving it to a retry: the live
   * fast path's runs (queue/inline.ts) wait, since the other run usually ends within a second and a
   * queued retry waits as long as that run's lease may last. Used by run.ts only.
   */
  leaseWaitMs?: number | undefined;
  /**
   * Short-cut: a job's match index of this mapping's Salesforce object (jobs/jobs.ts): Salesforce ids
   * under the given match keys, and when the index began (records others changed since are read as
   * well). Used by match.ts only.
   */
  matchIndex?: { since: string; lookup(keys: readonly string[]): Promise<string[]> } | undefined;
  /**
   * Short-cut: Attio records a job page listed moments ago (jobs/listed.ts); they stand in for
   * reading those records again while the records have no counterpart. Used by read.ts only.
   */
  listed?: ReadonlyMap<string, AttioRecord> | undefined;
  /**
   * Awaited once the records are leased and read, before deciding and writing: the next slice's
   * reads overlap this one's writes (queue/slices.ts), and a pause stops the run before it writes
   * (it throws `paused`, sync/mode.ts). Used by run.ts only.
   */
  beforeWriting?: (() => Promise<void>) | undefined;
}
