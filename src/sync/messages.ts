import { z } from "zod";
import { AttioActorSchema } from "../attio/webhook-schema.ts";
import { chunk } from "../lib/chunk.ts";
import { ChangeEventHeaderSchema } from "../salesforce/cdc-schema.ts";

/** Why the Worker asked itself to sync a record (catch-up, a deferred reference's parent, a merge). */
const InternalSchema = z.object({ reason: z.string() });

/**
 * "Record R of object O changed on Attio": one per webhook event. Attio sends ids only, so the
 * consumer reads the record's current values.
 */
export const AttioChangeMessageSchema = z.object({
  kind: z.literal("attio.record"),
  eventType: z.enum(["record.created", "record.updated", "record.deleted", "record.merged"]),
  objectId: z.string(),
  recordId: z.string(),
  duplicateRecordId: z.string().optional(),
  actor: AttioActorSchema,
  /** Set on the Worker's own requests to re-read the record (not a webhook), with why. */
  internal: InternalSchema.optional(),
  /**
   * Set on the copy a webhook queues behind a change it syncs at once in its own invocation
   * (queue/inline.ts): delivered later, it is acked unread once that run was recorded as handled.
   */
  inlineBackup: z.literal(true).optional(),
  /** Idempotency-Key of the delivery plus the event's index in it. */
  dedupeKey: z.string(),
  /** Set when a sync job queued this record; its outcome is counted on the job. */
  jobId: z.string().optional(),
  /** A dry run: plan, write nothing. */
  dryRun: z.boolean().optional(),
  correlationId: z.string(),
  receivedAt: z.string(),
});
export type AttioChangeMessage = z.infer<typeof AttioChangeMessageSchema>;

/** "These records of entity E changed on Salesforce": one per change event. */
export const SalesforceChangeMessageSchema = z.object({
  kind: z.literal("salesforce.change"),
  header: ChangeEventHeaderSchema,
  /** Field values the event carried (CometD form: changed fields only; none for GAP events). */
  fields: z.record(z.string(), z.unknown()),
  replayId: z.string(),
  /** Set on the Worker's own requests to re-read the records (not a change event), with why. */
  internal: InternalSchema.optional(),
  /**
   * Set on the copy a webhook queues behind a change it syncs at once in its own invocation
   * (queue/inline.ts): delivered later, it is acked unread once that run was recorded as handled.
   */
  inlineBackup: z.literal(true).optional(),
  dedupeKey: z.string(),
  jobId: z.string().optional(),
  dryRun: z.boolean().optional(),
  correlationId: z.string(),
  receivedAt: z.string(),
});
export type SalesforceChangeMessage = z.infer<typeof SalesforceChangeMessageSchema>;

/** "Catch this Salesforce object up now": change events were lost (overflow, expired replay id). */
export const CatchupMessageSchema = z.object({
  kind: z.literal("catchup.run"),
  salesforceObject: z.string(),
  reason: z.string(),
  dedupeKey: z.string(),
  correlationId: z.string(),
  receivedAt: z.string(),
});
export type CatchupMessage = z.infer<typeof CatchupMessageSchema>;

/** One page of a sync job's enumeration: step `step` of its plan, from `offset` (Attio) or `cursor` (Salesforce). */
export const JobPageMessageSchema = z.object({
  kind: z.literal("job.page"),
  jobId: z.string(),
  step: z.number().int().min(0),
  offset: z.number().int().min(0).default(0),
  cursor: z.object({ stamp: z.string(), id: z.string() }).optional(),
  dedupeKey: z.string(),
  correlationId: z.string(),
  receivedAt: z.string(),
});
export type JobPageMessage = z.infer<typeof JobPageMessageSchema>;

/**
 * The largest queue message the Worker sends, in bytes of JSON. Queues takes up to 128 KB
 * (128,000 bytes, about 100 of them metadata) per message; the rest is margin. A change event
 * whose message would be larger travels without its field values (see withoutValues).
 */
export const MAX_MESSAGE_BYTES = 100_000;

/**
 * The message of a change event too large for the queue, without the values it carried: the
 * consumer then reads the record from Salesforce, as for a catch-up (route.ts passes no event
 * values to the engine when `fields` is empty). The header still says what changed.
 */
export function withoutValues(message: SalesforceChangeMessage): SalesforceChangeMessage {
  return { ...message, fields: {} };
}

/** The most records one `records.sync` message names (a queue message stays well under 128 KB). */
export const MAX_RECORDS_PER_MESSAGE = 2_000;

/**
 * "Sync these records of one mapping, on one side": how jobs and catch-up hand many records to the
 * consumer at once, so they are read, planned and written in bulk (Bulk API 2.0 above its
 * threshold). Records that must be retried are sent again in a smaller message; `attempt` counts
 * those rounds so a record that never succeeds still ends as a failure.
 */
export const RecordsMessageSchema = z.object({
  kind: z.literal("records.sync"),
  /** The mapping's name (companies, people, deals, a custom one). */
  mapping: z.string(),
  side: z.enum(["attio", "salesforce"]),
  recordIds: z.array(z.string().min(1)).min(1).max(MAX_RECORDS_PER_MESSAGE),
  reason: z.string(),
  attempt: z.number().int().min(1).default(1),
  jobId: z.string().optional(),
  /**
   * The job built a match index of this mapping's Salesforce object at this time: candidates come
   * from it (plus what others changed since), not from a query per match key.
   */
  matchIndexSince: z.iso.datetime().optional(),
  dryRun: z.boolean().optional(),
  /**
   * The records of a mass-update hold a person decided (sync/holds.ts): `approve` syncs them with
   * the breaker bypassed, `reject` re-bases them and writes nothing.
   */
  release: z.object({ hold: z.string().min(1), decision: z.enum(["approve", "reject"]) }).optional(),
  dedupeKey: z.string(),
  correlationId: z.string(),
  receivedAt: z.string(),
});
export type RecordsMessage = z.infer<typeof RecordsMessageSchema>;

/**
 * "Send the parked changes again if both APIs answer": the Worker sends it to itself a minute
 * after changes are parked, and again each minute while any wait (src/sync/parked.ts).
 */
export const DrainMessageSchema = z.object({
  kind: z.literal("parked.drain"),
  dedupeKey: z.string(),
  correlationId: z.string(),
  receivedAt: z.string(),
});
export type DrainMessage = z.infer<typeof DrainMessageSchema>;

export const SyncMessageSchema = z.discriminatedUnion("kind", [
  DrainMessageSchema,
  AttioChangeMessageSchema,
  RecordsMessageSchema,
  SalesforceChangeMessageSchema,
  CatchupMessageSchema,
  JobPageMessageSchema,
]);
export type SyncMessage = z.infer<typeof SyncMessageSchema>;

/** A message the Worker sends itself, e.g. to sync the parent of a deferred reference. */
export function internalAttioMessage(objectSlug: string, recordId: string, why: string): AttioChangeMessage {
  const id = crypto.randomUUID();
  return {
    kind: "attio.record",
    eventType: "record.updated",
    objectId: objectSlug,
    recordId,
    actor: { type: "app", id: "attio-sfdc" },
    internal: { reason: why },
    dedupeKey: `internal:${id}`,
    correlationId: `internal:${id}:${why.replace(/\s+/g, "-")}`,
    receivedAt: new Date().toISOString(),
  };
}

/** A synthetic change event for Salesforce records, to have them synced (the engine re-reads them). */
export function internalSalesforceMessage(
  entityName: string,
  recordIds: string | string[],
  changeType: "UPDATE" | "DELETE" = "UPDATE",
  why = "re-read requested by the Worker",
): SalesforceChangeMessage {
  const id = crypto.randomUUID();
  return {
    kind: "salesforce.change",
    header: {
      entityName,
      recordIds: Array.isArray(recordIds) ? recordIds : [recordIds],
      changeType,
      changeOrigin: "",
      transactionKey: `internal-${id}`,
      sequenceNumber: 0,
      commitTimestamp: Date.now(),
      changedFields: [],
      nulledFields: [],
      diffFields: [],
    },
    fields: {},
    replayId: "internal",
    internal: { reason: why },
    dedupeKey: `internal:${id}`,
    correlationId: `internal:${id}`,
    receivedAt: new Date().toISOString(),
  };
}

export function drainMessage(): DrainMessage {
  const id = crypto.randomUUID();
  return {
    kind: "parked.drain",
    dedupeKey: `internal:${id}`,
    correlationId: `drain:${id}`,
    receivedAt: new Date().toISOString(),
  };
}

export function catchupMessage(salesforceObject: string, reason: string): CatchupMessage {
  const id = crypto.randomUUID();
  return {
    kind: "catchup.run",
    salesforceObject,
    reason,
    dedupeKey: `internal:${id}`,
    correlationId: `catchup:${id}`,
    receivedAt: new Date().toISOString(),
  };
}

/**
 * `records.sync` messages for many records of one mapping and side, at most
 * MAX_RECORDS_PER_MESSAGE each.
 *
 * @example recordsMessages("companies", "attio", ids, "job 42", { jobId: "42" })
 */
export function recordsMessages(
  mapping: string,
  side: "attio" | "salesforce",
  recordIds: readonly string[],
  reason: string,
  extra: {
    jobId?: string;
    dryRun?: boolean;
    attempt?: number;
    correlationId?: string;
    matchIndexSince?: string | undefined;
    release?: RecordsMessage["release"];
  } = {},
): RecordsMessage[] {
  const out: RecordsMessage[] = [];
  for (const part of chunk(recordIds, MAX_RECORDS_PER_MESSAGE)) {
    const id = crypto.randomUUID();
    out.push({
      kind: "records.sync",
      mapping,
      side,
      recordIds: part,
      reason,
      attempt: extra.attempt ?? 1,
      ...(extra.jobId ? { jobId: extra.jobId } : {}),
      ...(extra.dryRun ? { dryRun: true } : {}),
      ...(extra.matchIndexSince ? { matchIndexSince: extra.matchIndexSince } : {}),
      ...(extra.release ? { release: extra.release } : {}),
      dedupeKey: `internal:${id}`,
      correlationId: extra.correlationId ?? `internal:${id}`,
      receivedAt: new Date().toISOString(),
    });
  }
  return out;
}

/**
 * A failed message as an operator's replay sends it: a `records.sync` starts its retry rounds
 * again (it was stored after its last round, and would otherwise get one try before failing).
 */
export function forReplay(message: SyncMessage): SyncMessage {
  return message.kind === "records.sync" ? { ...message, attempt: 1 } : message;
}
