/**
 * A record's timeline: the rows of every source (audit trail, failures, warnings, conflicts, held
 * deletes, ambiguous matches, parked changes) merged oldest first and shaped as entries. Pure.
 */

/** Where a page starts: after this entry. */
export interface TimelineCursor {
  at: string;
  id: string;
}

export type TimelineSource = "audit" | "failure" | "warning" | "conflict" | "delete" | "match" | "parked";

/** A row of one source, its columns as stored (snake_case), plus `at` and `entry_id`. */
export type TimelineRow = Record<string, unknown> & { at: string; entry_id: string; source: TimelineSource };

export type EntryKind =
  /** A record written (created, updated, linked, deleted) with each field's before and after. */
  | "write"
  /** A decision that wrote nothing (unchanged, a conflict held, values skipped). */
  | "decision"
  /** An operator's action: a replay, a dismissal, a conflict resolved, a delete decided, a match linked. */
  | "operator_action"
  | "failure"
  | "warning"
  | "conflict"
  | "delete_held"
  | "ambiguous_match"
  | "parked";

export interface TimelineEntry {
  id: string;
  at: string;
  kind: EntryKind;
  [detail: string]: unknown;
}

const WRITES = new Set(["create", "update", "link", "delete"]);

const KIND_OF: Record<Exclude<TimelineSource, "audit">, EntryKind> = {
  failure: "failure",
  warning: "warning",
  conflict: "conflict",
  delete: "delete_held",
  match: "ambiguous_match",
  parked: "parked",
};

/** One row as an entry: the audit's event (its origin, with the actor) kept as `event`. */
export function toEntry(row: TimelineRow): TimelineEntry {
  const { at, entry_id: id, source, ...rest } = row;
  if (source !== "audit") return { id, at, kind: KIND_OF[source], ...rest };
  const { id: _auditId, source_event: event, operation, actor, ...audit } = rest;
  const operator = operation === "operator" || (typeof actor === "string" && actor.startsWith("operator:"));
  const kind: EntryKind = operator ? "operator_action" : WRITES.has(String(operation)) ? "write" : "decision";
  return { id, at, kind, operation, actor, event, ...audit };
}

function before(a: TimelineCursor, b: TimelineCursor): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}

/**
 * The first `limit` entries of the sources (each in time order, each read up to `limit + 1` rows
 * past the cursor), and the cursor of the next page when more rows were read than fit.
 */
export function mergeTimeline(
  sources: readonly (readonly TimelineRow[])[],
  limit: number,
): { items: TimelineEntry[]; nextCursor: TimelineCursor | null } {
  const all = sources
    .flat()
    .map((row) => ({ row, key: { at: row.at, id: row.entry_id } }))
    .sort((a, b) => (before(a.key, b.key) ? -1 : before(b.key, a.key) ? 1 : 0));
  const page = all.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(({ row }) => toEntry(row)), nextCursor: all.length > limit && last ? last.key : null };
}
