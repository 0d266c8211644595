import { Hono } from "hono";
import { z } from "zod";
import { SyncError } from "../lib/errors.ts";
import { sha256Hex } from "../lib/hmac.ts";
import { jsonBytes, utf8Length } from "../lib/utf8.ts";
import { eventFieldTimes } from "../plan/field-times.ts";
import { syncInline } from "../queue/inline.ts";
import { backupDelay, markInline } from "../queue/inline-backup.ts";
import { ChangeEventSchema, RelayEnvelopeSchema } from "../salesforce/cdc-schema.ts";
import { isOwnChange } from "../salesforce/change-origin.ts";
import { type Db, openDb } from "../store/db.ts";
import { recordFailure } from "../store/failures.ts";
import { type FieldTimeRow, recordFieldTimes } from "../store/field-times.ts";
import { enqueueNew } from "../sync/enqueue.ts";
import {
  catchupMessage,
  MAX_MESSAGE_BYTES,
  type SalesforceChangeMessage,
  type SyncMessage,
  withoutValues,
} from "../sync/messages.ts";
import { errorResponse, parseJson, requireJson, validationError } from "./errors.ts";
import { toMessage } from "./relay-message.ts";
import { verifyRelaySignature } from "./relay-signature.ts";
import type { AppEnv } from "./types.ts";

/**
 * Seconds a change event of our own client's transaction waits before it is synced. It is almost
 * always the echo of a write this Worker is still finishing: a Bulk job's creates are committed,
 * and their events relayed, before the job's results are read and the pairs stored. Delivered
 * later, the echo finds its pair and base and settles without a lease or a read, instead of being
 * delivered twice. Correctness does not depend on the delay (the engine waits for a missing pair
 * and compares values with the base); it only saves work.
 */
export const OWN_CHANGE_DELAY_SECONDS = 5;

/**
 * `POST /webhooks/salesforce`: change events from the CDC relay. Signed as
 * `X-Relay-Signature: v1=<hex HMAC-SHA256(RELAY_SECRET, timestamp + "." + rawBody)>` with the unix
 * time in `X-Relay-Timestamp`.
 */
export const salesforceRelay = new Hono<AppEnv>().post("/", async (c) => {
  // Read as bytes: the signature is checked before the content type, and any body can be read so.
  const raw = new TextDecoder().decode(await c.req.arrayBuffer());
  const failure = await verifyRelaySignature(
    c.var.config.RELAY_SECRET,
    c.req.header("x-relay-timestamp"),
    c.req.header("x-relay-signature"),
    raw,
  );
  if (failure) {
    c.var.log.warn("relay request rejected", { reason: failure });
    return errorResponse(c, new SyncError("unauthorized", failure, { status: 401 }));
  }
  const unsupported = requireJson(c);
  if (unsupported) return unsupported;
  const parsed = RelayEnvelopeSchema.safeParse(parseJson(raw, "relay body"));
  if (!parsed.success) return errorResponse(c, validationError("relay body", parsed.error));

  // Each event on its own: one the Worker cannot use (invalid, or too large even without its
  // values) becomes a failure row, and the others are enqueued all the same. Refusing the whole
  // request would have the relay send it again and again, and every later change wait behind it.
  const receivedAt = new Date().toISOString();
  const messages: SalesforceChangeMessage[] = [];
  const rejected: Rejection[] = [];
  /** Each message's JSON size, measured once here and reused to pack the queue sends. */
  const sizes = new Map<SyncMessage, number>();
  let oversized = 0;
  /** When each event set each field (see plan/field-times.ts). */
  const fieldTimes: FieldTimeRow[] = [];
  const clientName = c.var.config.SALESFORCE_CLIENT_NAME;
  const own = (message: SyncMessage): message is SalesforceChangeMessage =>
    message.kind === "salesforce.change" && isOwnChange(message.header.changeOrigin, clientName);
  parsed.data.events.forEach((raw, index) => {
    const event = ChangeEventSchema.safeParse(raw);
    if (!event.success) {
      const issue = event.error.issues[0];
      const where = ["events", index, ...(issue?.path ?? [])].join(".");
      rejected.push({ index, raw, reason: `invalid change event at ${where}: ${issue?.message ?? "invalid"}` });
      return;
    }
    const message = toMessage(event.data, c.var.correlationId, receivedAt);
    // Our own updates count too: a write whose answer was lost leaves its value unknown to the base,
    // and only its event says when it was made. Our creates (a Bulk job's thousands) do not.
    if (!(message.header.changeType === "CREATE" && own(message))) fieldTimes.push(...fieldTimeRows(message));
    const bytes = jsonBytes(message);
    if (bytes <= MAX_MESSAGE_BYTES) {
      messages.push(message);
      sizes.set(message, bytes);
      return;
    }
    const lean = withoutValues(message);
    const leanBytes = jsonBytes(lean);
    if (leanBytes > MAX_MESSAGE_BYTES) {
      rejected.push({ index, raw, reason: `change event too large for a queue message even without its values` });
      return;
    }
    oversized++;
    c.var.log.warn("change event too large for a queue message: enqueued without its values (the record is read)", {
      entity: lean.header.entityName,
      record_ids: lean.header.recordIds.slice(0, 10),
      replay_id: lean.replayId,
      bytes,
    });
    messages.push(lean);
    sizes.set(lean, leanBytes);
  });
  const db = openDb(c.env.DB);
  for (const rejection of rejected) await recordRejection(db, rejection, c.var.correlationId);
  if (rejected.length > 0) {
    c.var.log.error("change events rejected and recorded as failures", {
      rejected: rejected.length,
      reasons: rejected.slice(0, 5).map((r) => r.reason),
    });
  }

  // Before the events are queued: whichever run decides a conflict on these records finds them.
  await recordFieldTimes(db, fieldTimes);

  // Our own writes' echoes come by the thousand (a Bulk job's creates): they wait, and travel in
  // bundles. Anyone else's change goes alone and at once.
  // A person's change is synced right after the answer, in this invocation; its queued copy waits
  // as the backup (queue/inline.ts).
  const marked = markInline(c.var.config, messages, (message) => !own(message));
  const result = await enqueueNew(db, c.env.SYNC_QUEUE, "salesforce", marked, {
    delayOf: (message) => backupDelay(message) ?? (own(message) ? OWN_CHANGE_DELAY_SECONDS : undefined),
    bundle: own,
    bytesOf: (message) => sizes.get(message),
    whileSending: (fresh) => c.executionCtx.waitUntil(syncInline(c.env, fresh, c.var.log)),
  });
  const catchup = parsed.data.catchup ?? [];
  // The relay lost its place for these objects: their catch-up runs now, through the queue.
  if (catchup.length > 0) {
    await c.env.SYNC_QUEUE.sendBatch(
      catchup.map((entity) => ({
        body: catchupMessage(entity, "the relay reported missed events"),
        contentType: "json" as const,
      })),
    );
  }
  const counts = { accepted: messages.length, oversized, rejected: rejected.length };
  c.var.log.info("relay batch accepted", { events: parsed.data.events.length, catchup, ...counts, ...result });
  return c.json({
    received: parsed.data.events.length,
    ...counts,
    catchup_requested: catchup,
    ...result,
    ...(rejected.length > 0 ? { rejections: rejected.map((r) => ({ index: r.index, reason: r.reason })) } : {}),
  });
});

/** An event of a relay request the Worker cannot enqueue, and why. */
interface Rejection {
  index: number;
  raw: unknown;
  reason: string;
}

/** What a rejected event says about itself, read leniently: any part may be missing or wrong. */
const EventIdentitySchema = z.object({
  payload: z
    .object({
      ChangeEventHeader: z
        .object({
          entityName: z.string().optional().catch(undefined),
          recordIds: z.array(z.string()).optional().catch(undefined),
          transactionKey: z.string().optional().catch(undefined),
          sequenceNumber: z.number().optional().catch(undefined),
        })
        .optional()
        .catch(undefined),
    })
    .optional()
    .catch(undefined),
  event: z
    .object({ replayId: z.union([z.number(), z.string()]).optional().catch(undefined) })
    .optional()
    .catch(undefined),
});

/** The most bytes of a rejected event kept in its failure row; a larger one keeps its header. */
const STORED_EVENT_BYTES = 64_000;

/**
 * Records a rejected event as a failure row an operator sees (GET /api/v1/failures), with its
 * record ids when it names them. A redelivery of the same event updates the same row.
 */
async function recordRejection(db: Db, rejection: Rejection, correlationId: string): Promise<void> {
  const identity = EventIdentitySchema.safeParse(rejection.raw);
  const header = identity.success ? identity.data.payload?.ChangeEventHeader : undefined;
  const replayId = identity.success ? identity.data.event?.replayId : undefined;
  const entity = header?.entityName;
  const id =
    header?.transactionKey !== undefined && header.sequenceNumber !== undefined
      ? `relay:${header.transactionKey}:${header.sequenceNumber}:${entity ?? "?"}`
      : `relay:sha256:${await sha256Hex(JSON.stringify(rejection.raw) ?? "")}`;
  const bytes = jsonBytes(rejection.raw);
  const stored =
    bytes <= STORED_EVENT_BYTES
      ? rejection.raw
      : {
          omitted: `the event's ${bytes} bytes; its header is kept`,
          header: header ?? null,
          replayId: replayId ?? null,
        };
  await recordFailure(db, {
    id,
    messageKind: "relay.event",
    message: stored,
    error: new SyncError("bad_request", rejection.reason, {
      detail: { index: rejection.index, ...(replayId === undefined ? {} : { replay_id: replayId }) },
    }),
    attempts: 1,
    correlationId: `${correlationId}:${rejection.index}`,
    ...(entity && header?.recordIds?.length
      ? { recordKey: `salesforce:${entity}:${[...header.recordIds].sort().join(",")}` }
      : {}),
  });
}

/** Field values larger than this are not kept: their field's time stays unknown (LastModifiedDate). */
const MAX_FIELD_VALUE_BYTES = 1024;

/** The field times a change event gives each of its records. */
function fieldTimeRows(message: SalesforceChangeMessage): FieldTimeRow[] {
  const { header } = message;
  if (header.changeType !== "CREATE" && header.changeType !== "UPDATE") return [];
  const times = eventFieldTimes(
    {
      changeType: header.changeType,
      changedFields: header.changedFields,
      nulledFields: header.nulledFields,
      fields: message.fields,
    },
    header.commitTimestamp,
  );
  return header.recordIds.flatMap((recordId) =>
    Object.entries(times).map(([field, time]) => {
      const value = JSON.stringify(time.value ?? null);
      return {
        entity: header.entityName,
        recordId,
        field,
        at: time.at,
        value: utf8Length(value) <= MAX_FIELD_VALUE_BYTES ? value : null,
      };
    }),
  );
}
