import { z } from "zod";
import { toSyncError } from "../lib/errors.ts";
import type { Db } from "../store/db.ts";
import {
  countParked,
  oldestParked,
  type ParkedRow,
  type ParkInput,
  parkChanges,
  parkedEvents,
  unpark,
} from "../store/parked.ts";
import type { SyncDeps } from "./deps.ts";
import { sendAll } from "./enqueue.ts";
import {
  drainMessage,
  type RecordsMessage,
  recordsMessages,
  type SalesforceChangeMessage,
  SalesforceChangeMessageSchema,
  type SyncMessage,
  SyncMessageSchema,
} from "./messages.ts";

/**
 * Changes parked while an API is out (docs/OPERATIONS.md "Outages"): they are acked off the queue
 * without spending their retries, and sent again once both APIs answer, by a drain message the
 * Worker sends itself every minute while any wait, and by each cron run.
 */

/** KV key: when the next drain message is due (ISO), so parking sends one chain of them, not one each. */
export const DRAIN_DUE_KEY = "parked:drain-due";
/** Seconds between two drains while changes wait: they are sent again within a minute of recovery. */
export const DRAIN_INTERVAL_SECONDS = 60;
/** Parked changes sent again per drain; the rest wait for the next one. */
const DRAIN_LIMIT = 10_000;
const DRAIN_PAGE = 500;

/** Parks changes and makes sure a drain will come. */
export async function park(deps: SyncDeps, env: Env, rows: readonly ParkInput[], now: Date): Promise<void> {
  if (rows.length === 0) return;
  try {
    await parkChanges(deps.db, await readWhatTheyReplace(deps.db, rows));
  } catch (thrown) {
    // D1 is out too. Parking is what a change's last delivery does, so a throw here would hand it to
    // the dead-letter queue (which cannot record it either): it goes back to its queue instead, as
    // a new message, to be tried again once the drain interval has passed.
    deps.log.warn("D1 did not take the parked changes: sent to the queue again", {
      changes: rows.length,
      error: toSyncError(thrown).message,
      delay_seconds: DRAIN_INTERVAL_SECONDS,
    });
    await sendAgain(env, rows);
    return;
  }
  await scheduleDrain(env, now);
}

/** Parked rows' messages back on their queues, as new messages, after the drain interval. */
export async function sendAgain(
  env: Env,
  rows: readonly { queue: ParkInput["queue"]; message: unknown }[],
): Promise<void> {
  for (const queue of ["sync", "jobs"] as const) {
    const messages = rows
      .filter((row) => row.queue === queue)
      .flatMap((row) => {
        const parsed = SyncMessageSchema.safeParse(row.message);
        return parsed.success ? [parsed.data] : [];
      });
    if (messages.length > 0) {
      await sendAll(queue === "jobs" ? env.JOB_QUEUE : env.SYNC_QUEUE, messages, DRAIN_INTERVAL_SECONDS);
    }
  }
}

/**
 * A change event parked where another event about the same records waits takes its place, and
 * stands for both: it loses its values, so that it is read. Kept, they could settle it as the echo
 * of our own write (plan/event-values.ts) while the event it replaced was someone's edit.
 */
async function readWhatTheyReplace(db: Db, rows: readonly ParkInput[]): Promise<ParkInput[]> {
  const events = rows.filter((row) => changeWithValues(row.message));
  if (events.length === 0) return [...rows];
  const waiting = await parkedEvents(
    db,
    events.map((row) => row.key),
  );
  return rows.map((row) => {
    const message = changeWithValues(row.message);
    const parked = waiting.get(row.key);
    // The same event parked again keeps what it had: its values, or none if it already stood for more.
    const alone = !parked || (parked.dedupeKey === message?.dedupeKey && parked.withValues);
    return message && !alone ? { ...row, message: { ...message, fields: {} } } : row;
  });
}

function changeWithValues(message: unknown): SalesforceChangeMessage | undefined {
  const parsed = SalesforceChangeMessageSchema.safeParse(message);
  return parsed.success && Object.keys(parsed.data.fields).length > 0 ? parsed.data : undefined;
}

const DrainDueSchema = z.object({ due: z.string(), id: z.string() });

/**
 * Sends a drain message in a minute unless one is pending (`continuing` is the drain message now
 * running, which hands its turn on). A chain whose message was lost (due a minute ago and not
 * arrived) is started again; a second chain ends at its next turn.
 */
export async function scheduleDrain(env: Env, now: Date, continuing?: string): Promise<void> {
  const pending = DrainDueSchema.safeParse(await env.CURSORS.get(DRAIN_DUE_KEY, "json"));
  const alive = pending.success && Date.parse(pending.data.due) > now.getTime();
  if (alive && pending.data.id !== continuing) return;
  const message = drainMessage();
  await env.SYNC_QUEUE.send(message, { contentType: "json", delaySeconds: DRAIN_INTERVAL_SECONDS });
  const due = new Date(now.getTime() + DRAIN_INTERVAL_SECONDS * 1000).toISOString();
  await env.CURSORS.put(DRAIN_DUE_KEY, JSON.stringify({ due, id: message.dedupeKey }));
}

export type DrainReport =
  | { kind: "empty" }
  | { kind: "waiting"; parked: number; error: string }
  | { kind: "sent"; sent: number; left: number };

/**
 * Sends the parked changes again when both APIs answer (one cheap call each); otherwise they keep
 * waiting. Each is removed only once sent; one parked again meanwhile stays.
 */
export async function drainParked(deps: SyncDeps, env: Env): Promise<DrainReport> {
  const parked = await countParked(deps.db);
  if (parked === 0) return { kind: "empty" };
  try {
    await Promise.all([deps.attio.self(), deps.salesforce.ping()]);
  } catch (thrown) {
    return { kind: "waiting", parked, error: toSyncError(thrown).message };
  }
  let sent = 0;
  while (sent < DRAIN_LIMIT) {
    const rows = await oldestParked(deps.db, DRAIN_PAGE);
    if (rows.length === 0) break;
    await resend(env, rows);
    await unpark(deps.db, rows);
    sent += rows.length;
    if (rows.length < DRAIN_PAGE) break;
  }
  return { kind: "sent", sent, left: await countParked(deps.db) };
}

/**
 * Drains now (the cron; starting or resuming the deployment), and makes sure a drain comes in a
 * minute while any still wait.
 */
export async function drainNow(deps: SyncDeps, env: Env, now: Date): Promise<DrainReport> {
  const report = await drainParked(deps, env);
  if (report.kind === "waiting" || (report.kind === "sent" && report.left > 0)) await scheduleDrain(env, now);
  return report;
}

/** Sends parked changes to their queues; a job's records travel together again, from their first round. */
async function resend(env: Env, rows: readonly ParkedRow[]): Promise<void> {
  const plain: Record<ParkedRow["queue"], unknown[]> = { sync: [], jobs: [] };
  const records = new Map<string, { queue: ParkedRow["queue"]; first: RecordsMessage; ids: string[] }>();
  for (const row of rows) {
    const parsed = SyncMessageSchema.safeParse(row.message);
    if (!parsed.success || parsed.data.kind !== "records.sync") {
      // Sent as stored: the consumer records one it cannot read as a failure.
      plain[row.queue].push(row.message);
      continue;
    }
    const message = parsed.data;
    const group = JSON.stringify([
      row.queue,
      message.mapping,
      message.side,
      message.jobId ?? null,
      message.dryRun ?? false,
      message.matchIndexSince ?? null,
      message.release ?? null,
    ]);
    const entry = records.get(group) ?? { queue: row.queue, first: message, ids: [] };
    entry.ids.push(...message.recordIds);
    records.set(group, entry);
  }
  for (const { queue, first, ids } of records.values()) {
    const again = recordsMessages(first.mapping, first.side, ids, first.reason, {
      ...(first.jobId ? { jobId: first.jobId } : {}),
      ...(first.dryRun ? { dryRun: true } : {}),
      matchIndexSince: first.matchIndexSince,
      correlationId: first.correlationId,
      release: first.release,
    });
    plain[queue].push(...again);
  }
  await sendAll(env.SYNC_QUEUE, plain.sync as SyncMessage[]);
  await sendAll(env.JOB_QUEUE, plain.jobs as SyncMessage[]);
}
