import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { and, desc, eq, gte, lt, lte, or, type SQL } from "drizzle-orm";
import { openDb } from "../../store/db.ts";
import { auditLog } from "../../store/schema.ts";
import type { AppEnv } from "../types.ts";
import { define, json, PageQuery, snakeKeys } from "./common.ts";

const HistoryQuery = PageQuery.extend({
  object: z.string().optional().openapi({ description: "Attio object slug or Salesforce object name" }),
  record_id: z.string().optional().openapi({ description: "A record id on either side" }),
  direction: z.enum(["attio_to_sf", "sf_to_attio"]).optional(),
  operation: z
    .enum(["create", "update", "link", "unchanged", "delete", "conflict", "failed", "skipped"])
    .optional()
    .openapi({ description: "`skipped`: values not written because the other side cannot take them" }),
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
      const where: SQL[] = [];
      if (query.object)
        where.push(or(eq(auditLog.attioObject, query.object), eq(auditLog.sfObject, query.object)) as SQL);
      if (query.record_id) {
        where.push(or(eq(auditLog.attioRecordId, query.record_id), eq(auditLog.sfRecordId, query.record_id)) as SQL);
      }
      if (query.direction) where.push(eq(auditLog.direction, query.direction));
      if (query.operation) where.push(eq(auditLog.operation, query.operation));
      if (query.from) where.push(gte(auditLog.at, query.from));
      if (query.to) where.push(lte(auditLog.at, query.to));
      if (query.cursor) where.push(lt(auditLog.id, Number(query.cursor)));
      const rows = await openDb(c.env.DB)
        .select()
        .from(auditLog)
        .where(and(...where))
        .orderBy(desc(auditLog.id))
        .limit(query.limit + 1);
      const more = rows.length > query.limit;
      const items = more ? rows.slice(0, query.limit) : rows;
      return c.json({ items: items.map(snakeKeys), next_cursor: more ? String(items.at(-1)?.id) : null }, 200);
    },
  );
}
