import { Hono } from "hono";
import { SyncError } from "../lib/errors.ts";
import { hmacSha256Hex, timingSafeEqual } from "../lib/hmac.ts";
import { type ChangeEvent, RelayBodySchema } from "../salesforce/cdc-schema.ts";
import { isOwnChange } from "../salesforce/change-origin.ts";
import { openDb } from "../store/db.ts";
import { enqueueNew } from "../sync/enqueue.ts";
import { catchupMessage, type SalesforceChangeMessage, type SyncMessage } from "../sync/messages.ts";
import { errorResponse, parseJson, requireJson, validationError } from "./errors.ts";
import type { AppEnv } from "./types.ts";

/** A signed request older or newer than this is refused, so a captured one cannot be replayed later. */
export const RELAY_TOLERANCE_SECONDS = 300;

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
  const parsed = RelayBodySchema.safeParse(parseJson(raw, "relay body"));
  if (!parsed.success) return errorResponse(c, validationError("relay body", parsed.error));

  const receivedAt = new Date().toISOString();
  const messages = parsed.data.events.map((event) => toMessage(event, c.var.correlationId, receivedAt));
  const clientName = c.var.config.SALESFORCE_CLIENT_NAME;
  const own = (message: SyncMessage): message is SalesforceChangeMessage =>
    message.kind === "salesforce.change" && isOwnChange(message.header.changeOrigin, clientName);
  // Our own writes' echoes come by the thousand (a Bulk job's creates): they wait, and travel in
  // bundles. Anyone else's change goes alone and at once.
  const result = await enqueueNew(openDb(c.env.DB), c.env.SYNC_QUEUE, "salesforce", messages, {
    delayOf: (message) => (own(message) ? OWN_CHANGE_DELAY_SECONDS : undefined),
    bundle: own,
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
  c.var.log.info("relay batch accepted", { events: messages.length, catchup, ...result });
  return c.json({ received: messages.length, catchup_requested: catchup, ...result });
});

/** Why a relay request is not authentic, or undefined when it is. */
export async function verifyRelaySignature(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  rawBody: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<string | undefined> {
  if (!timestamp || !/^\d+$/.test(timestamp)) return "Missing or invalid X-Relay-Timestamp";
  if (Math.abs(nowSeconds - Number(timestamp)) > RELAY_TOLERANCE_SECONDS)
    return "X-Relay-Timestamp is too far from now";
  const given = /^v1=([0-9a-f]{64})$/i.exec(signature?.trim() ?? "")?.[1];
  if (!given) return "Missing or invalid X-Relay-Signature";
  const expected = await hmacSha256Hex(secret, `${timestamp}.${rawBody}`);
  return timingSafeEqual(given.toLowerCase(), expected) ? undefined : "X-Relay-Signature does not match";
}

/** The queue message of one relayed change event. */
export function toMessage(event: ChangeEvent, correlationId: string, receivedAt: string): SalesforceChangeMessage {
  const { ChangeEventHeader: header, ...fields } = event.payload;
  // transactionKey + sequenceNumber identify one change; a redelivered event repeats both.
  const dedupeKey = `salesforce:${header.transactionKey}:${header.sequenceNumber}:${header.entityName}`;
  return {
    kind: "salesforce.change",
    header,
    fields,
    replayId: String(event.event.replayId),
    dedupeKey,
    correlationId: `${correlationId}:${header.transactionKey}:${header.sequenceNumber}`,
    receivedAt,
  };
}
