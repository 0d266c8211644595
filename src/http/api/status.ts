import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type BucketName, type Buckets, bucketsFor, steadyRate } from "../../durable/limits.ts";
import { VERSION } from "../../lib/version.ts";
import { budgetExhausted } from "../../salesforce/usage.ts";
import { lastWrites } from "../../store/audit.ts";
import { countOpenConflicts, openConflictsByObject } from "../../store/conflicts.ts";
import { type Db, openDb } from "../../store/db.ts";
import { countPendingDeletes, pendingDeletesByObject } from "../../store/deletes.ts";
import { countOpenFailures } from "../../store/failures.ts";
import { countMappings } from "../../store/mappings.ts";
import { countOpenAmbiguousMatches, openAmbiguousMatchesByObject } from "../../store/matches.ts";
import { countOpenWarnings, openWarningsByMapping } from "../../store/warnings.ts";
import { EchoFilterStateSchema } from "../../sync/echo-filter.ts";
import { problemsOf } from "../../sync/health.ts";
import { readHealth } from "../../sync/health-facts.ts";
import { readBacklog } from "../../sync/queue-depth.ts";
import type { Runtime } from "../../sync/runtime.ts";
import type { AppEnv } from "../types.ts";
import { define, depsOf, json } from "./common.ts";

const Probe = z.object({ ok: z.boolean(), error: z.string().optional(), code: z.string().optional() });

const ProblemSchema = z
  .object({
    code: z.string().openapi({ example: "mapping_disabled" }),
    message: z.string(),
    affects: z.string().openapi({ example: "mapping deals" }),
    action: z.string(),
    since: z.string().optional(),
  })
  .openapi("Problem");

const StatusSchema = z
  .object({
    healthy: z.boolean().openapi({ description: "True only when `problems` is empty" }),
    problems: z.array(ProblemSchema).openapi({
      description:
        "Everything an operator must look at: a binding or CRM unreachable or refusing our credentials, a mapping switched off or running without a field, a catch-up failing run after run or falling behind, a failed job, recent failures, changes waiting for an API, the Salesforce API budget inside its reserve, deletes or updates a breaker holds, dead letters that cannot be recorded, a stale cron. Each one opening or clearing is posted to ALERT_WEBHOOK_URL when set",
    }),
    mode: z.enum(["setup", "running", "paused"]).nullable().openapi({
      description:
        "`setup` (a new deployment: nothing is written to either CRM until POST /api/v1/start), `running`, or `paused` (POST /api/v1/pause; POST /api/v1/resume delivers what was held); null when D1 does not answer",
    }),
    mode_since: z.string().nullable().openapi({ description: "When the deployment entered its mode" }),
    mode_changed_by: z.string().nullable().openapi({
      description:
        "Who moved it there: `operator:admin-token`, `job:<id>` (a sync job that writes starts a new deployment), `upgrade`, `new deployment`",
    }),
    held_changes: z.number().nullable().openapi({
      description:
        "Changes kept while the deployment was not running (in `parked` with reason `setup` or `paused`), delivered when it runs",
    }),
    version: z.string(),
    direction: z.string(),
    bindings: z.object({
      d1: Probe,
      kv: Probe,
      queue: Probe,
      job_queue: Probe,
      record_lock: Probe,
      rate_limiter: Probe,
    }),
    dependencies: z
      .object({ attio: Probe, salesforce: Probe })
      .openapi({ description: "Attio reachable with a valid token; a Salesforce token obtainable" }),
    mapped_records: z.record(z.string(), z.number()).openapi({ example: { "people:Contact": 12 } }),
    open_failures: z.number().nullable(),
    parked: z
      .array(z.object({ reason: z.string(), count: z.number(), since: z.string(), last_error: z.string() }))
      .nullable()
      .openapi({
        description:
          "Changes waiting, not failed, for an API to answer (reason `upstream_unavailable` or `daily_limit`): sent again on their own within a minute of recovery",
      }),
    open_warnings: z.number().nullable().openapi({
      description: "Values not written because the other side cannot take them (GET /api/v1/failures?severity=warning)",
    }),
    open_conflicts: z.number().nullable(),
    pending_deletes: z.number().nullable(),
    held_delete_batches: z
      .array(z.object({ batch_id: z.string(), attio_object: z.string(), deletes: z.number(), detected_at: z.string() }))
      .nullable()
      .openapi({
        description:
          "Deletes the mass-delete circuit breaker held (more in one run than max(20, 2% of the mapping's pairs)), per batch: approve or reject each in GET /api/v1/deletes",
      }),
    ambiguous_matches: z.number().nullable(),
    last_cron_run: z.unknown().nullable(),
    mapping_issues: z
      .array(
        z.object({ severity: z.string(), code: z.string(), mapping: z.string(), message: z.string() }).passthrough(),
      )
      .nullable()
      .openapi({
        description: "Problems found checking the mappings against both live schemas; a mapping with an error is off",
      }),
    mappings: z
      .array(
        z.object({
          name: z.string(),
          attio_object: z.string(),
          salesforce_object: z.string(),
          linked: z.number(),
          last_write: z.object({ attio_to_sf: z.string().nullable(), sf_to_attio: z.string().nullable() }),
          open_conflicts: z.number(),
          open_warnings: z.number(),
          pending_deletes: z.number(),
          ambiguous_matches: z.number(),
          catch_up: z.object({ salesforce: z.unknown().nullable(), attio: z.unknown().nullable() }),
        }),
      )
      .nullable()
      .openapi({ description: "Per enabled mapping: linked pairs, last write each way, open work, last catch-up" }),
    catch_up: z.record(z.string(), z.unknown()).nullable().openapi({
      description: "Last catch-up per object: records queued, deletes, reconciled-through time, pause reason",
    }),
    rate_limits: z
      .record(
        z.string(),
        z.object({ rate_per_second: z.number(), tokens: z.number(), blocked_until: z.string().nullable() }),
      )
      .openapi({
        description:
          "The shared limiters (Attio: sliding windows; Salesforce: a token bucket): steady rate, calls available now, and a 429's block if any",
      }),
    attio_own_actor: z
      .object({ type: z.string(), id: z.string().nullable() })
      .nullable()
      .openapi({ description: "Our own Attio actor once learned: the echoes of our writes are dropped on arrival" }),
    attio_echo_filter: z.array(EchoFilterStateSchema).nullable().openapi({
      description:
        "Each Attio webhook an echo of our own write arrived through, and whether its subscriptions now leave our actor out. `filtered`: Attio no longer delivers our own events; `partial`: the subscriptions in `unfiltered_events` have an `$or` filter; `failed`: the webhook could not be changed (`reason`). An echo that still arrives is dropped on arrival. Null when KV does not answer",
    }),
    queue_backlog: z
      .object({
        estimate: z.number().openapi({ description: "`sent - settled`, never below zero" }),
        sent: z.number().openapi({ description: "Messages sent to the sync and jobs queues, ever" }),
        settled: z.number().openapi({
          description:
            "Messages settled for good, ever: acked by a live consumer, or recorded as a failure by the dead-letter consumer",
        }),
      })
      .nullable()
      .openapi({
        description:
          "An estimate of the messages waiting in the queues (delayed ones included): the Worker counts what it sends and what its consumers settle, since a binding reports no depth. Duplicate deliveries make it read low, a count lost while D1 was out makes it drift (docs/CONSOLE.md). Null when D1 does not answer",
      }),
    salesforce_api: z
      .object({ used: z.number(), limit: z.number(), at: z.string(), reserve: z.number(), paused: z.boolean() })
      .nullable()
      .openapi({ description: "Daily API usage from Sforce-Limit-Info; background work pauses inside the reserve" }),
  })
  .openapi("Status");

export function statusRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "get",
      path: "/status",
      summary: "Sync health: bindings, linked records, open work",
      responses: { 200: json(StatusSchema, "Current status") },
    },
    status,
  );
}

async function status(c: Context<AppEnv>): Promise<Response> {
  const db = openDb(c.env.DB);
  const deps = depsOf(c);
  const readings = await readHealth(deps, c.env, new Date());
  const { d1, runtime, lastRun, catchup, usage, ownActor, echoFilter, parked, heldBatches, mode, held } = readings;
  const counts = d1.ok
    ? await Promise.all([
        countMappings(db),
        countOpenFailures(db),
        countOpenConflicts(db),
        countPendingDeletes(db),
        countOpenAmbiguousMatches(db),
        countOpenWarnings(db),
      ])
    : [{}, null, null, null, null, null];
  const reserve = c.var.config.SALESFORCE_BUDGET_RESERVE;
  const { bindings, dependencies } = readings.facts;
  const problems = problemsOf(readings.facts);
  const warningsByMapping = d1.ok ? await openWarningsByMapping(db) : {};
  const backlog = d1.ok ? await readBacklog(c.env) : null;
  return c.json(
    {
      healthy: problems.length === 0,
      problems,
      mode: mode?.mode ?? null,
      mode_since: mode?.since ?? null,
      mode_changed_by: mode?.changedBy ?? null,
      held_changes: held,
      version: VERSION,
      direction: c.var.config.SYNC_DIRECTION,
      bindings,
      dependencies,
      mapped_records: counts[0],
      open_failures: counts[1],
      parked: parked
        ? parked.map((group) => ({
            reason: group.reason,
            count: group.count,
            since: group.since,
            last_error: group.lastError,
          }))
        : null,
      open_conflicts: counts[2],
      pending_deletes: counts[3],
      held_delete_batches:
        heldBatches?.map((b) => ({
          batch_id: b.batchId,
          attio_object: b.object,
          deletes: b.deletes,
          detected_at: b.detectedAt,
        })) ?? null,
      ambiguous_matches: counts[4],
      open_warnings: counts[5],
      last_cron_run: lastRun,
      mappings: runtime ? await perMapping(db, runtime, catchup?.objects ?? {}, warningsByMapping) : null,
      mapping_issues: runtime?.issues ?? null,
      catch_up: catchup?.objects ?? null,
      rate_limits: await rateLimits(
        c.env,
        bucketsFor({
          attioReadsPerSecond: c.var.config.ATTIO_READS_PER_SECOND,
          attioWritesPerSecond: c.var.config.ATTIO_WRITES_PER_SECOND,
          salesforceCallsPerSecond: c.var.config.SALESFORCE_CALLS_PER_SECOND,
        }),
      ),
      // Once known, the echoes of our own Attio writes are dropped by the webhook (attio/own-actor.ts).
      attio_own_actor: ownActor,
      attio_echo_filter: echoFilter ? Object.values(echoFilter) : null,
      queue_backlog: backlog,
      salesforce_api: usage ? { ...usage, reserve, paused: budgetExhausted(usage, reserve) } : null,
    },
    200,
  );
}

/** The status of each enabled mapping, from a handful of grouped D1 queries. */
async function perMapping(
  db: Db,
  runtime: Runtime,
  catchup: Record<string, unknown>,
  warnings: Record<string, number>,
) {
  const [linked, writes, openConflicts, held, ambiguous] = await Promise.all([
    countMappings(db),
    lastWrites(db),
    openConflictsByObject(db),
    pendingDeletesByObject(db),
    openAmbiguousMatchesByObject(db),
  ]);
  const count = (rows: { object: string | null; n: number }[], ...objects: string[]) =>
    rows.filter((r) => r.object !== null && objects.includes(r.object)).reduce((sum, r) => sum + r.n, 0);
  return runtime.mappings.map(({ mapping }) => {
    const last = (direction: string) =>
      writes.find((w) => w.object === mapping.attio_object && w.direction === direction)?.at ?? null;
    return {
      name: mapping.name,
      attio_object: mapping.attio_object,
      salesforce_object: mapping.salesforce_object,
      linked: linked[`${mapping.attio_object}:${mapping.salesforce_object}`] ?? 0,
      last_write: { attio_to_sf: last("attio_to_sf"), sf_to_attio: last("sf_to_attio") },
      open_conflicts: count(openConflicts, mapping.attio_object),
      open_warnings: warnings[mapping.name] ?? 0,
      pending_deletes: count(held, mapping.attio_object),
      ambiguous_matches: count(ambiguous, mapping.attio_object, mapping.salesforce_object),
      catch_up: {
        salesforce: catchup[mapping.salesforce_object] ?? null,
        attio: catchup[mapping.attio_object] ?? null,
      },
    };
  });
}

async function rateLimits(env: Env, buckets: Buckets) {
  const entries = await Promise.all(
    (Object.keys(buckets) as BucketName[]).map(async (name) => {
      const spec = buckets[name];
      const state = await env.RATE_LIMITER.getByName(name).inspect(spec);
      const blocked = state.blockedUntil ? new Date(state.blockedUntil).toISOString() : null;
      return [name, { rate_per_second: steadyRate(spec), tokens: state.tokens, blocked_until: blocked }] as const;
    }),
  );
  return Object.fromEntries(entries);
}
