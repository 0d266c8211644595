import { type EnvConfig, parseEnvConfig } from "../config/env.ts";
import type { EngineOptions } from "../engine/options.ts";
import { type JobOutcome, recordJobOutcomes } from "../jobs/jobs.ts";
import { takeListed } from "../jobs/listed.ts";
import { toSyncError } from "../lib/errors.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import type { TouchOutcome } from "../plan/outcome.ts";
import type { Touch } from "../plan/touch.ts";
import { recordFailure } from "../store/failures.ts";
import { lookupMatchIndex } from "../store/jobs.ts";
import { deadLetterDelaySeconds, retryDelaySeconds } from "../sync/backoff.ts";
import { saveUsage } from "../sync/budget.ts";
import { openBundles } from "../sync/bundles.ts";
import { deferredReferences } from "../sync/deferred.ts";
import { buildDeps, type SyncDeps } from "../sync/deps.ts";
import { loadDirectory } from "../sync/directory.ts";
import { markDeadLettersDraining, markDeadLettersStuck } from "../sync/health-marks.ts";
import { type SyncMessage, SyncMessageSchema } from "../sync/messages.ts";
import { assertRunning, currentMode } from "../sync/mode.ts";
import { sendAgain } from "../sync/parked.ts";
import { loadRuntime, type Runtime, storedConfig } from "../sync/runtime.ts";
import { closeBundles, recordDeadLetters } from "./dead-letters.ts";
import { type Group, groupTouches, type TouchRoute } from "./group.ts";
import { runDrain, runImmediateCatchup, runJobPage } from "./handlers.ts";
import { holdUnlessRunning } from "./hold.ts";
import { dropHandledBackups } from "./inline-backup.ts";
import { routeMessage } from "./route.ts";
import { missingOutcome, settle, settleRecords } from "./settle.ts";
import { syncMappingSliced } from "./slices.ts";

interface Parsed {
  raw: Message<unknown>;
  message: SyncMessage;
}

/**
 * The queue consumer. Messages are turned into touched records, coalesced per record, and synced
 * per mapping by the engine; every message is then acked, retried with backoff, or recorded as a
 * failure on its own, so one bad record never holds back the rest of its batch.
 */
export async function handleQueueBatch(
  batch: Pick<MessageBatch<unknown>, "queue" | "messages">,
  env: Env,
  /** What the live fast path changes in its runs (queue/inline.ts). */
  run: Pick<EngineOptions, "leaseWaitMs"> = {},
): Promise<void> {
  const config = parseEnvConfig(env);
  const log = createLogger(config.LOG_LEVEL, { queue: batch.queue });
  // Bundled events are handled one by one, like messages of their own.
  const { messages, bundles } = openBundles(batch.messages);
  if (batch.queue.endsWith("-dlq")) {
    // A bundle's events are recorded one per failure, so each can be replayed alone. One that
    // cannot be recorded (D1 down) is delivered again later; /api/v1/status reports them as stuck.
    const stuck = await recordDeadLetters(messages, env, log);
    if (stuck) await markDeadLettersStuck(env.CURSORS, stuck, new Date());
    else await markDeadLettersDraining(env.CURSORS);
    for (const open of bundles) {
      const recorded = open.members.every((m) => m.settled.state === "acked");
      if (recorded) open.raw.ack();
      else open.raw.retry({ delaySeconds: deadLetterDelaySeconds(open.raw.attempts) });
    }
    return;
  }
  // Bundles are acked (and what asked for a retry sent again) once the batch is done, however it ends.
  try {
    await handleMessages(messages, env, config, log, run);
  } finally {
    await closeBundles(bundles, env, log);
  }
}

/** Parse; route and group (pure); run each group through the engine; settle each message. */
async function handleMessages(
  batchMessages: readonly Message<unknown>[],
  env: Env,
  config: EnvConfig,
  log: Logger,
  run: Pick<EngineOptions, "leaseWaitMs">,
): Promise<void> {
  const deps = buildDeps(env, config, log);
  let valid = await parseAll(deps, batchMessages);
  if (valid.length === 0) return;
  valid = await dropHandledBackups(env, valid);
  if (valid.length === 0) return;
  let runtime: Runtime;
  // Beside the mode: a D1 read, never a CRM call, so it may start before the mode is known.
  const stored = storedConfig(deps);
  try {
    // Read per batch, never cached: a pause holds the next batch of every consumer.
    const { mode } = await currentMode(deps.db, env.CURSORS);
    if (mode !== "running") valid = await holdUnlessRunning(deps, mode, valid);
    if (valid.length === 0) return;
    runtime = await loadRuntime(deps, env.CURSORS, "required", stored);
  } catch (thrown) {
    // Without its mode or a valid configuration nothing can be synced: keep every message for later.
    const error = toSyncError(thrown);
    log.error("the mode or the configuration cannot be loaded", { code: error.code, error: error.message });
    const deliveries = config.QUEUE_MAX_RETRIES + 1;
    // D1 out (the mode and the stored configuration live there) must not spend a change's last
    // delivery: it goes back to its queue as a new message. An invalid configuration is no outage:
    // its changes run out of retries and are recorded as failures, with that error.
    const last = error.code === "config_invalid" ? [] : valid.filter(({ raw }) => raw.attempts >= deliveries);
    if (last.length > 0) {
      await sendAgain(
        env,
        last.map(({ message }) => ({ queue: "jobId" in message && message.jobId ? "jobs" : "sync", message })),
      );
    }
    for (const { raw } of valid) {
      if (last.some((p) => p.raw === raw)) raw.ack();
      else raw.retry({ delaySeconds: retryDelaySeconds(raw.attempts, undefined) });
    }
    return;
  }
  const { routed, jobPages } = await routeAll(deps, env, runtime, valid);
  const { groups, refs } = groupTouches(routed.map((r) => r.route));
  const outcomes = await runGroups(deps, env, runtime, groups, run);
  await Promise.all(jobPages);
  await saveUsage(deps, env.CURSORS);
  const perJob = new Map<string, JobOutcome[]>();
  for (const [index, { raw, route }] of routed.entries()) {
    const { message } = route;
    const touched = refs[index] ?? [];
    const results = touched.map((ref) => {
      const touch = ref.group.touches.get(ref.touchKey);
      return (touch && outcomes.get(touch)) ?? missingOutcome();
    });
    const msgLog = log.child({ correlation_id: message.correlationId });
    const final =
      message.kind === "records.sync"
        ? await settleRecords(
            deps,
            env,
            raw,
            message,
            touched.map((ref) => ref.recordId),
            results,
            msgLog,
          )
        : await settle(deps, env, raw, message, results, msgLog);
    if (!("jobId" in message) || !message.jobId) continue;
    const list = perJob.get(message.jobId) ?? [];
    perJob.set(message.jobId, list);
    for (const [i, ref] of touched.entries()) {
      const outcome = results[i];
      // A retried record of a plain message is counted when its retry settles.
      if (outcome && (final || message.kind === "records.sync")) {
        list.push({ mapping: ref.group.key.mapping, side: ref.side, recordId: ref.recordId, outcome });
      }
    }
  }
  for (const [jobId, list] of perJob) await recordJobOutcomes(deps.db, jobId, list);
}

/**
 * Routes each message: touches for the engine are returned; a catch-up request or a job page runs
 * here (a job page while the batch's records sync: its next page is in the same batch as the
 * records of the page before it, and their writes should not wait for it); the rest are acked.
 */
async function routeAll(deps: SyncDeps, env: Env, runtime: Runtime, valid: readonly Parsed[]) {
  const routed: { raw: Message<unknown>; route: TouchRoute }[] = [];
  const jobPages: Promise<void>[] = [];
  for (const { raw, message } of valid) {
    const msgLog = deps.log.child({ correlation_id: message.correlationId });
    try {
      const route = await routeMessage(deps, runtime, message);
      switch (route.kind) {
        case "skip":
          msgLog.info("skipped", { reason: route.reason });
          raw.ack();
          break;
        case "catchup":
          await runImmediateCatchup(deps, env, runtime, raw, message, route.salesforceObject, route.reason, msgLog);
          break;
        case "job":
          jobPages.push(runJobPage(deps, env, runtime, raw, route.message, msgLog));
          break;
        case "drain":
          await runDrain(deps, env, raw, route.message, msgLog);
          break;
        case "touches": {
          const listing = message.kind === "records.sync" && message.jobId && message.side === "attio";
          const listed = listing ? takeListed(route.compiled.mapping.attio_object, message.recordIds) : undefined;
          routed.push({
            raw,
            route: { message, attempts: raw.attempts, compiled: route.compiled, touches: route.touches, listed },
          });
          break;
        }
      }
    } catch (thrown) {
      await settle(deps, env, raw, message, [{ status: "retry", error: toSyncError(thrown) }], msgLog);
    }
  }
  return { routed, jobPages };
}

/**
 * Runs the groups in configuration order (companies before people and deals, so parents link
 * first). A job page's parts hold distinct records: they run side by side, so one's Bulk waits
 * overlap the other's work.
 */
async function runGroups(
  deps: SyncDeps,
  env: Env,
  runtime: Runtime,
  groups: readonly Group[],
  run: Pick<EngineOptions, "leaseWaitMs">,
): Promise<Map<Touch, TouchOutcome>> {
  const outcomes = new Map<Touch, TouchOutcome>();
  const options = engineOptions(deps, env, runtime);
  const runGroup = async (group: Group) => {
    const { key, compiled } = group;
    const index = key.matchIndex;
    const result = await syncMappingSliced(deps, compiled, [...group.touches.values()], {
      ...options(compiled.mapping.name),
      ...run,
      dryRun: key.dryRun,
      // A pause that came while this run read stops it before it writes (its touches are held).
      ...(key.dryRun ? {} : { beforeWriting: () => assertRunning(deps.db, env.CURSORS) }),
      listed: group.listed,
      release: key.release,
      ...(index
        ? {
            matchIndex: {
              since: index.since,
              lookup: (keys: readonly string[]) => lookupMatchIndex(deps.db, index.jobId, compiled.mapping.name, keys),
            },
          }
        : {}),
    });
    for (const [touch, outcome] of result) outcomes.set(touch, outcome);
  };
  for (const compiled of runtime.mappings) {
    const own = groups.filter((group) => group.key.mapping === compiled.mapping.name);
    for (const group of own) if (group.key.part === undefined) await runGroup(group);
    await Promise.all(own.filter((group) => group.key.part !== undefined).map(runGroup));
  }
  return outcomes;
}

async function parseAll(deps: SyncDeps, messages: readonly Message<unknown>[]): Promise<Parsed[]> {
  const valid: Parsed[] = [];
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

/** The engine's options per mapping, from the runtime (policy, titles, owners) and the deferred references. */
function engineOptions(deps: SyncDeps, env: Env, runtime: Runtime) {
  const deferred = deferredReferences(deps, env.SYNC_QUEUE, runtime);
  return (mappingName: string): EngineOptions => ({
    deletePolicy: runtime.deletePolicy(mappingName),
    attioTitles: runtime.attioTitles(
      runtime.mappings.find((m) => m.mapping.name === mappingName)?.mapping.attio_object ?? "",
    ),
    strategy: runtime.strategy,
    direction: runtime.direction,
    massUpdates: runtime.breaker,
    defer: deferred.defer,
    requestSync: deferred.requestSync,
    onLinked: deferred.onLinked,
    users: () => loadDirectory(deps, env.CURSORS, runtime.directoryOptions),
  });
}
