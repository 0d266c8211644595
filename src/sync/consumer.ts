import { parseEnvConfig } from "../config/env.ts";
import { type SyncError, toSyncError } from "../lib/errors.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import { openDb } from "../store/db.ts";
import { recordFailure } from "../store/failures.ts";
import { syncAttioRecord } from "./attio-to-salesforce.ts";
import { retryDelaySeconds } from "./backoff.ts";
import { buildDeps, type SyncDeps } from "./deps.ts";
import { type SyncMessage, SyncMessageSchema } from "./messages.ts";
import { handleSalesforceChange } from "./salesforce-change.ts";

/**
 * The queue consumer. Messages are grouped by record so a burst of events for one record is synced
 * once; every message is acked or retried on its own, so one bad record never holds back the rest.
 */
export async function handleQueueBatch(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext): Promise<void> {
  const config = parseEnvConfig(env);
  const log = createLogger(config.LOG_LEVEL, { queue: batch.queue });
  if (batch.queue.endsWith("-dlq")) {
    await recordDeadLetters(batch, env, log);
    return;
  }
  const deps = buildDeps(env, config, log);
  const groups = new Map<string, { message: SyncMessage; raws: Message<unknown>[] }>();
  for (const raw of batch.messages) {
    const parsed = SyncMessageSchema.safeParse(raw.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      await recordFailure(deps.db, {
        id: `msg:${raw.id}`,
        messageKind: "invalid",
        message: raw.body,
        error: toSyncError(new Error(`invalid message at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`)),
        attempts: raw.attempts,
        correlationId: raw.id,
      });
      log.warn("invalid message recorded as failure", { message_id: raw.id });
      raw.ack();
      continue;
    }
    const key = recordKey(parsed.data);
    const group = groups.get(key);
    // The latest event of a record decides what to do; all of them are answered together.
    if (group) {
      group.message = parsed.data;
      group.raws.push(raw);
    } else groups.set(key, { message: parsed.data, raws: [raw] });
  }
  for (const [key, group] of groups) await processGroup(deps, key, group.message, group.raws);
}

async function processGroup(deps: SyncDeps, key: string, message: SyncMessage, raws: Message<unknown>[]) {
  const log = deps.log.child({ correlation_id: message.correlationId, record: key });
  try {
    const outcome = await dispatch(deps, message);
    log.info("synced", { outcome: outcome.status, ...("reason" in outcome ? { reason: outcome.reason } : {}) });
    for (const raw of raws) raw.ack();
  } catch (thrown) {
    const error = toSyncError(thrown);
    const attempts = Math.max(...raws.map((r) => r.attempts));
    if (error.retryable) {
      const delaySeconds = retryDelaySeconds(attempts, error.retryAfterSeconds, Math.random());
      log.warn("retrying", { code: error.code, error: error.message, attempts, delay_seconds: delaySeconds });
      for (const raw of raws) raw.retry({ delaySeconds });
      return;
    }
    log.error("failed permanently", { code: error.code, error: error.message, attempts });
    await recordFailureFor(deps, key, message, error, attempts);
    for (const raw of raws) raw.ack();
  }
}

function dispatch(deps: SyncDeps, message: SyncMessage) {
  switch (message.kind) {
    case "attio.record":
      return syncAttioRecord(deps, message);
    case "salesforce.change":
      return handleSalesforceChange(deps, message);
  }
}

function recordKey(message: SyncMessage): string {
  switch (message.kind) {
    case "attio.record":
      return `attio:${message.objectId}:${message.recordId}`;
    case "salesforce.change":
      return `salesforce:${message.header.entityName}:${[...message.header.recordIds].sort().join(",")}`;
  }
}

async function recordFailureFor(deps: SyncDeps, key: string, message: SyncMessage, error: SyncError, attempts: number) {
  await recordFailure(deps.db, {
    id: `event:${message.dedupeKey}`,
    messageKind: message.kind,
    message,
    error,
    attempts,
    correlationId: message.correlationId,
    recordKey: key,
  });
}

/**
 * Messages that exhausted their retries arrive here from the dead-letter queue and become failure
 * rows, so nothing that failed is ever silently gone.
 */
async function recordDeadLetters(batch: MessageBatch<unknown>, env: Env, log: Logger): Promise<void> {
  const db = openDb(env.DB);
  for (const raw of batch.messages) {
    const parsed = SyncMessageSchema.safeParse(raw.body);
    const message = parsed.success ? parsed.data : undefined;
    await recordFailure(db, {
      id: message ? `event:${message.dedupeKey}` : `msg:${raw.id}`,
      messageKind: message?.kind ?? "invalid",
      message: raw.body,
      error: toSyncError(new Error("retries exhausted")),
      attempts: raw.attempts,
      correlationId: message?.correlationId ?? raw.id,
      ...(message ? { recordKey: recordKey(message) } : {}),
    });
    log.error("dead letter recorded as failure", { message_id: raw.id, correlation_id: message?.correlationId });
    raw.ack();
  }
}
