import { z } from "zod";

/** ChangeEventHeader.changeType; the relay checks the events it converts against the same list. */
export const ChangeTypeSchema = z.enum([
  "CREATE",
  "UPDATE",
  "DELETE",
  "UNDELETE",
  "GAP_CREATE",
  "GAP_UPDATE",
  "GAP_DELETE",
  "GAP_UNDELETE",
  "GAP_OVERFLOW",
]);
export type ChangeType = z.infer<typeof ChangeTypeSchema>;

/** ChangeEventHeader in the CometD JSON form (field names, ISO dates, commitTimestamp in epoch ms). */
export const ChangeEventHeaderSchema = z.object({
  entityName: z.string().min(1),
  /** Empty only on GAP_OVERFLOW events, which name no records. */
  recordIds: z.array(z.string()),
  changeType: ChangeTypeSchema,
  changeOrigin: z.string().default(""),
  transactionKey: z.string().min(1),
  sequenceNumber: z.number().int(),
  commitTimestamp: z.number(),
  commitNumber: z.union([z.number(), z.string()]).optional(),
  commitUser: z.string().optional(),
  changedFields: z.array(z.string()).default([]),
  nulledFields: z.array(z.string()).default([]),
  diffFields: z.array(z.string()).default([]),
});

const HeaderWithIds = ChangeEventHeaderSchema.refine((h) => h.recordIds.length > 0 || h.changeType === "GAP_OVERFLOW", {
  error: "recordIds is empty (only GAP_OVERFLOW events may name no records)",
  path: ["recordIds"],
});

/**
 * One change event as the relay POSTs it: Salesforce's CometD `data` object
 * (`{schema, payload: {ChangeEventHeader, ...fields}, event: {replayId}}`), plus the channel.
 */
export const ChangeEventSchema = z.object({
  schema: z.string().optional(),
  channel: z.string().optional(),
  payload: z.looseObject({ ChangeEventHeader: HeaderWithIds }),
  event: z.object({ replayId: z.union([z.number(), z.string()]) }),
});
export type ChangeEvent = z.infer<typeof ChangeEventSchema>;

/** The most events one relay request carries. */
export const MAX_RELAY_EVENTS = 1000;

export const RelayBodySchema = z.object({
  events: z.array(ChangeEventSchema).max(MAX_RELAY_EVENTS),
  /** The relay lost its place (replay id expired): the Worker must catch these objects up. */
  catchup: z.array(z.string()).optional(),
});
export type RelayBody = z.infer<typeof RelayBodySchema>;

/**
 * A relay request's envelope, its events not yet checked: the Worker validates each event alone
 * (ChangeEventSchema), so one it cannot use becomes a failure row instead of refusing the others.
 */
export const RelayEnvelopeSchema = z.object({
  events: z.array(z.unknown()).max(MAX_RELAY_EVENTS),
  catchup: z.array(z.string()).optional(),
});
