import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { openDb } from "../../store/db.ts";
import { issuePage, storedCounts } from "../../store/issues.ts";
import {
  type ActionResult,
  dismissIssues,
  MAX_GROUP_ITEMS,
  retryIssues,
  type SlugOf,
  withSlugs,
} from "../../sync/issue-actions.ts";
import {
  countsByReason,
  ISSUE_KINDS,
  type IssueReason,
  IssueReasonSchema,
  REASONS,
  selectorOf,
} from "../../sync/issue-reasons.ts";
import type { AppEnv } from "../types.ts";
import { define, depsOf, errorResponses, json, operatorName, PageQuery } from "./common.ts";

const RecordSchema = z.object({
  side: z.enum(["attio", "salesforce"]),
  object: z
    .string()
    .nullable()
    .openapi({ description: "As the source names it; null when a job's message names the mapping" }),
  record_id: z.string(),
  mapping: z.string().optional(),
});

const ItemSchema = z
  .object({
    kind: z.enum(ISSUE_KINDS),
    id: z
      .string()
      .openapi({ description: "The item's id in its own list (GET /failures, /conflicts, /deletes, /matches)" }),
    reason: IssueReasonSchema,
    summary: z.string(),
    records: z.array(RecordSchema),
    since: z.string(),
    last_seen: z.string(),
    detail: z.record(z.string(), z.unknown()),
  })
  .openapi("IssueItem");

const Policy = z.object({
  kind: z.enum(["replay", "resync", "dismiss", "refused"]),
  route: z.string().optional(),
  why: z.string().optional(),
});

const GroupSchema = z
  .object({
    reason: IssueReasonSchema,
    kind: z.enum(ISSUE_KINDS),
    count: z.number().int(),
    explanation: z.string(),
    action: z.string().openapi({ description: "What to do" }),
    retry: Policy.openapi({
      description:
        "`replay`: the stored message is sent again; `resync`: the record is synced again; `refused`: `route` decides it",
    }),
    dismiss: Policy,
    items: z.array(ItemSchema),
    next_cursor: z.string().nullable(),
  })
  .openapi("IssueGroup");

const ListQuery = PageQuery.extend({
  reason: IssueReasonSchema.optional().openapi({ description: "One group, paged with `cursor`" }),
}).superRefine((query, ctx) => {
  if (query.cursor !== undefined && query.reason === undefined) {
    ctx.addIssue({ code: "custom", path: ["cursor"], message: "a cursor pages one group: give its reason too" });
  }
});

const ActionBody = z
  .strictObject({
    reason: IssueReasonSchema.optional().openapi({
      description: `A whole group (at most ${MAX_GROUP_ITEMS} items per call)`,
    }),
    items: z
      .array(z.strictObject({ kind: z.enum(ISSUE_KINDS), id: z.string().min(1).max(300) }))
      .min(1)
      .max(200)
      .optional()
      .openapi({ description: "Listed items, by kind and id" }),
    note: z.string().max(500).optional().openapi({ description: "Why, kept with the audit row (and the dismissal)" }),
  })
  .superRefine((body, ctx) => {
    if ((body.reason === undefined) === (body.items === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["reason"],
        message: "give either `reason` (a whole group) or `items` (listed items), not both",
      });
    }
  })
  .openapi("IssueAction");

const ActionResultSchema = z
  .object({
    action: z.enum(["retry", "dismiss"]),
    reason: IssueReasonSchema.nullable(),
    acted: z.number().int(),
    items: z.array(
      z.object({
        kind: z.enum(ISSUE_KINDS),
        id: z.string(),
        reason: IssueReasonSchema,
        outcome: z.enum(["replayed", "resynced", "dismissed"]),
      }),
    ),
    refused: z.array(z.object({ kind: z.enum(ISSUE_KINDS), id: z.string(), code: z.string(), message: z.string() })),
    remaining: z.number().int().nullable().openapi({ description: "Open items of the group left (group actions)" }),
  })
  .openapi("IssueActionResult");

const actionResponses = {
  200: json(ActionResultSchema, "Acted: `refused` lists the items left as they were, and why"),
  400: errorResponses[400],
  422: {
    description: "The group's reason cannot be retried or dismissed: the message names the route that decides it",
    content: { "application/json": { schema: errorResponses[400].content["application/json"].schema } },
  },
};

/** Attio objects by slug, read through the client's cache of the workspace's objects. */
function slugOf(c: Context<AppEnv>): SlugOf {
  const { attio } = depsOf(c);
  return async (objectId) => (await attio.getObject(objectId)).api_slug;
}

/** What an operator's action needs: the stores, the queue, who acts, and object slugs. */
export function actionContext(c: Context<AppEnv>, note?: string) {
  return {
    db: openDb(c.env.DB),
    queue: c.env.SYNC_QUEUE,
    actor: operatorName(c.var.adminTokenUsed),
    note,
    slugOf: slugOf(c),
  };
}

function target(body: z.infer<typeof ActionBody>) {
  return body.reason !== undefined ? { reason: body.reason } : { items: body.items ?? [] };
}

/** Open failures, warnings, conflicts, held deletes and ambiguous matches, grouped by reason. */
export function issueRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "get",
      path: "/issues",
      summary: "Open issues grouped by reason: a count, what happened, what to do, and the items (paged)",
      description:
        "Without `reason`: every group with open items, each with its first `limit` items. With `reason`: that group alone, paged with `cursor`.",
      query: ListQuery,
      responses: {
        200: json(z.object({ total: z.number().int(), groups: z.array(GroupSchema) }), "Groups"),
        400: errorResponses[400],
      },
    },
    async (c, { query }) => {
      const db = openDb(c.env.DB);
      const counts = countsByReason(await storedCounts(db));
      const total = counts.reduce((sum, group) => sum + group.count, 0);
      const wanted: { reason: IssueReason; count: number }[] = query.reason
        ? [{ reason: query.reason, count: counts.find((g) => g.reason === query.reason)?.count ?? 0 }]
        : counts;
      const slugs = slugOf(c);
      const groups = await Promise.all(
        wanted.map(async ({ reason, count }) => {
          const page = await issuePage(db, selectorOf(reason), { limit: query.limit, cursor: query.cursor });
          const info = REASONS[reason];
          return {
            reason,
            kind: info.kind,
            count,
            explanation: info.explanation,
            action: info.action,
            retry: info.retry,
            dismiss: info.dismiss,
            items: await withSlugs(page.items, slugs),
            next_cursor: page.nextCursor,
          };
        }),
      );
      return c.json({ total, groups }, 200);
    },
  );

  define(
    app,
    {
      method: "post",
      path: "/issues/retry",
      summary: `Retry a group or listed items: failures are replayed, warnings and ambiguous matches synced again`,
      description:
        "Conflicts and held deletes are decided by a person, not retried: a group of them answers 422 naming the route; listed ones are refused.",
      body: ActionBody,
      responses: actionResponses,
    },
    async (c, { body }) => {
      return c.json((await retryIssues(actionContext(c, body.note), target(body))) satisfies ActionResult, 200);
    },
  );

  define(
    app,
    {
      method: "post",
      path: "/issues/dismiss",
      summary: "Dismiss a group or listed items: each leaves every count until it happens again",
      description:
        "Held deletes are decided (approve or reject), not dismissed: a group of them answers 422 naming the route; listed ones are refused.",
      body: ActionBody,
      responses: actionResponses,
    },
    async (c, { body }) => {
      return c.json((await dismissIssues(actionContext(c, body.note), target(body))) satisfies ActionResult, 200);
    },
  );
}
