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
  correlationId: z.string(),
  receivedAt: z.string(),
});
export type SalesforceChangeMessage = z.infer<typeof SalesforceChangeMessageSchema>;

export const SyncMessageSchema = z.discriminatedUnion("kind", [
  AttioChangeMessageSchema,
  SalesforceChangeMessageSchema,
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

/** A synthetic change event for one Salesforce record, to have it synced (the engine re-reads it). */
export function internalSalesforceMessage(entityName: string, recordId: string): SalesforceChangeMessage {
  const id = crypto.randomUUID();
  return {
    kind: "salesforce.change",
    header: {
      entityName,
      recordIds: [recordId],
      changeType: "UPDATE",
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
