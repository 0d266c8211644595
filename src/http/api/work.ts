import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { listConflicts } from "../../store/conflicts.ts";
import { openDb } from "../../store/db.ts";
import { listPendingDeletes } from "../../store/deletes.ts";
import { listAmbiguousMatches } from "../../store/matches.ts";
import { loadDirectory } from "../../sync/directory.ts";
import { assertRunning } from "../../sync/mode.ts";
import { auditOperatorAction } from "../../sync/operator-audit.ts";
import { decideDelete, decideDeleteBatch, linkMatch, resolveConflict } from "../../sync/resolve.ts";
import { loadRuntime } from "../../sync/runtime.ts";
import type { AppEnv } from "../types.ts";
import { define, depsOf, errorResponses, json, operatorName, PageQuery, pageBody, snakeKeys } from "./common.ts";

const IdParam = z.strictObject({ id: z.string().min(1).max(100) });
const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const ConflictSchema = z
  .object({
    id: z.string(),
    mapping_id: z.string(),
    field: z.string(),
    base_value: z.unknown(),
    attio_value: z.unknown(),
    salesforce_value: z.unknown(),
    status: z.enum(["open", "resolved", "dismissed"]),
    resolution: z.unknown(),
    created_at: z.string(),
    resolved_at: z.string().nullable(),
  })
  .openapi("Conflict");

const ResolveBody = z
  .union([z.strictObject({ side: z.enum(["attio", "salesforce"]) }), z.strictObject({ value: Scalar })])
  .openapi("ConflictResolution", {
    description: 'Take one side\'s value (`{"side":"attio"}`) or set your own (`{"value":"CTO"}`).',
  });

const operator = operatorName;

/** Conflicts, held deletes and ambiguous matches: the decisions a sync leaves to a person. */
export function workRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "get",
      path: "/conflicts",
      summary: "Conflicts (fields changed on both sides to different values)",
      query: PageQuery.extend({ status: z.enum(["open", "resolved", "dismissed"]).default("open") }),
      responses: {
        200: json(
          z.object({ items: z.array(ConflictSchema), next_cursor: z.string().nullable() }),
          "A page of conflicts",
        ),
      },
    },
    async (c, { query }) => {
      const page = await listConflicts(openDb(c.env.DB), query.status, query);
      return c.json(
        pageBody(page, (r) => ({
          id: r.id,
          mapping_id: r.mappingId,
          field: r.field,
          base_value: r.baseValue,
          attio_value: r.attioValue,
          salesforce_value: r.sfValue,
          status: r.status,
          resolution: r.resolution,
          created_at: r.createdAt,
          resolved_at: r.resolvedAt,
        })),
        200,
      );
    },
  );

  define(
    app,
    {
      method: "post",
      path: "/conflicts/{id}",
      summary: "Resolve a conflict: the value is written to both sides and audited",
      params: IdParam,
      body: ResolveBody,
      responses: {
        200: json(z.object({ id: z.string(), field: z.string(), value: Scalar }), "Resolved"),
        404: errorResponses[404],
        409: errorResponses[409],
      },
    },
    async (c, { params, body }) => {
      const deps = depsOf(c);
      // It writes both CRMs: not while the deployment holds every write.
      await assertRunning(deps.db, c.env.CURSORS);
      const runtime = await loadRuntime(deps, c.env.CURSORS);
      const users = () => loadDirectory(deps, c.env.CURSORS, runtime.directoryOptions);
      return c.json(
        await resolveConflict(deps, runtime, params.id, body, operatorName(c.var.adminTokenUsed), users),
        200,
      );
    },
  );

  define(
    app,
    {
      method: "get",
      path: "/deletes",
      summary: "Deletes held for approval (the default delete policy)",
      query: PageQuery.extend({ status: z.enum(["pending", "approved", "rejected"]).default("pending") }),
      responses: {
        200: json(z.object({ items: z.array(z.unknown()), next_cursor: z.string().nullable() }), "A page of deletes"),
      },
    },
    async (c, { query }) => {
      const page = await listPendingDeletes(openDb(c.env.DB), query.status, query);
      return c.json(
        pageBody(page, (d) => ({
          id: d.id,
          deleted_on: d.deletedOn,
          status: d.status,
          reason: d.reason,
          batch_id: d.batchId,
          detected_at: d.detectedAt,
          decided_at: d.decidedAt,
          attio: d.attioObject !== null ? { object: d.attioObject, record_id: d.attioRecordId } : null,
          salesforce: d.sfObject !== null ? { object: d.sfObject, record_id: d.sfRecordId } : null,
        })),
        200,
      );
    },
  );

  define(
    app,
    {
      method: "post",
      path: "/deletes/{id}",
      summary: "Approve (delete the counterpart too) or reject (keep it) a held delete",
      params: IdParam,
      body: z.strictObject({ decision: z.enum(["approve", "reject"]) }),
      responses: {
        200: json(z.object({ id: z.string(), status: z.string() }), "Decided"),
        404: errorResponses[404],
        409: errorResponses[409],
      },
    },
    async (c, { params, body }) => {
      const deps = depsOf(c);
      if (body.decision === "approve") await assertRunning(deps.db, c.env.CURSORS);
      return c.json(await decideDelete(deps, params.id, body.decision, operatorName(c.var.adminTokenUsed)), 200);
    },
  );

  define(
    app,
    {
      method: "post",
      path: "/deletes/batches/{id}",
      summary:
        "Approve or reject every pending delete of a batch the mass-delete circuit breaker held (GET /status: held_delete_batches)",
      params: IdParam,
      body: z.strictObject({ decision: z.enum(["approve", "reject"]) }),
      responses: {
        200: json(
          z.object({
            batch_id: z.string(),
            decision: z.string(),
            decided: z.number(),
            refused: z.array(z.object({ id: z.string(), code: z.string(), message: z.string() })),
            remaining: z.number(),
          }),
          "Decided: `refused` lists the deletes left pending and why; `remaining` counts those still pending",
        ),
        404: errorResponses[404],
        409: errorResponses[409],
      },
    },
    async (c, { params, body }) => {
      const deps = depsOf(c);
      if (body.decision === "approve") await assertRunning(deps.db, c.env.CURSORS);
      return c.json(await decideDeleteBatch(deps, params.id, body.decision, operatorName(c.var.adminTokenUsed)), 200);
    },
  );

  define(
    app,
    {
      method: "get",
      path: "/matches",
      summary: "Records that matched several candidates on the other side",
      query: PageQuery.extend({ status: z.enum(["open", "resolved", "retried", "dismissed"]).default("open") }),
      responses: {
        200: json(z.object({ items: z.array(z.unknown()), next_cursor: z.string().nullable() }), "A page of matches"),
      },
    },
    async (c, { query }) => {
      const page = await listAmbiguousMatches(openDb(c.env.DB), query.status, query);
      return c.json(pageBody(page, snakeKeys), 200);
    },
  );

  define(
    app,
    {
      method: "post",
      path: "/matches/{id}",
      summary: "Link an ambiguous record to the chosen candidate",
      params: IdParam,
      body: z.strictObject({ action: z.literal("link"), candidate_id: z.string().min(1) }),
      responses: {
        200: json(z.object({ id: z.string() }).passthrough(), "Linked"),
        404: errorResponses[404],
        409: errorResponses[409],
      },
    },
    async (c, { params, body }) => {
      const deps = depsOf(c);
      const runtime = await loadRuntime(deps, c.env.CURSORS);
      const linked = await linkMatch(deps, runtime, c.env.SYNC_QUEUE, params.id, body.candidate_id);
      await auditOperatorAction(deps.db, {
        kind: "match.linked",
        actor: operator(c.var.adminTokenUsed),
        side: "attio",
        object: linked.attio_object,
        recordId: linked.attio_record_id,
        counterpart: { object: linked.salesforce_object, recordId: linked.salesforce_record_id },
        detail: { matchId: params.id },
      });
      return c.json(
        { id: linked.id, attio_record_id: linked.attio_record_id, salesforce_record_id: linked.salesforce_record_id },
        200,
      );
    },
  );
}
