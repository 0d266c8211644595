import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { listAudit } from "../../store/audit.ts";
import { openDb } from "../../store/db.ts";
import type { AppEnv } from "../types.ts";
import { define, json, PageQuery, pageBody, snakeKeys } from "./common.ts";

const HistoryQuery = PageQuery.extend({
  object: z.string().optional().openapi({ description: "Attio object slug or Salesforce object name" }),
  record_id: z.string().optional().openapi({ description: "A record id on either side" }),
  direction: z.enum(["attio_to_sf", "sf_to_attio"]).optional(),
  operation: z
    .enum(["create", "update", "link", "unchanged", "delete", "conflict", "failed", "skipped", "operator"])
    .optional()
    .openapi({
      description:
        "`skipped`: values not written because the other side cannot take them; `operator`: an operator's action (a replay, a dismissal, a match linked)",
    }),
  from: z.iso.datetime().optional(),
  to: z.iso.datetime().optional(),
  cursor: z.string().regex(/^\d+$/).optional(),
});

/** The audit trail, newest first: every field written, with before/after and the event that caused it. */
export function historyRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "get",
      path: "/history",
      summary: "Audit trail, filterable by object, record (either side), direction, operation and time",
      query: HistoryQuery,
      responses: {
        200: json(z.object({ items: z.array(z.unknown()), next_cursor: z.string().nullable() }), "A page of history"),
      },
    },
    async (c, { query }) => {
      const { object, record_id: recordId, direction, operation, from, to } = query;
      const page = await listAudit(
        openDb(c.env.DB),
        { object, recordId, direction, operation, from, to },
        { limit: query.limit, cursor: query.cursor ? Number(query.cursor) : undefined },
      );
      return c.json(pageBody(page, snakeKeys), 200);
    },
  );
}
