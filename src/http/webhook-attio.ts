import { Hono } from "hono";
import { canBeOurEcho, isOwnActor, loadOwnActor } from "../attio/own-actor.ts";
import { type AttioRecordEvent, AttioWebhookBodySchema, isRecordEvent } from "../attio/webhook-schema.ts";
import type { EnvConfig } from "../config/env.ts";
import { SyncError } from "../lib/errors.ts";
import { hmacSha256Hex, timingSafeEqual } from "../lib/hmac.ts";
import { syncInline } from "../queue/inline.ts";
import { backupDelay, markInline } from "../queue/inline-backup.ts";
import { openDb } from "../store/db.ts";
import { attioClient, limiterOf } from "../sync/deps.ts";
import { claimEchoFilterCheck, ensureEchoFilter } from "../sync/echo-filter.ts";
import { enqueueNew } from "../sync/enqueue.ts";
import type { AttioChangeMessage, SyncMessage } from "../sync/messages.ts";
import { forgetRuntime } from "../sync/runtime.ts";
import { forgetAttioSchemas } from "../sync/schema-source.ts";
import { errorResponse, parseJson, requireJson, validationError } from "./errors.ts";
import type { AppEnv } from "./types.ts";

/**
 * `POST /webhooks/attio`: verifies `Attio-Signature` (hex HMAC-SHA256 of the raw body; the legacy
 * `X-Attio-Signature` carries the same value) with ATTIO_WEBHOOK_SECRET, or with
 * ATTIO_WEBHOOK_SECRET_NEXT while a rotation runs, validates the body, and enqueues one message per
 * record event, except the events of our own actor once it is known (see attio/own-actor.ts).
 * Answers fast: the work happens in the queue consumer.
 */
export const attioWebhook = new Hono<AppEnv>().post("/", async (c) => {
  // Read as bytes: the signature is checked before the content type, and any body can be read so.
  const raw = new TextDecoder().decode(await c.req.arrayBuffer());
  const signature = c.req.header("attio-signature") ?? c.req.header("x-attio-signature");
  if (!signature || !(await signedByAny(signature, raw, webhookSecrets(c.var.config)))) {
    c.var.log.warn("attio webhook rejected: bad signature", { has_signature: Boolean(signature) });
    return errorResponse(c, new SyncError("unauthorized", "Missing or invalid Attio-Signature", { status: 401 }));
  }
  const unsupported = requireJson(c);
  if (unsupported) return unsupported;
  const parsed = AttioWebhookBodySchema.safeParse(parseJson(raw, "webhook body"));
  if (!parsed.success) return errorResponse(c, validationError("webhook body", parsed.error));

  // Attio keeps Idempotency-Key stable across retries of a delivery. Without it nothing is
  // deduplicated: record events carry no event id or time, so two genuine edits of one attribute
  // by one actor have the same bytes, and the consumer is idempotent anyway.
  const deliveryKey = c.req.header("idempotency-key") ?? `unkeyed:${crypto.randomUUID()}`;
  const receivedAt = new Date().toISOString();
  const messages: AttioChangeMessage[] = [];
  // The echoes of our own writes are dropped: their values are what the write answered, already
  // stored as the pair's base, so syncing them would only read Attio to find nothing changed.
  const own = parsed.data.events.some(isRecordEvent) ? await loadOwnActor(c.env.CURSORS) : null;
  let echoes = 0;
  parsed.data.events.forEach((event, index) => {
    if (!isRecordEvent(event)) return;
    if (canBeOurEcho(event.event_type) && isOwnActor(event.actor, own)) {
      echoes++;
      return;
    }
    messages.push(toMessage(event, `attio:${deliveryKey}:${index}`, c.var.correlationId, receivedAt));
  });
  // An echo still arrived although our actor is known: the webhook is asked to leave them out.
  const { config, log } = c.var;
  if (
    config.ATTIO_ECHO_FILTER === "on" &&
    own &&
    echoes > 0 &&
    claimEchoFilterCheck(parsed.data.webhook_id, own, Date.now())
  ) {
    const attio = attioClient(c.env, config, log, limiterOf(c.env, config));
    c.executionCtx.waitUntil(ensureEchoFilter(attio, c.env.CURSORS, log, parsed.data.webhook_id, own, new Date()));
  }
  // A person's change is synced right after the answer, in this invocation; its queued copy waits
  // as the backup (queue/inline.ts).
  const marked = markInline(c.var.config, messages, (message) => integrationDelay(message) === undefined);
  // A delivery of our own echoes only (one per record a job writes) queues nothing: no D1 at all.
  const result =
    marked.length === 0
      ? { enqueued: 0, duplicates: 0 }
      : await enqueueNew(openDb(c.env.DB), c.env.SYNC_QUEUE, "attio", marked, {
          delayOf: (message) => backupDelay(message) ?? integrationDelay(message),
          whileSending: (fresh) => c.executionCtx.waitUntil(syncInline(c.env, fresh, c.var.log)),
        });
  // An attribute was created or changed in Attio: the cached schemas are stale from now on.
  if (parsed.data.events.some((e) => String(e.event_type).startsWith("object-attribute."))) {
    await forgetAttioSchemas(c.env.CURSORS);
    forgetRuntime();
  }
  // Echoes only: a line per record a job writes would drown the log (debug shows them).
  const level = echoes > 0 && echoes === parsed.data.events.length ? "debug" : "info";
  c.var.log[level]("attio webhook accepted", {
    webhook_id: parsed.data.webhook_id,
    events: parsed.data.events.length,
    own_echoes: echoes,
    ...result,
  });
  return c.json({
    received: parsed.data.events.length,
    ignored: parsed.data.events.length - messages.length,
    own_echoes: echoes,
    ...result,
  });
});

/** The secrets a delivery may be signed with: during a rotation, the next webhook's too. */
function webhookSecrets(config: EnvConfig): string[] {
  return config.ATTIO_WEBHOOK_SECRET_NEXT
    ? [config.ATTIO_WEBHOOK_SECRET, config.ATTIO_WEBHOOK_SECRET_NEXT]
    : [config.ATTIO_WEBHOOK_SECRET];
}

async function signedByAny(signature: string, raw: string, secrets: string[]): Promise<boolean> {
  const given = signature.trim().toLowerCase();
  // Every secret is tried, so the time taken does not tell which one matched.
  const matches = await Promise.all(
    secrets.map(async (secret) => timingSafeEqual(given, await hmacSha256Hex(secret, raw))),
  );
  return matches.includes(true);
}

/**
 * Seconds an event made through the API (by an API token or an app: ours before our actor is
 * known, or another integration's) waits before it is synced. Its writer is usually this Worker,
 * still storing the pair and base of what it just wrote: the echo then finds them and settles
 * reading Attio alone, instead of finding the writer's leases and retrying. People's edits are
 * synced at once. Correctness does not depend on the delay (leases and the base comparison do
 * that); it only saves work.
 */
export const INTEGRATION_EVENT_DELAY_SECONDS = 3;

function integrationDelay(message: SyncMessage): number | undefined {
  if (message.kind !== "attio.record") return undefined;
  return message.actor.type === "api-token" || message.actor.type === "app"
    ? INTEGRATION_EVENT_DELAY_SECONDS
    : undefined;
}

function toMessage(
  event: AttioRecordEvent,
  dedupeKey: string,
  correlationId: string,
  receivedAt: string,
): AttioChangeMessage {
  return {
    kind: "attio.record",
    eventType: event.event_type,
    objectId: event.id.object_id,
    recordId: event.id.record_id,
    ...(event.duplicate_record_id ? { duplicateRecordId: event.duplicate_record_id } : {}),
    actor: event.actor,
    dedupeKey,
    correlationId: `${correlationId}:${dedupeKey.split(":").at(-1)}`,
    receivedAt,
  };
}
