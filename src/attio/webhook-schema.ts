import { z } from "zod";

export const AttioActorSchema = z.object({
  type: z.enum(["workspace-member", "api-token", "system", "app"]),
  id: z.string().nullable(),
});
export type AttioActor = z.infer<typeof AttioActorSchema>;

/** Record events: ids and the actor only, never values (Attio's webhook reference). */
const RecordEventSchema = z.object({
  event_type: z.enum(["record.created", "record.updated", "record.deleted", "record.merged"]),
  id: z.object({
    workspace_id: z.string(),
    object_id: z.string(),
    record_id: z.string(),
    attribute_id: z.string().optional(),
  }),
  actor: AttioActorSchema,
  duplicate_object_id: z.string().optional(),
  duplicate_record_id: z.string().optional(),
});
export type AttioRecordEvent = z.infer<typeof RecordEventSchema>;

/** Any other event a webhook may be subscribed to; accepted and ignored. */
const OtherEventSchema = z.looseObject({
  event_type: z.string().refine((t) => !t.startsWith("record."), { error: "malformed record event" }),
});

export const AttioWebhookBodySchema = z.object({
  webhook_id: z.string().min(1),
  events: z.array(z.union([RecordEventSchema, OtherEventSchema])),
});
export type AttioWebhookBody = z.infer<typeof AttioWebhookBodySchema>;

export function isRecordEvent(event: AttioWebhookBody["events"][number]): event is AttioRecordEvent {
  return typeof event.event_type === "string" && event.event_type.startsWith("record.");
}
