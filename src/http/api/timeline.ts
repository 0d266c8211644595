import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { mergeTimeline, type TimelineCursor } from "../../plan/timeline.ts";
import { openDb } from "../../store/db.ts";
import { pairsByAttio, pairsBySalesforce } from "../../store/pairs.ts";
import { timelineRows } from "../../store/timeline.ts";
import type { AppEnv } from "../types.ts";
import { define, json, PageQuery } from "./common.ts";
import { RecordParams } from "./explain.ts";

/** `<at>|<entry id>` of the last entry of the previous page. */
const CURSOR = /^(\d{4}-\d\d-\d\dT[0-9:.]+Z)\|([a-z]+:.+)$/;

const TimelineQuery = PageQuery.extend({
  cursor: z.string().regex(CURSOR).optional().openapi({ description: "`next_cursor` of the previous page" }),
});

const EntrySchema = z
  .object({
    id: z.string(),
    at: z.string(),
    kind: z.enum([
      "write",
      "decision",
      "operator_action",
      "failure",
      "warning",
      "conflict",
      "delete_held",
      "ambiguous_match",
      "parked",
    ]),
  })
  .passthrough()
  .openapi("TimelineEntry", {
    description:
      "Audit entries (`write`, `decision`, `operator_action`) carry `operation`, `direction`, `actor`, `changes` (each field's before and after) and `event`: what caused them (the Attio webhook or Salesforce change event with its actor, a job, the Worker itself, an operator's action). The others carry their row: a failure's error and status (`replayed` once healed by a replay), a warning's value and status (`cleared` once written), a conflict's values and resolution, a held delete's decision.",
  });

/** A record pair's history, oldest first. */
export function timelineRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "get",
      path: "/records/{side}/{object}/{record_id}/timeline",
      summary:
        "Everything that happened to a record and its counterpart, oldest first: events, decisions, writes (before/after), failures, warnings, operator actions",
      params: RecordParams,
      query: TimelineQuery,
      responses: {
        200: json(
          z.object({
            record: z.object({ side: z.string(), object: z.string(), record_id: z.string() }),
            counterpart: z.object({ side: z.string(), object: z.string(), record_id: z.string() }).nullable(),
            items: z.array(EntrySchema),
            next_cursor: z.string().nullable(),
          }),
          "A page of the timeline",
        ),
      },
    },
    async (c, { params, query }) => {
      const db = openDb(c.env.DB);
      const { side, object, record_id: recordId } = params;
      const pairs =
        side === "attio" ? await pairsByAttio(db, object, [recordId]) : await pairsBySalesforce(db, object, [recordId]);
      const pair = pairs.get(recordId)?.mapping;
      const ids = pair ? [pair.attioRecordId, pair.sfRecordId] : [recordId];
      const after = cursorOf(query.cursor);
      const rows = await timelineRows(db, { ids, pairId: pair?.id }, after, query.limit + 1);
      const page = mergeTimeline(rows, query.limit);
      const counterpart = pair
        ? side === "attio"
          ? { side: "salesforce", object: pair.sfObject, record_id: pair.sfRecordId }
          : { side: "attio", object: pair.attioObject, record_id: pair.attioRecordId }
        : null;
      return c.json(
        {
          record: { side, object, record_id: recordId },
          counterpart,
          items: page.items,
          next_cursor: page.nextCursor ? `${page.nextCursor.at}|${page.nextCursor.id}` : null,
        },
        200,
      );
    },
  );
}

function cursorOf(cursor: string | undefined): TimelineCursor | undefined {
  const match = cursor ? CURSOR.exec(cursor) : null;
  return match?.[1] && match[2] ? { at: match[1], id: match[2] } : undefined;
}
