import type { AttioRecord } from "../attio/record-schema.ts";
import { type EnvConfig, parseEnvConfig } from "../config/env.ts";
import { salesforceCatchup } from "../cron/catchup.ts";
import type { EngineOptions, Touch, TouchOutcome } from "../engine/run.ts";
import { failJob, type JobOutcome, lookupMatchIndex, recordJobOutcomes, runJobPage } from "../jobs/jobs.ts";
import { takeListed } from "../jobs/listed.ts";
import { type SyncError, toSyncError } from "../lib/errors.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import type { CompiledMapping } from "../mapping/engine.ts";
import { openDb } from "../store/db.ts";
import { recordFailure } from "../store/failures.ts";
import { takeWaiting } from "../store/pairs.ts";
import { retryDelaySeconds } from "../sync/backoff.ts";
import { saveUsage } from "../sync/budget.ts";
import { closeBundle, type EventBundle, type OpenBundle, openBundles } from "../sync/bundles.ts";
import { buildDeps, type SyncDeps } from "../sync/deps.ts";
import { loadDirectory } from "../sync/directory.ts";
import { sendAll } from "../sync/enqueue.ts";
import { markDeadLettersDraining, markDeadLettersStuck } from "../sync/health-marks.ts";
import {
  internalAttioMessage,
  internalSalesforceMessage,
  type JobPageMessage,
  type RecordsMessage,
  recordsMessages,
  type SyncMessage,
  SyncMessageSchema,
} from "../sync/messages.ts";
import { loadRuntime, type Runtime } from "../sync/runtime.ts";
import { type Route, routeMessage } from "./route.ts";
import { syncMappingSliced } from "./slices.ts";

interface Routed {
  raw: Message<unknown>;
  message: SyncMessage;
  /** `mapping|side:recordId` of every record the message touched. */
  keys: string[];
}

/**
 * The queue consumer. Messages are turned into touched records, coalesced per record, and synced
 * per mapping by the engine; every message is then acked, retried with backoff, or recorded as a
 * failure on its own, so one bad record never holds back the rest of its batch.
 */
export async function handleQueueBatch(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext): Promise<void> {
  const config = parseEnvConfig(env);
  const log = createLogger(config.LOG_LEVEL, { queue: batch.queue });
  if (batch.queue.endsWith("-dlq")) {
    // A bundle's events are recorded one per failure, so each can be replayed alone.
    const { messages, bundles } = openBundles(batch.messages);
    try {
      await recordDeadLetters(messages, env, log);
    } catch (thrown) {
      // The batch is delivered again; /api/v1/status reports the dead letters as not draining.
      await markDeadLettersStuck(env.CURSORS, toSyncError(thrown), new Date());
      throw thrown;
    }
    await markDeadLettersDraining(env.CURSORS);
    for (const open of bundles) open.raw.ack();
    return;
  }
  // Bundled events are handled one by one, like messages of their own; their bundles are acked
  // (and what asked for a retry sent again) once the batch is done, however it ends.
  const { messages, bundles } = openBundles(batch.messages);
  try {
    await handleMessages(messages, env, config, log);
  } finally {
    await closeBundles(bundles, env, log);
  }
}

/** Deliveries of a bundled event before it is given up as a dead letter: the queue's own 1 + max_retries. */
const MAX_BUNDLE_DELIVERIES = 9;

async function closeBundles(bundles: readonly OpenBundle[], env: Env, log: Logger): Promise<void> {
  for (const open of bundles) {
    const close = closeBundle(open, MAX_BUNDLE_DELIVERIES);
    try {
      if (close.kind === "resend") {
        const body: EventBundle = { kind: "salesforce.changes", events: close.events, attempt: close.attempt };
        // As JSON: part of a bundle that was queued, whichever way it was, fits as JSON; retries are few.
        await env.SYNC_QUEUE.send(body, { contentType: "json", delaySeconds: close.delaySeconds });
        log.warn("retrying bundled events", { events: close.events.length, delay_seconds: close.delaySeconds });
      } else if (close.kind === "give_up") {
        await recordDeadLetters(close.members, env, log);
      }
      open.raw.ack();
    } catch (thrown) {
      // The bundle comes back whole: its events already settled are settled again, harmlessly.
      log.error("bundle could not be closed, delivered again", { error: toSyncError(thrown).message });
      open.raw.retry({ delaySeconds: retryDelaySeconds(open.raw.attempts, undefined) });
    }
  }
}

async function handleMessages(
  batchMessages: readonly Message<unknown>[],
  env: Env,
  config: EnvConfig,
  log: Logger,
): Promise<void> {
  const deps = buildDeps(env, config, log);
  const valid = await parseAll(deps, batchMessages);
  if (valid.length === 0) return;
  let runtime: Runtime;
  try {
    runtime = await loadRuntime(deps, env.CURSORS);
  } catch (thrown) {
    // Without a valid configuration nothing can be synced: keep every message for later.
    const error = toSyncError(thrown);
    log.error("configuration cannot be loaded", { code: error.code, error: error.message });
    for (const { raw } of valid) raw.retry({ delaySeconds: retryDelaySeconds(raw.attempts, undefined) });
    return;
  }

  const routed: Routed[] = [];
  const jobPages: Promise<unknown>[] = [];
  /** Per mapping: its touched records, one Touch per record however many messages named it. */
  const groups = new Map<string, Map<string, Touch>>();
  /** Per group: the Attio records a job page listed moments ago, not to be read again. */
  const listedByGroup = new Map<string, Map<string, AttioRecord>>();
  /** `mapping|record id` of records a message other than a job's listing names: always read. */
  const mustRead = new Set<string>();
  /** Groups of a job's records that match through the job's match index. */
  const matchIndexes = new Map<string, { jobId: string; since: string }>();
  for (const { raw, message } of valid) {
    const msgLog = log.child({ correlation_id: message.correlationId });
    let route: Route;
    try {
      route = await routeMessage(deps, runtime, message);
    } catch (thrown) {
      await settle(deps, raw, message, [{ status: "retry", error: toSyncError(thrown) }], msgLog);
      continue;
    }
    if (route.kind === "skip") {
      msgLog.info("skipped", { reason: route.reason });
      raw.ack();
      continue;
    }
    if (route.kind === "catchup") {
      await runImmediateCatchup(deps, env, runtime, raw, message, route.salesforceObject, route.reason, msgLog);
      continue;
    }
    if (route.kind === "job") {
      // Listed while the batch's records sync: a job's next page is in the same batch as the records
      // of the page before it, and their writes should not wait for it.
      const job = route.message;
      jobPages.push(
        runJobPage(deps, env.CURSORS, runtime, job, (messages, delaySeconds) =>
          sendAll(env.JOB_QUEUE, messages, delaySeconds),
        ).then(
          (done) => {
            msgLog.info("job page", { job_id: job.jobId, step: job.step, result: done });
            raw.ack();
          },
          async (thrown) => {
            const error = toSyncError(thrown);
            // Refused for good (a query the API rejects): the job fails now and says why.
            if (!error.retryable) await failJobPage(deps, raw, job, error, msgLog);
            else await settle(deps, raw, message, [{ status: "retry", error }], msgLog);
          },
        ),
      );
      continue;
    }
    // Coalesce: several events about one record in a batch are synced once (the latest event wins,
    // a merge is remembered). A dry run's records are planned apart from live ones.
    const dry = "dryRun" in message && message.dryRun === true;
    // A job's records matched through its match index are synced as a group of their own.
    const indexed =
      // Only a first delivery: a redelivered message may follow our own creates, which the index
      // (a snapshot that ignores the integration user's changes) cannot see.
      message.kind === "records.sync" && message.jobId && message.matchIndexSince && raw.attempts === 1
        ? { jobId: message.jobId, since: message.matchIndexSince }
        : undefined;
    const listing = message.kind === "records.sync" && message.jobId && message.side === "attio";
    const mapping = route.compiled.mapping.name;
    // A job page's Attio records are a group of their own (`part`): a page's two messages are
    // synced side by side, each its own Bulk job, under their own leases.
    const name = `${mapping}${dry ? DRY : ""}${indexed ? `|index=${indexed.jobId}` : ""}${listing ? `${PART}${routed.length}` : ""}`;
    if (indexed) matchIndexes.set(name, indexed);
    const group = groups.get(name) ?? new Map<string, Touch>();
    groups.set(name, group);
    if (listing) {
      const known = listedByGroup.get(name) ?? new Map<string, AttioRecord>();
      listedByGroup.set(name, known);
      for (const [id, record] of takeListed(route.compiled.mapping.attio_object, message.recordIds))
        known.set(id, record);
    } else {
      // Any other message about a record says it may have changed since a page listed it.
      for (const touch of route.touches) mustRead.add(`${mapping}|${touch.recordId}`);
    }
    const keys: string[] = [];
    for (const touch of route.touches) {
      const key = `${touch.side}:${touch.recordId}`;
      const earlier = group.get(key);
      group.set(key, {
        ...touch,
        attempt: raw.attempts,
        // A merge into a new record sends one record.merged per original: all are kept.
        mergedFrom: mergedFromBoth(earlier?.mergedFrom, touch.mergedFrom),
        // One event's values say nothing about another's: a record named twice is always read.
        event: earlier ? undefined : touch.event,
      });
      keys.push(`${name}|${key}`);
    }
    routed.push({ raw, message, keys });
  }

  for (const [name, known] of listedByGroup) {
    const mapping = name.split("|")[0];
    for (const id of known.keys()) if (mustRead.has(`${mapping}|${id}`)) known.delete(id);
  }

  const outcomes = new Map<string, TouchOutcome>();
  const options = engineOptions(deps, env, runtime);
  const runGroup = async (compiled: CompiledMapping, name: string, group: Map<string, Touch>) => {
    const index = matchIndexes.get(name);
    const engineOptions = {
      ...options(compiled.mapping.name),
      dryRun: name.includes(DRY),
      listed: listedByGroup.get(name),
      ...(index
        ? {
            matchIndex: {
              since: index.since,
              lookup: (keys: readonly string[]) => lookupMatchIndex(deps.db, index.jobId, compiled.mapping.name, keys),
            },
          }
        : {}),
    };
    const result = await syncMappingSliced(deps, compiled, [...group.values()], engineOptions);
    for (const [touch, outcome] of result) outcomes.set(`${name}|${touch.side}:${touch.recordId}`, outcome);
  };
  // Mappings run in configuration order (companies before people and deals) so parents link first.
  for (const compiled of runtime.mappings) {
    const own = [...groups].filter(([name]) => name.split("|")[0] === compiled.mapping.name);
    for (const [name, group] of own) if (!name.includes(PART)) await runGroup(compiled, name, group);
    // A job page's parts hold distinct records: side by side, one's Bulk waits overlap the other's work.
    await Promise.all(
      own.filter(([name]) => name.includes(PART)).map(([name, group]) => runGroup(compiled, name, group)),
    );
  }
  await Promise.all(jobPages);
  await saveUsage(deps, env.CURSORS);
  const perJob = new Map<string, JobOutcome[]>();
  for (const { raw, message, keys } of routed) {
    const results = keys.map((key) => outcomes.get(key) ?? missingOutcome());
    const msgLog = log.child({ correlation_id: message.correlationId });
    const final =
      message.kind === "records.sync"
        ? await settleRecords(deps, env, raw, message, keys, results, msgLog)
        : await settle(deps, raw, message, results, msgLog);
    if (!("jobId" in message) || !message.jobId) continue;
    const list = perJob.get(message.jobId) ?? [];
    perJob.set(message.jobId, list);
    for (const [index, key] of keys.entries()) {
      const result = results[index];
      const record = parseKey(key);
      // A retried record of a plain message is counted when its retry settles.
      if (result && record && (final || message.kind === "records.sync")) list.push({ ...record, outcome: result });
    }
  }
  for (const [jobId, list] of perJob) await recordJobOutcomes(deps.db, jobId, list);
}

/** A touched record the engine returned no outcome for (a bug): retried, never dropped. */
function missingOutcome(): TouchOutcome {
  return { status: "retry", error: toSyncError(new Error("no outcome for a touched record")) };
}

/** Group-name suffix of dry-run records. */
const DRY = "|dry-run";
/** Marks the group of one job message's listed Attio records. */
const PART = "|part=";

/** `mapping[|dry-run]|side:id` back to its parts. */
function parseKey(key: string): Omit<JobOutcome, "outcome"> | undefined {
  const parts = key.split("|");
  const [side, ...id] = (parts.at(-1) ?? "").split(":");
  if (side !== "attio" && side !== "salesforce") return undefined;
  return { mapping: parts[0] ?? "", side, recordId: id.join(":") };
}

/** Rounds after which a record of a `records.sync` message that still asks for a retry has failed. */
const MAX_RECORD_ROUNDS = 8;

/**
 * Settles a `records.sync` message record by record: the message is acked, failures are recorded per
 * record, and only the records that asked for a retry are sent again, in a new message delayed by
 * the longest wait they asked for. After MAX_RECORD_ROUNDS they are failures. Returns true (final).
 */
async function settleRecords(
  deps: SyncDeps,
  env: Env,
  raw: Message<unknown>,
  message: RecordsMessage,
  keys: string[],
  results: TouchOutcome[],
  log: Logger,
): Promise<boolean> {
  const retry: string[] = [];
  let wait = 0;
  let synced = 0;
  for (const [index, result] of results.entries()) {
    const recordId = parseKey(keys[index] ?? "")?.recordId ?? "";
    if (result.status === "retry" && message.attempt < MAX_RECORD_ROUNDS) {
      retry.push(recordId);
      wait = Math.max(wait, result.error.retryAfterSeconds ?? 0);
      continue;
    }
    const failure =
      result.status === "failed"
        ? result
        : result.status === "retry"
          ? { error: result.error, attempted: undefined }
          : undefined;
    if (!failure) {
      synced++;
      continue;
    }
    if (result.status === "retry") results[index] = { status: "failed", error: result.error };
    await recordFailure(deps.db, {
      id: `event:${message.dedupeKey}:${recordId}`,
      messageKind: message.kind,
      message: { ...message, recordIds: [recordId] },
      error: failure.error,
      attempted: failure.attempted,
      attempts: message.attempt,
      correlationId: message.correlationId,
      recordKey: `${message.side}:${message.mapping}:${recordId}`,
    });
  }
  if (retry.length > 0) {
    const delaySeconds = retryDelaySeconds(message.attempt, wait > 0 ? wait : undefined, Math.random());
    const again = recordsMessages(message.mapping, message.side, retry, message.reason, {
      ...(message.jobId ? { jobId: message.jobId } : {}),
      ...(message.dryRun ? { dryRun: true } : {}),
      attempt: message.attempt + 1,
      correlationId: message.correlationId,
    });
    await sendAll(message.jobId ? env.JOB_QUEUE : env.SYNC_QUEUE, again, delaySeconds);
    log.warn("retrying records", { records: retry.length, attempt: message.attempt, delay_seconds: delaySeconds });
  }
  log.info("synced records", { mapping: message.mapping, side: message.side, synced, retried: retry.length });
  raw.ack();
  return true;
}

async function parseAll(deps: SyncDeps, messages: readonly Message<unknown>[]) {
  const valid: { raw: Message<unknown>; message: SyncMessage }[] = [];
  for (const raw of messages) {
    const parsed = SyncMessageSchema.safeParse(raw.body);
    if (parsed.success) {
      valid.push({ raw, message: parsed.data });
      continue;
    }
    const issue = parsed.error.issues[0];
    await recordFailure(deps.db, {
      id: `msg:${raw.id}`,
      messageKind: "invalid",
      message: raw.body,
      error: toSyncError(new Error(`invalid message at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`)),
      attempts: raw.attempts,
      correlationId: raw.id,
    });
    deps.log.warn("invalid message recorded as failure", { message_id: raw.id });
    raw.ack();
  }
  return valid;
}

function engineOptions(deps: SyncDeps, env: Env, runtime: Runtime) {
  const requestSync: EngineOptions["requestSync"] = async (side, object, recordId) => {
    const body =
      side === "attio"
        ? internalAttioMessage(object, recordId, "parent of a deferred reference")
        : internalSalesforceMessage(object, recordId);
    await env.SYNC_QUEUE.send(body, { contentType: "json" });
  };
  const onLinked: EngineOptions["onLinked"] = async (pairs) => {
    const waiting = [
      ...(await takeWaiting(
        deps.db,
        "attio",
        pairs.map((p) => p.attioId),
      )),
      ...(await takeWaiting(
        deps.db,
        "salesforce",
        pairs.map((p) => p.sfId),
      )),
    ];
    for (const record of waiting) {
      const isSalesforce =
        runtime.bySalesforceObject(record.object) !== undefined && runtime.byAttioObject(record.object) === undefined;
      await requestSync(isSalesforce ? "salesforce" : "attio", record.object, record.recordId);
    }
  };
  return (mappingName: string): EngineOptions => ({
    deletePolicy: runtime.deletePolicy(mappingName),
    attioTitles: runtime.attioTitles(
      runtime.mappings.find((m) => m.mapping.name === mappingName)?.mapping.attio_object ?? "",
    ),
    strategy: runtime.strategy,
    direction: runtime.direction,
    requestSync,
    onLinked,
    users: () => loadDirectory(deps, env.CURSORS, runtime.directoryOptions),
    salesforceObjectFor: (attioObject) => runtime.byAttioObject(attioObject)?.mapping.salesforce_object,
  });
}

/**
 * Acks, retries or records the failure of one message from the outcomes of the records it touched.
 * Returns whether the outcomes are final (not retried).
 */
async function settle(
  deps: SyncDeps,
  raw: Message<unknown>,
  message: SyncMessage,
  results: TouchOutcome[],
  log: Logger,
): Promise<boolean> {
  const retries = results.filter((r): r is Extract<TouchOutcome, { status: "retry" }> => r.status === "retry");
  if (retries.length > 0) {
    const wait = Math.max(0, ...retries.map((r) => r.error.retryAfterSeconds ?? 0));
    const delaySeconds = retryDelaySeconds(raw.attempts, wait > 0 ? wait : undefined, Math.random());
    const first = retries[0]?.error as SyncError;
    log.warn("retrying", {
      code: first.code,
      error: first.message,
      attempts: raw.attempts,
      delay_seconds: delaySeconds,
    });
    raw.retry({ delaySeconds });
    return false;
  }
  for (const result of results) {
    if (result.status === "failed") {
      log.error("failed permanently", { code: result.error.code, error: result.error.message });
      await recordFailure(deps.db, {
        id: `event:${message.dedupeKey}`,
        messageKind: message.kind,
        message,
        error: result.error,
        attempted: result.attempted,
        attempts: raw.attempts,
        correlationId: message.correlationId,
        recordKey: recordKey(message),
      });
    } else if (result.status === "done") {
      log.info("synced", { outcome: result.action });
    }
  }
  raw.ack();
  return true;
}

/** A job page refused for good: the job is marked failed, the page recorded as a failure, and acked. */
async function failJobPage(deps: SyncDeps, raw: Message<unknown>, job: JobPageMessage, error: SyncError, log: Logger) {
  log.error("job page failed; the job is failed", { job_id: job.jobId, code: error.code, error: error.message });
  await failJob(deps.db, job.jobId, error);
  await recordFailure(deps.db, {
    id: `event:${job.dedupeKey}`,
    messageKind: job.kind,
    message: job,
    error,
    attempts: raw.attempts,
    correlationId: job.correlationId,
  });
  raw.ack();
}

/**
 * Change events were lost for an object (overflow, an expired replay id): its catch-up runs now
 * instead of at the next cron.
 */
async function runImmediateCatchup(
  deps: SyncDeps,
  env: Env,
  runtime: Runtime,
  raw: Message<unknown>,
  message: SyncMessage,
  salesforceObject: string,
  reason: string,
  log: Logger,
) {
  const compiled = runtime.bySalesforceObject(salesforceObject);
  if (!compiled) {
    log.info("catch-up skipped: object not mapped", { object: salesforceObject });
    raw.ack();
    return;
  }
  try {
    const report = await salesforceCatchup(deps, env.CURSORS, compiled, {
      now: new Date(),
      send: (messages) => sendAll(env.SYNC_QUEUE, messages),
    });
    log.info("immediate catch-up done", { object: salesforceObject, reason, ...report });
    raw.ack();
  } catch (thrown) {
    await settle(deps, raw, message, [{ status: "retry", error: toSyncError(thrown) }], log);
  }
}

function recordKey(message: SyncMessage): string {
  switch (message.kind) {
    case "job.page":
      return `job:${message.jobId}`;
    case "catchup.run":
      return `salesforce:${message.salesforceObject}:*`;
    case "attio.record":
      return `attio:${message.objectId}:${message.recordId}`;
    case "records.sync":
      return `${message.side}:${message.mapping}:${message.recordIds.length === 1 ? message.recordIds[0] : "*"}`;
    case "salesforce.change":
      return `salesforce:${message.header.entityName}:${[...message.header.recordIds].sort().join(",")}`;
  }
}

/**
 * Records messages that ran out of retries (from the dead-letter queue, or a bundle's spent events)
 * as failure rows and acks them, so nothing that failed is ever silently gone.
 */
async function recordDeadLetters(messages: readonly Message<unknown>[], env: Env, log: Logger): Promise<void> {
  const db = openDb(env.DB);
  for (const raw of messages) {
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
    if (message?.kind === "job.page") {
      await failJob(db, message.jobId, { code: "internal", message: "a page of the job ran out of retries" });
    }
    // A job's record that ran out of retries is counted as failed, so the job can still finish.
    if (message && "jobId" in message && message.jobId) {
      const outcome: TouchOutcome = { status: "failed", error: toSyncError(new Error("retries exhausted")) };
      const records =
        message.kind === "attio.record"
          ? [{ mapping: "", side: "attio" as const, recordId: message.recordId, outcome }]
          : message.kind === "salesforce.change"
            ? message.header.recordIds.map((recordId) => ({
                mapping: "",
                side: "salesforce" as const,
                recordId,
                outcome,
              }))
            : message.kind === "records.sync"
              ? message.recordIds.map((recordId) => ({
                  mapping: message.mapping,
                  side: message.side,
                  recordId,
                  outcome,
                }))
              : [];
      await recordJobOutcomes(db, message.jobId, records);
    }
    raw.ack();
  }
}

function mergedFromBoth(
  earlier: readonly string[] | undefined,
  later: readonly string[] | undefined,
): readonly string[] | undefined {
  if (!earlier) return later;
  if (!later) return earlier;
  return [...new Set([...earlier, ...later])];
}
