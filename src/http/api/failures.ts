import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { and, asc, eq, gt, type SQL } from "drizzle-orm";
import { SyncError } from "../../lib/errors.ts";
import { openDb } from "../../store/db.ts";
import { failures } from "../../store/schema.ts";
import { SyncMessageSchema } from "../../sync/messages.ts";
import type { AppEnv } from "../types.ts";
import { define, errorResponses, json, PageQuery, page, snakeKeys } from "./common.ts";

const Filter = z.strictObject({
  status: z.enum(["open", "replayed", "dismissed"]).default("open"),
  error_code: z.string().optional(),
  message_kind: z.string().optional(),
});

/** At most this many failures are replayed by one bulk request; call again for more. */
const MAX_BULK_REPLAY = 500;

/** Messages that failed for good, with their error and the values we tried to write; replayable. */
export function failureRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "get",
      path: "/failures",
      summary: "Failures: messages rejected by an API or out of retries",
      query: PageQuery.extend(Filter.shape),
      responses: {
        200: json(z.object({ items: z.array(z.unknown()), next_cursor: z.string().nullable() }), "A page of failures"),
      },
    },
    async (c, { query }) => {
      const rows = await openDb(c.env.DB)
        .select()
        .from(failures)
        .where(and(...filterOf(query), query.cursor ? gt(failures.id, query.cursor) : undefined))
        .orderBy(asc(failures.id))
        .limit(query.limit + 1);
      const { items, next_cursor } = page(rows, query.limit);
      return c.json({ items: items.map(snakeKeys), next_cursor }, 200);
    },
  );

  define(
    app,
    {
      method: "post",
      path: "/failures/{id}/replay",
      summary: "Send a failed message through the sync again",
      params: z.strictObject({ id: z.string().min(1).max(300) }),
      responses: { 200: json(z.object({ replayed: z.number() }), "Replayed"), 404: errorResponses[404] },
    },
    async (c, { params }) => {
      const db = openDb(c.env.DB);
      const row = await db.select().from(failures).where(eq(failures.id, params.id)).get();
      if (!row) throw new SyncError("not_found", `no failure ${params.id}`, { status: 404 });
      return c.json({ replayed: await replay(db, c.env.SYNC_QUEUE, [row]) }, 200);
    },
  );

  define(
    app,
    {
      method: "post",
      path: "/failures/replay",
      summary: `Replay every failure matching a filter (at most ${MAX_BULK_REPLAY} per call)`,
      body: Filter,
      responses: { 200: json(z.object({ replayed: z.number(), skipped: z.number() }), "Replayed") },
    },
    async (c, { body }) => {
      const db = openDb(c.env.DB);
      const rows = await db
        .select()
        .from(failures)
        .where(and(...filterOf(body)))
        .limit(MAX_BULK_REPLAY);
      const replayed = await replay(db, c.env.SYNC_QUEUE, rows);
      return c.json({ replayed, skipped: rows.length - replayed }, 200);
    },
  );
}

function filterOf(filter: z.infer<typeof Filter>): SQL[] {
  return [
    eq(failures.status, filter.status),
    ...(filter.error_code ? [eq(failures.errorCode, filter.error_code)] : []),
    ...(filter.message_kind ? [eq(failures.messageKind, filter.message_kind)] : []),
  ];
}

/** Re-enqueues the stored messages that are still valid sync messages; marks them replayed. */
async function replay(
  db: ReturnType<typeof openDb>,
  queue: Queue,
  rows: (typeof failures.$inferSelect)[],
): Promise<number> {
  let count = 0;
  for (const row of rows) {
    const message = SyncMessageSchema.safeParse(row.message);
    if (!message.success) continue;
    await queue.send(message.data, { contentType: "json" });
    await db.update(failures).set({ status: "replayed" }).where(eq(failures.id, row.id));
    count += 1;
  }
  return count;
}
