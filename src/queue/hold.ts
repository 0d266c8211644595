import { loadJob } from "../store/jobs.ts";
import { type ParkInput, parkChanges } from "../store/parked.ts";
import { retryDelaySeconds } from "../sync/backoff.ts";
import type { SyncDeps } from "../sync/deps.ts";
import { type SyncMessage, withoutValues } from "../sync/messages.ts";
import type { Mode } from "../sync/mode.ts";
import { recordKey } from "./settle.ts";

/**
 * While the deployment is not running (setup or paused), every change is held without calling
 * either CRM: parked with the mode as its reason, and acked. Resuming (or starting) sends the held
 * changes again (sync/parked.ts). Dry runs go on: they write nothing. Returns the messages to
 * handle now.
 *
 * One row per record, so a burst of edits of one record is delivered once, and a Salesforce event
 * is held without its values: the record is read again when delivered, since a later event that
 * replaces it may list other fields than the one before (held by its values alone, the earlier
 * edit could be settled as an echo and lost).
 */
export async function holdUnlessRunning<T extends { raw: Message<unknown>; message: SyncMessage }>(
  deps: SyncDeps,
  mode: Exclude<Mode, "running">,
  parsed: readonly T[],
): Promise<T[]> {
  const now: T[] = [];
  for (const item of parsed) {
    const { raw, message } = item;
    try {
      const rows = await holdingRows(deps, message, mode);
      if (rows === "handle") {
        now.push(item);
        continue;
      }
      if (rows.length > 0) await parkChanges(deps.db, rows);
      raw.ack();
    } catch (thrown) {
      deps.log.warn("could not hold a change: delivered again", { error: String(thrown) });
      raw.retry({ delaySeconds: retryDelaySeconds(raw.attempts, undefined) });
    }
  }
  if (parsed.length > now.length) deps.log.info("changes held", { mode, held: parsed.length - now.length });
  return now;
}

/** The rows that hold a message, or `handle` when it runs now (a dry run). */
async function holdingRows(deps: SyncDeps, message: SyncMessage, mode: Mode): Promise<ParkInput[] | "handle"> {
  const errorMessage =
    mode === "paused" ? "held: the deployment is paused" : "held: the deployment is not started (setup)";
  const row = (key: string, kept: SyncMessage): ParkInput => ({
    key,
    queue: "jobId" in kept && kept.jobId ? "jobs" : "sync",
    message: kept,
    reason: mode,
    errorMessage,
  });
  switch (message.kind) {
    case "parked.drain":
      // Resuming drains itself; a drain now would only hold the same changes again.
      return [];
    case "job.page": {
      const job = await loadJob(deps.db, message.jobId);
      if (!job || job.params.dry_run) return "handle";
      // The job waits at this page; one page of a job travels at a time.
      return [{ ...row(recordKey(message), message), queue: "jobs" }];
    }
    case "catchup.run":
      return [row(recordKey(message), message)];
    case "records.sync":
      if (message.dryRun) return "handle";
      return message.recordIds.map((id) =>
        row(`${message.side}:${message.mapping}:${id}`, { ...message, recordIds: [id], attempt: 1 }),
      );
    case "attio.record": {
      if (message.dryRun) return "handle";
      // A merge keeps a row of its own: a later edit of the surviving record must not replace it.
      const merge = message.eventType === "record.merged" ? `:merged:${message.duplicateRecordId ?? ""}` : "";
      return [row(`${recordKey(message)}${merge}`, message)];
    }
    case "salesforce.change": {
      if (message.dryRun) return "handle";
      const { header } = message;
      const ids = header.recordIds;
      if (header.changeType === "GAP_OVERFLOW" || ids.some((id) => id.includes("*"))) {
        return [row(recordKey(message), message)];
      }
      return ids.map((id) => {
        const one = { ...withoutValues(message), header: { ...header, recordIds: [id] } };
        return row(recordKey(one), one);
      });
    }
  }
}
