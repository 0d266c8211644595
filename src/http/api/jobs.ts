import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { createJob, jobReport } from "../../jobs/jobs.ts";
import { SyncError } from "../../lib/errors.ts";
import { openDb } from "../../store/db.ts";
import { JobParamsSchema } from "../../store/job-schemas.ts";
import { cancelJob, recentJobIds } from "../../store/jobs.ts";
import { changeMode, currentMode, type Mode } from "../../sync/mode.ts";
import { drainNow } from "../../sync/parked.ts";
import { loadRuntime } from "../../sync/runtime.ts";
import type { AppEnv } from "../types.ts";
import { define, depsOf, errorResponses, json } from "./common.ts";

const JobId = z.strictObject({ id: z.uuid() });
const JobSchema = z
  .object({
    id: z.string(),
    state: z.enum(["queued", "running", "done", "failed", "cancelled"]),
    mode: z.string(),
    dry_run: z.boolean(),
    progress: z.record(z.string(), z.unknown()),
    enqueued: z.number(),
    counts: z.record(z.string(), z.number()),
    errors: z.array(z.unknown()),
    plan: z.array(z.unknown()).optional().openapi({ description: "Dry runs: what each record would get (first 200)" }),
  })
  .passthrough()
  .openapi("SyncJob");

/** Initial, manual and dry-run syncs, run through the queue in pages. */
export function jobRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "post",
      path: "/sync",
      summary: "Start a sync job (full, incremental or given records; optionally a dry run); returns its id at once",
      description:
        "A job that writes (not a dry run) starts a deployment in setup (`mode` becomes `running`, as POST /api/v1/start does); while paused it waits, held, until POST /api/v1/resume. Dry runs run in any mode.",
      // A copy built here: the store's schema may be built before @hono/zod-openapi gives zod `.openapi`.
      body: z.strictObject(JobParamsSchema.shape).openapi("SyncJobRequest"),
      responses: {
        202: json(
          z.object({
            id: z.string(),
            state: z.string(),
            mode: z.enum(["setup", "running", "paused"]).openapi({
              description: "The deployment's mode once the job is created: `paused` means the job waits",
            }),
          }),
          "Job created",
        ),
      },
    },
    async (c, { body }) => {
      const deps = depsOf(c);
      const runtime = await loadRuntime(deps, c.env.CURSORS);
      if (body.mode === "records" && !body.record_ids?.attio?.length && !body.record_ids?.salesforce?.length) {
        throw new SyncError("bad_request", "mode records needs record_ids.attio or record_ids.salesforce", {
          status: 400,
        });
      }
      const { id, message } = await createJob(deps.db, runtime, body);
      // Before its first page is sent, so that the page is not held in setup.
      let mode: Mode;
      if (body.dry_run) mode = (await currentMode(deps.db, c.env.CURSORS)).mode;
      else {
        const change = await changeMode(deps.db, c.env.CURSORS, "job", `job:${id}`);
        mode = change.mode;
        if (change.moved) {
          c.var.log.info("a sync job started the deployment", { job_id: id });
          await drainNow(deps, c.env, new Date());
        }
      }
      await c.env.JOB_QUEUE.send(message, { contentType: "json" });
      c.var.log.info("sync job created", { job_id: id, mode: body.mode, dry_run: body.dry_run });
      return c.json({ id, state: "queued", mode }, 202);
    },
  );

  define(
    app,
    {
      method: "get",
      path: "/sync",
      summary: "The newest sync jobs first, each as GET /sync/{id} reports it without its plan",
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(50).default(20) }),
      responses: { 200: json(z.object({ items: z.array(JobSchema) }), "Jobs, newest first") },
    },
    async (c, { query }) => {
      const db = openDb(c.env.DB);
      const items = [];
      for (const id of await recentJobIds(db, query.limit)) {
        const report = await jobReport(db, id, { plan: false });
        if (report) items.push(report);
      }
      return c.json({ items }, 200);
    },
  );

  define(
    app,
    {
      method: "get",
      path: "/sync/{id}",
      summary: "A job's state, progress per object, counts and a sample of errors",
      params: JobId,
      responses: { 200: json(JobSchema, "The job"), 404: errorResponses[404] },
    },
    async (c, { params }) => {
      const report = await jobReport(openDb(c.env.DB), params.id);
      if (!report) throw new SyncError("not_found", `no job ${params.id}`, { status: 404 });
      return c.json(report, 200);
    },
  );

  define(
    app,
    {
      method: "delete",
      path: "/sync/{id}",
      summary: "Cancel a queued or running job (records already queued still finish)",
      params: JobId,
      responses: {
        200: json(z.object({ id: z.string(), state: z.literal("cancelled") }), "Cancelled"),
        404: errorResponses[404],
      },
    },
    async (c, { params }) => {
      if (!(await cancelJob(openDb(c.env.DB), params.id))) {
        throw new SyncError("not_found", `no queued or running job ${params.id}`, { status: 404 });
      }
      return c.json({ id: params.id, state: "cancelled" as const }, 200);
    },
  );
}
