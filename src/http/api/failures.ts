import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { SyncError } from "../../lib/errors.ts";
import { type Db, openDb } from "../../store/db.ts";
import { type Failure, failuresMatching, listFailures, loadFailure } from "../../store/failures.ts";
import { listWarnings } from "../../store/warnings.ts";
import { dismissIssues } from "../../sync/issue-actions.ts";
import { SyncMessageSchema } from "../../sync/messages.ts";
import { auditOperatorAction, recordsOfKey } from "../../sync/operator-audit.ts";
import { replayFailures } from "../../sync/replay.ts";
import type { AppEnv } from "../types.ts";
import { define, errorResponses, json, operatorName, PageQuery, pageBody, snakeKeys } from "./common.ts";
import { actionContext } from "./issues.ts";

const Filter = z.strictObject({
  status: z.enum(["open", "replayed", "dismissed"]).default("open"),
  error_code: z.string().optional(),
  message_kind: z.string().optional(),
});

/**
 * `severity=error` (the default): messages that failed for good. `severity=warning`: values not
 * written because the other side cannot take them (store/warnings.ts), open until a later sync
 * writes the field, `cleared` then, or `dismissed` by an operator.
 */
const ListQuery = PageQuery.extend({
  severity: z.enum(["error", "warning"]).default("error"),
  status: z.enum(["open", "replayed", "dismissed", "cleared"]).default("open"),
  error_code: z
    .string()
    .optional()
    .openapi({ description: "Failure error code, or warning code (e.g. unmapped_value)" }),
  message_kind: z.string().optional(),
  mapping: z.string().optional().openapi({ description: "Warnings: the mapping (companies, people, deals, ...)" }),
  record_id: z.string().optional().openapi({ description: "Warnings: an Attio or Salesforce record id" }),
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
      query: ListQuery,
      responses: {
        200: json(
          z.object({ items: z.array(z.unknown()), next_cursor: z.string().nullable() }),
          "A page of failures (severity=error) or warnings (severity=warning)",
        ),
      },
    },
    async (c, { query }) => {
      const db = openDb(c.env.DB);
      if (query.severity === "warning") return c.json(await warningPage(db, query), 200);
      if (query.status === "cleared") return c.json({ items: [], next_cursor: null }, 200);
      const page = await listFailures(db, filterOf({ ...query, status: query.status }), query);
      return c.json(
        pageBody(page, (row) => ({ severity: "error", ...snakeKeys(row) })),
        200,
      );
    },
  );

  define(
    app,
    {
      method: "post",
      path: "/failures/{id}/dismiss",
      summary: "Dismiss a failure or a warning: an operator has seen it and accepts it as it is",
      params: z.strictObject({ id: z.string().min(1).max(300) }),
      responses: { 200: json(z.object({ dismissed: z.boolean() }), "Dismissed"), 404: errorResponses[404] },
    },
    async (c, { params }) => {
      // As POST /issues/dismiss does: who and when are kept, and the record's history says so.
      const ctx = actionContext(c);
      for (const kind of ["failure", "warning"] as const) {
        const done = await dismissIssues(ctx, { items: [{ kind, id: params.id }] });
        if (done.acted > 0) return c.json({ dismissed: true }, 200);
      }
      throw new SyncError("not_found", `no open failure or warning ${params.id}`, { status: 404 });
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
      const row = await loadFailure(db, params.id);
      if (!row) throw new SyncError("not_found", `no failure ${params.id}`, { status: 404 });
      return c.json({ replayed: await replay(db, c.env.SYNC_QUEUE, [row], operatorName(c.var.adminTokenUsed)) }, 200);
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
      const rows = await failuresMatching(db, filterOf(body), MAX_BULK_REPLAY);
      const replayed = await replay(db, c.env.SYNC_QUEUE, rows, operatorName(c.var.adminTokenUsed));
      return c.json({ replayed, skipped: rows.length - replayed }, 200);
    },
  );
}

async function warningPage(db: Db, query: z.infer<typeof ListQuery>) {
  // Warnings are never replayed: a later sync clears them.
  if (query.status === "replayed") return { items: [], next_cursor: null };
  const filter = { status: query.status, code: query.error_code, mapping: query.mapping, recordId: query.record_id };
  const page = await listWarnings(db, filter, query);
  return pageBody(page, (row) => ({ severity: "warning", ...snakeKeys(row) }));
}

function filterOf(filter: z.infer<typeof Filter>) {
  return { status: filter.status, errorCode: filter.error_code, messageKind: filter.message_kind };
}

/** Re-enqueues the failures' stored messages (sync/replay.ts); each replay is in its records' audit trail. */
async function replay(db: Db, queue: Queue, rows: Failure[], actor: string): Promise<number> {
  // Audited first: the replayed sync's own rows then follow it in the record's timeline.
  const replayable = rows.filter((row) => SyncMessageSchema.safeParse(row.message).success);
  for (const row of replayable) await auditFailureAction(db, "failure.replayed", actor, row);
  return (await replayFailures(db, queue, replayable)).length;
}

/** An operator's action on a failure, in the audit trail of each record its message names. */
async function auditFailureAction(db: Db, kind: string, actor: string, row: Failure | undefined): Promise<void> {
  const records = recordsOfKey(row?.recordKey ?? null);
  if (!row || !records) return;
  for (const recordId of records.ids) {
    await auditOperatorAction(db, {
      kind,
      actor,
      side: records.side,
      object: records.object,
      recordId,
      detail: { failureId: row.id, errorCode: row.errorCode },
    });
  }
}
