import { inArray } from "drizzle-orm";
import { chunk } from "../lib/chunk.ts";
import { SyncError } from "../lib/errors.ts";
import type { Db } from "../store/db.ts";
import {
  auditOperatorActions,
  type DismissableKind,
  dismissItems,
  type IssueItem,
  issuePage,
  markMatchesRetried,
  storedCounts,
} from "../store/issues.ts";
import { failures } from "../store/schema.ts";
import { sendAll } from "./enqueue.ts";
import {
  countsByReason,
  type IssueKind,
  type IssueReason,
  REASONS,
  type ReasonSelector,
  selectorOf,
} from "./issue-reasons.ts";
import { internalAttioMessage, internalSalesforceMessage, type SyncMessage } from "./messages.ts";
import { replayFailures } from "./replay.ts";

/**
 * POST /api/v1/issues/retry and /dismiss: an operator acts on a whole group (its open items, at most
 * MAX_GROUP_ITEMS per call) or on listed items. What retry and dismiss mean per reason is the pure
 * table in issue-reasons.ts; every item acted on gets an audit row naming the operator.
 */

/** Items one group action takes; `remaining` tells the caller to call again. */
export const MAX_GROUP_ITEMS = 500;
/** Items read per page while collecting a group. */
const GROUP_PAGE = 100;
/** Salesforce ids per synthetic change event of a re-sync. */
const IDS_PER_EVENT = 100;

export type IssueTarget = { reason: IssueReason } | { items: readonly { kind: IssueKind; id: string }[] };

export interface Refused {
  kind: IssueKind;
  id: string;
  code: string;
  message: string;
}

export interface ActionResult {
  action: "retry" | "dismiss";
  reason: IssueReason | null;
  /** How many items were acted on. */
  acted: number;
  items: { kind: IssueKind; id: string; reason: IssueReason; outcome: "replayed" | "resynced" | "dismissed" }[];
  refused: Refused[];
  /** Open items of the group left after this call (a group action), null for listed items. */
  remaining: number | null;
}

export interface ActionContext {
  db: Db;
  queue: Queue;
  actor: string;
  note?: string | null | undefined;
  /** An Attio object's slug from its id (webhook messages name objects by id), for audit rows. */
  slugOf?: SlugOf | undefined;
}

export type SlugOf = (objectId: string) => Promise<string>;

/**
 * Items whose Attio object is named by its id (a failure of a webhook's message) named by slug
 * instead, as every other item and the audit trail name it. Best effort: an object that cannot be
 * read keeps its id.
 */
export async function withSlugs(items: readonly IssueItem[], slugOf: SlugOf | undefined): Promise<IssueItem[]> {
  if (!slugOf) return [...items];
  const ids = new Set(
    items.flatMap((item) =>
      item.kind === "failure"
        ? item.records.filter((r) => r.side === "attio" && r.object).map((r) => r.object ?? "")
        : [],
    ),
  );
  const slugs = new Map<string, string>();
  for (const id of ids) {
    try {
      slugs.set(id, await slugOf(id));
    } catch {
      // Attio unreachable: the id still names the object.
    }
  }
  if (slugs.size === 0) return [...items];
  return items.map((item) => ({
    ...item,
    records:
      item.kind !== "failure"
        ? item.records
        : item.records.map((r) =>
            r.side === "attio" && r.object && slugs.has(r.object)
              ? { ...r, object: slugs.get(r.object) ?? r.object }
              : r,
          ),
  }));
}

/** Every kind's items, whatever their reason: how listed items are looked up. */
const ANY_OF_KIND: Record<IssueKind, ReasonSelector> = {
  failure: { kind: "failure", otherThan: [] },
  warning: { kind: "warning", otherThan: [] },
  conflict: { kind: "conflict" },
  held_delete: { kind: "held_delete", holds: ["policy", "merged_into_linked", "mass_delete"] },
  ambiguous_match: { kind: "ambiguous_match" },
};

/** The open items a target names, and the listed ones that are not open (refused as not found). */
async function itemsOf(ctx: ActionContext, target: IssueTarget): Promise<{ items: IssueItem[]; missing: Refused[] }> {
  const found = await storedItemsOf(ctx.db, target);
  return { items: await withSlugs(found.items, ctx.slugOf), missing: found.missing };
}

async function storedItemsOf(db: Db, target: IssueTarget): Promise<{ items: IssueItem[]; missing: Refused[] }> {
  if ("reason" in target) {
    const items: IssueItem[] = [];
    let cursor: string | undefined;
    do {
      const limit = Math.min(GROUP_PAGE, MAX_GROUP_ITEMS - items.length);
      const page = await issuePage(db, selectorOf(target.reason), { limit, cursor });
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && items.length < MAX_GROUP_ITEMS);
    return { items, missing: [] };
  }
  const items: IssueItem[] = [];
  const missing: Refused[] = [];
  for (const kind of Object.keys(ANY_OF_KIND) as IssueKind[]) {
    const ids = [...new Set(target.items.filter((item) => item.kind === kind).map((item) => item.id))];
    if (ids.length === 0) continue;
    const found = new Set<string>();
    // Ids per look-up: one bound parameter each, under D1's 100.
    for (const part of chunk(ids, 90)) {
      const page = await issuePage(db, ANY_OF_KIND[kind], { limit: part.length }, part);
      items.push(...page.items);
      for (const item of page.items) found.add(item.id);
    }
    for (const id of ids) {
      if (!found.has(id)) missing.push({ kind, id, code: "not_found", message: `no open ${kind} ${id}` });
    }
  }
  return { items, missing };
}

/** A group whose reason refuses the action: 422 naming the route that settles it. */
function refuseGroup(reason: IssueReason, action: "retry" | "dismiss") {
  const policy = REASONS[reason][action];
  if (policy.kind !== "refused") return;
  const message = `${reason} cannot be ${action === "retry" ? "retried" : "dismissed"}: ${policy.why}; use ${policy.route}`;
  throw new SyncError("bad_request", message, {
    status: 422,
    detail: { details: [{ path: "reason", message }] },
  });
}

function refusedItem(item: IssueItem, action: "retry" | "dismiss"): Refused | undefined {
  const policy = REASONS[item.reason][action];
  if (policy.kind !== "refused") return undefined;
  return {
    kind: item.kind,
    id: item.id,
    code: action === "retry" ? "not_retryable" : "not_dismissable",
    message: `${policy.why}: ${policy.route}`,
  };
}

/**
 * Retries a group or listed items: failures are replayed, warnings and ambiguous matches have
 * their record synced again; conflicts and held deletes are refused (a person decides them).
 */
export async function retryIssues(ctx: ActionContext, target: IssueTarget): Promise<ActionResult> {
  if ("reason" in target) refuseGroup(target.reason, "retry");
  const { items, missing } = await itemsOf(ctx, target);
  const refused = [...missing];
  const acted: ActionResult["items"] = [];
  const actedItems: IssueItem[] = [];
  const retryable: IssueItem[] = [];
  for (const item of items) {
    const no = refusedItem(item, "retry");
    if (no) refused.push(no);
    else retryable.push(item);
  }

  const failed = retryable.filter((item) => item.kind === "failure");
  if (failed.length > 0) {
    const rows = [];
    for (const part of chunk(
      failed.map((item) => item.id),
      90,
    )) {
      rows.push(...(await ctx.db.select().from(failures).where(inArray(failures.id, part))));
    }
    const replayed = new Set(await replayFailures(ctx.db, ctx.queue, rows));
    for (const item of failed) {
      if (replayed.has(item.id)) {
        acted.push({ kind: item.kind, id: item.id, reason: item.reason, outcome: "replayed" });
        actedItems.push(item);
      } else {
        refused.push({
          kind: item.kind,
          id: item.id,
          code: "request_invalid",
          message: "its stored message is not a valid message of this version: dismiss it and sync the record again",
        });
      }
    }
  }

  const resync = retryable.filter((item) => item.kind === "warning" || item.kind === "ambiguous_match");
  if (resync.length > 0) {
    await sendAll(ctx.queue, resyncMessages(resync.flatMap(recordToResync)));
    const matches = resync.filter((item) => item.kind === "ambiguous_match").map((item) => item.id);
    const closed = new Set(await markMatchesRetried(ctx.db, matches));
    for (const item of resync) {
      // A match closed meanwhile (linked by someone) was still sent: syncing a record is harmless.
      if (item.kind === "ambiguous_match" && !closed.has(item.id)) continue;
      acted.push({ kind: item.kind, id: item.id, reason: item.reason, outcome: "resynced" });
      actedItems.push(item);
    }
  }

  await auditOperatorActions(
    ctx.db,
    actedItems.map((item) => ({ action: "retried", item, actor: ctx.actor, note: ctx.note ?? null })),
  );
  return result(ctx.db, "retry", target, acted, refused);
}

/** Dismisses a group or listed items: each leaves every count until it happens again. */
export async function dismissIssues(ctx: ActionContext, target: IssueTarget): Promise<ActionResult> {
  if ("reason" in target) refuseGroup(target.reason, "dismiss");
  const { items, missing } = await itemsOf(ctx, target);
  const refused = [...missing];
  const byKind = new Map<DismissableKind, IssueItem[]>();
  for (const item of items) {
    const no = refusedItem(item, "dismiss");
    if (no) refused.push(no);
    // Held deletes are refused above (the table says so); the check keeps the kinds typed.
    else if (item.kind !== "held_delete") byKind.set(item.kind, [...(byKind.get(item.kind) ?? []), item]);
  }
  const acted: ActionResult["items"] = [];
  const actedItems: IssueItem[] = [];
  for (const [kind, list] of byKind) {
    // One reason per dismissal row: each item's own.
    for (const [reason, same] of groupBy(list, (item) => item.reason)) {
      const done = new Set(
        await dismissItems(
          ctx.db,
          kind,
          same.map((item) => item.id),
          { by: ctx.actor, reason, note: ctx.note ?? null },
        ),
      );
      for (const item of same) {
        if (!done.has(item.id)) continue;
        acted.push({ kind: item.kind, id: item.id, reason: item.reason, outcome: "dismissed" });
        actedItems.push(item);
      }
    }
  }
  await auditOperatorActions(
    ctx.db,
    actedItems.map((item) => ({ action: "dismissed", item, actor: ctx.actor, note: ctx.note ?? null })),
  );
  return result(ctx.db, "dismiss", target, acted, refused);
}

async function result(
  db: Db,
  action: ActionResult["action"],
  target: IssueTarget,
  items: ActionResult["items"],
  refused: Refused[],
): Promise<ActionResult> {
  const reason = "reason" in target ? target.reason : null;
  const remaining = reason
    ? (countsByReason(await storedCounts(db)).find((group) => group.reason === reason)?.count ?? 0)
    : null;
  return { action, reason, acted: items.length, items, refused, remaining };
}

function groupBy<T, K>(list: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of list) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

interface ResyncRecord {
  side: "attio" | "salesforce";
  object: string;
  id: string;
}

/** The record whose sync decides an item again: a warning's source record, a match's record. */
function recordToResync(item: IssueItem): ResyncRecord[] {
  if (item.kind === "warning") {
    const toSf = item.detail["direction"] === "attio_to_sf";
    const object = String(item.detail["source_object"]);
    return [{ side: toSf ? "attio" : "salesforce", object, id: String(item.detail["source_record_id"]) }];
  }
  const [record] = item.records;
  return record?.object ? [{ side: record.side, object: record.object, id: record.record_id }] : [];
}

/**
 * The Worker's own "read this record again" messages: one per Attio record (by object slug), one
 * synthetic change event per Salesforce object and up to IDS_PER_EVENT ids.
 */
export function resyncMessages(records: readonly ResyncRecord[]): SyncMessage[] {
  const why = "retried by an operator";
  const unique = [...new Map(records.map((r) => [`${r.side}:${r.object}:${r.id}`, r])).values()];
  const messages: SyncMessage[] = unique
    .filter((r) => r.side === "attio")
    .map((r) => internalAttioMessage(r.object, r.id, why));
  const sfByObject = groupBy(
    unique.filter((r) => r.side === "salesforce"),
    (r) => r.object,
  );
  for (const [object, list] of sfByObject) {
    for (const part of chunk(
      list.map((r) => r.id),
      IDS_PER_EVENT,
    )) {
      messages.push(internalSalesforceMessage(object, part, "UPDATE", why));
    }
  }
  return messages;
}
