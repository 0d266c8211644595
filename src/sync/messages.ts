import { z } from "zod";
import { AttioActorSchema } from "../attio/webhook-schema.ts";
import { ChangeEventHeaderSchema } from "../salesforce/cdc-schema.ts";

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

export const SyncMessageSchema = z.discriminatedUnion("kind", [
  AttioChangeMessageSchema,
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
    dedupeKey: `internal:${id}`,
    correlationId: `internal:${id}`,
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
