import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { SyncError } from "../../lib/errors.ts";
import { openDb } from "../../store/db.ts";
import { listHolds, loadHold, recordsOfHold } from "../../store/update-holds.ts";
import { decideUpdateHold } from "../../sync/holds.ts";
import type { AppEnv } from "../types.ts";
import { define, depsOf, errorResponses, json, PageQuery, pageBody } from "./common.ts";

const IdParam = z.strictObject({ id: z.string().min(1).max(100) });

const HoldSchema = z
  .object({
    id: z.string(),
    mapping: z.string().openapi({ example: "people" }),
    side: z.enum(["attio", "salesforce"]).openapi({ description: "The side the held updates would write" }),
    status: z.enum(["pending", "approved", "rejected"]),
    count: z.number().openapi({ description: "Records updated within the window when it tripped" }),
    threshold: z.number().openapi({ description: "The most the window allowed" }),
    window_minutes: z.number(),
    records: z.number().openapi({ description: "Records the hold keeps" }),
    detected_at: z.string(),
    decided_at: z.string().nullable(),
    decided_by: z.string().nullable(),
  })
  .openapi("UpdateHold");

const operator = (token: "current" | "next" | "read") =>
  `operator:${token === "current" ? "admin-token" : token === "next" ? "next-admin-token" : "read-token"}`;

/** The mass-update breaker's approval items (engine/breaker.ts). */
export function holdRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "get",
      path: "/holds",
      summary: "Mass updates the breaker held for approval",
      query: PageQuery.extend({ status: z.enum(["pending", "approved", "rejected"]).default("pending") }),
      responses: {
        200: json(z.object({ items: z.array(HoldSchema), next_cursor: z.string().nullable() }), "A page of holds"),
      },
    },
    async (c, { query }) => {
      const page = await listHolds(openDb(c.env.DB), query.status, query);
      return c.json(
        pageBody(page, (h) => ({
          id: h.id,
          mapping: h.mapping,
          side: h.side,
          status: h.status,
          count: h.count,
          threshold: h.threshold,
          window_minutes: h.windowMinutes,
          records: h.records,
          detected_at: h.detectedAt,
          decided_at: h.decidedAt,
          decided_by: h.decidedBy,
        })),
        200,
      );
    },
  );

  define(
    app,
    {
      method: "get",
      path: "/holds/{id}/records",
      summary: "The records a mass-update hold keeps, by the side their change came from",
      params: IdParam,
      responses: {
        200: json(
          z.object({ id: z.string(), attio: z.array(z.string()), salesforce: z.array(z.string()) }),
          "Record ids per side",
        ),
        404: errorResponses[404],
      },
    },
    async (c, { params }) => {
      const db = openDb(c.env.DB);
      if (!(await loadHold(db, params.id))) {
        throw new SyncError("not_found", `no mass-update hold ${params.id}`, { status: 404 });
      }
      return c.json({ id: params.id, ...(await recordsOfHold(db, params.id)) }, 200);
    },
  );

  define(
    app,
    {
      method: "post",
      path: "/holds/{id}",
      summary:
        "Approve (sync the held records now, breaker bypassed) or reject (write nothing; each side keeps its values) a mass-update hold",
      params: IdParam,
      body: z.strictObject({ decision: z.enum(["approve", "reject"]) }),
      responses: {
        200: json(
          z.object({
            id: z.string(),
            mapping: z.string(),
            side: z.string(),
            status: z.enum(["approved", "rejected"]),
            records: z.number().openapi({ description: "Records queued with the decision" }),
          }),
          "Decided: the records are queued and synced (or re-based) within moments",
        ),
        404: errorResponses[404],
        409: errorResponses[409],
      },
    },
    async (c, { params, body }) =>
      c.json(
        await decideUpdateHold(
          depsOf(c),
          c.env.SYNC_QUEUE,
          params.id,
          body.decision,
          operator(c.var.adminTokenUsed),
          new Date(),
        ),
        200,
      ),
  );
}
