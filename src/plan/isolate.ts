import type { SyncError } from "../lib/errors.ts";
import type { TouchOutcome } from "./outcome.ts";

/**
 * What becomes of a batch whose shared step failed: a read or a match query made once for all its
 * records, before anything was written. Pure.
 *
 * A permanent error there usually comes from one record's value (a match key Salesforce refuses in
 * a query, an id Attio cannot read), so the batch is run again in halves until the records that
 * fail are alone and fail on their own, while the others sync. A retryable error (an outage, a rate
 * limit) is not split: the whole batch is retried later. Nothing is split once a write may have
 * happened (running records again could write them twice), and the number of splits is bounded:
 * an error that every record meets (a field deleted from the org) stops splitting when the budget
 * is spent, and the records left fail with it.
 */
export type AfterBatchFailure =
  /** Run each half again on its own. */
  | { kind: "split" }
  /** Every record the batch had not settled gets this outcome. */
  | { kind: "settle_each"; outcome: TouchOutcome };

export function afterBatchFailure(
  error: SyncError,
  batch: { size: number; wrote: boolean; splitsLeft: number },
): AfterBatchFailure {
  if (!error.retryable && !batch.wrote && batch.size > 1 && batch.splitsLeft > 0) return { kind: "split" };
  return { kind: "settle_each", outcome: outcomeOfError(error) };
}

/** A failure as an outcome: retried if the error says it can pass, recorded as a failure if not. */
export function outcomeOfError(error: SyncError): TouchOutcome {
  return error.retryable ? { status: "retry", error } : { status: "failed", error };
}

/**
 * How many splits one batch may make: enough to isolate a couple of bad records among `size`
 * (each costs about log2(size) splits, every split two runs of the shared reads), never hundreds.
 *
 * @example splitBudget(100) // 16: one bad record among 100 takes 7
 */
export function splitBudget(size: number): number {
  return size <= 1 ? 0 : 2 * Math.ceil(Math.log2(size)) + 2;
}

/** The two halves a batch is run again in (the first one the larger). */
export function halves<T>(items: readonly T[]): [T[], T[]] {
  const middle = Math.ceil(items.length / 2);
  return [items.slice(0, middle), items.slice(middle)];
}
