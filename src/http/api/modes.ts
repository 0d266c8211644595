import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type CatchupPreview, catchupPreview } from "../../cron/catchup.ts";
import { countMappings } from "../../store/mappings.ts";
import type { SyncDeps } from "../../sync/deps.ts";
import { changeMode, type ModeAction, type ModeChange } from "../../sync/mode.ts";
import { type DrainReport, drainNow } from "../../sync/parked.ts";
import { loadRuntime } from "../../sync/runtime.ts";
import type { AppEnv } from "../types.ts";
import { define, depsOf, errorResponses, json, operatorName } from "./common.ts";

const ModeEnum = z.enum(["setup", "running", "paused"]);

const ModeAnswer = z.object({
  mode: ModeEnum,
  previous_mode: ModeEnum,
  changed: z
    .boolean()
    .openapi({ description: "False when the deployment was already in this mode (the call is a no-op)" }),
  since: z.string(),
  changed_by: z.string(),
});

const Delivery = z
  .object({
    state: z.enum(["sent", "waiting", "nothing_held"]),
    sent: z.number().openapi({ description: "Held (and parked) changes sent to the queues now" }),
    left: z.number().openapi({ description: "Changes still waiting: sent by the next drains, each minute" }),
    error: z.string().optional().openapi({ description: "`waiting`: why (an API does not answer)" }),
  })
  .openapi("HeldDelivery", {
    description:
      "The held changes are sent again once both APIs answer (one cheap call each); the engine reads each record again, so a burst of edits of one record is written once",
  });

const Side = <T extends z.ZodRawShape>(shape: T) =>
  z.union([z.object({ ok: z.literal(true), ...shape }), z.object({ ok: z.literal(false), error: z.string() })]);

const FirstCatchup = z
  .object({
    mapping: z.string(),
    salesforce: Side({
      object: z.string(),
      changed_since: z.string(),
      records: z.number().openapi({ description: "Records changed since `changed_since` (SOQL COUNT())" }),
      per_run_limit: z.number().openapi({ description: "Records one catch-up run reads; more take several runs" }),
    }),
    attio: Side({
      object: z.string(),
      records: z.number().openapi({ description: "Records the scan will compare with their last synced values" }),
      exact: z.boolean().openapi({ description: "False: `records` is a lower bound (a very large object)" }),
      linked: z.number().openapi({ description: "Pairs already linked; the others are matched or created" }),
    }),
  })
  .openapi("FirstCatchup");

/** `setup` -> `running` -> `paused` -> `running`: who may write to the CRMs (sync/mode.ts). */
export function modeRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "post",
      path: "/start",
      summary: "Start a new deployment (setup -> running): the held changes are delivered and the catch-up begins",
      description:
        "A new deployment starts in `setup`: changes are verified and held, nothing is written to either CRM. Starting it delivers what was held and lets the next cron run the first catch-up; the answer says what that catch-up will consider on each side. A non-dry-run sync job (POST /api/v1/sync) starts it too. Starting a running deployment changes nothing; a paused one answers 409 (POST /api/v1/resume).",
      responses: {
        200: json(
          ModeAnswer.extend({
            delivery: Delivery.nullable(),
            first_catch_up: z.array(FirstCatchup).nullable().openapi({
              description: "Per enabled mapping, what the first catch-up will consider; null when already running",
            }),
          }),
          "Started (or already running)",
        ),
        409: errorResponses[409],
      },
    },
    async (c) => {
      const deps = depsOf(c);
      const change = await applyAction(c, deps, "start");
      const preview = change.moved ? await firstCatchup(c, deps) : null;
      const delivery = change.mode === "running" ? await deliver(c, deps) : null;
      return c.json({ ...modeAnswer(change), delivery, first_catch_up: preview }, 200);
    },
  );

  define(
    app,
    {
      method: "post",
      path: "/pause",
      summary: "Pause: stop every write to both CRMs within seconds; what arrives meanwhile is held",
      description:
        "Live events, job records, the catch-up and replays are held from the next queue batch on; a batch already reading stops before it writes, one already writing finishes its writes. Conflict resolutions and delete decisions answer 409 until resumed. Pausing a paused deployment changes nothing; one in setup answers 409.",
      responses: { 200: json(ModeAnswer, "Paused (or already paused)"), 409: errorResponses[409] },
    },
    async (c) => c.json(modeAnswer(await applyAction(c, depsOf(c), "pause")), 200),
  );

  define(
    app,
    {
      method: "post",
      path: "/resume",
      summary: "Resume: deliver what was held, each change once, and sync again",
      description:
        "Resuming a running deployment only delivers what may still wait; one in setup answers 409 (POST /api/v1/start).",
      responses: {
        200: json(ModeAnswer.extend({ delivery: Delivery }), "Running; the held changes sent"),
        409: errorResponses[409],
      },
    },
    async (c) => {
      const deps = depsOf(c);
      const change = await applyAction(c, deps, "resume");
      return c.json({ ...modeAnswer(change), delivery: await deliver(c, deps) }, 200);
    },
  );
}

async function applyAction(c: Context<AppEnv>, deps: SyncDeps, action: ModeAction): Promise<ModeChange> {
  const change = await changeMode(deps.db, c.env.CURSORS, action, operatorName(c.var.adminTokenUsed));
  if (change.moved) c.var.log.info("mode changed", { from: change.from, to: change.mode, by: change.changedBy });
  return change;
}

function modeAnswer(change: ModeChange) {
  return {
    mode: change.mode,
    previous_mode: change.from,
    changed: change.moved,
    since: change.since,
    changed_by: change.changedBy,
  };
}

/** Sends the held changes (and any an outage parked) now that the deployment runs. */
async function deliver(c: Context<AppEnv>, deps: SyncDeps): Promise<z.infer<typeof Delivery>> {
  const report: DrainReport = await drainNow(deps, c.env, new Date());
  switch (report.kind) {
    case "empty":
      return { state: "nothing_held", sent: 0, left: 0 };
    case "waiting":
      return { state: "waiting", sent: 0, left: report.parked, error: report.error };
    case "sent":
      c.var.log.info("held changes delivered", { sent: report.sent, left: report.left });
      return { state: "sent", sent: report.sent, left: report.left };
  }
}

/** What the first catch-up will consider, per enabled mapping. */
async function firstCatchup(c: Context<AppEnv>, deps: SyncDeps) {
  const runtime = await loadRuntime(deps, c.env.CURSORS, "best_effort");
  const linked = await countMappings(deps.db);
  const now = new Date();
  const previews = await Promise.all(
    runtime.mappings.map((compiled) => {
      const { attio_object: attioObject, salesforce_object: sfObject } = compiled.mapping;
      return catchupPreview(deps, c.env.CURSORS, compiled, now, linked[`${attioObject}:${sfObject}`] ?? 0);
    }),
  );
  return previews.map(previewBody);
}

function previewBody(preview: CatchupPreview) {
  const { salesforce: sf, attio } = preview;
  return {
    mapping: preview.mapping,
    salesforce: sf.ok
      ? {
          ok: true as const,
          object: sf.object,
          changed_since: sf.changedSince,
          records: sf.records,
          per_run_limit: sf.perRunLimit,
        }
      : sf,
    attio: attio.ok
      ? {
          ok: true as const,
          object: attio.object,
          records: attio.records,
          exact: attio.exact,
          linked: attio.linked,
        }
      : attio,
  };
}
