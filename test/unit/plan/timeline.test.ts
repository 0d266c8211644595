import { describe, expect, it } from "vitest";
import { mergeTimeline, type TimelineRow, toEntry } from "../../../src/plan/timeline.ts";

const row = (
  source: TimelineRow["source"],
  at: string,
  id: string,
  more: Record<string, unknown> = {},
): TimelineRow => ({
  source,
  at,
  entry_id: `${source}:${id}`,
  ...more,
});

describe("a record's timeline", () => {
  it("merges the sources oldest first, a tie by entry id, and says where the next page starts", () => {
    const audit = [
      row("audit", "2026-03-01T00:00:02.000Z", "000000000002", { operation: "create", actor: "workspace-member:m" }),
      row("audit", "2026-03-01T00:00:05.000Z", "000000000003", { operation: "update", actor: "app:attio-sfdc" }),
    ];
    const failures = [row("failure", "2026-03-01T00:00:01.000Z", "f-1", { status: "replayed" })];
    const warnings = [row("warning", "2026-03-01T00:00:02.000Z", "w-1", { status: "cleared" })];
    const page = mergeTimeline([audit, failures, warnings], 3);
    expect(page.items.map((e) => [e.id, e.kind])).toEqual([
      ["failure:f-1", "failure"],
      ["audit:000000000002", "write"],
      ["warning:w-1", "warning"],
    ]);
    expect(page.nextCursor).toEqual({ at: "2026-03-01T00:00:02.000Z", id: "warning:w-1" });
    expect(mergeTimeline([audit, failures, warnings], 4).nextCursor).toBeNull();
  });

  it("tells writes, decisions and operators' actions apart, and keeps what caused each", () => {
    const event = { kind: "attio_webhook", eventType: "record.updated", actor: { type: "workspace-member", id: "m" } };
    const at = "2026-03-01T00:00:00.000Z";
    expect(
      toEntry(row("audit", at, "1", { operation: "update", actor: "workspace-member:m", source_event: event })),
    ).toMatchObject({ kind: "write", operation: "update", event });
    expect(toEntry(row("audit", at, "2", { operation: "unchanged", actor: null }))).toMatchObject({ kind: "decision" });
    expect(toEntry(row("audit", at, "3", { operation: "operator", actor: "operator:admin-token" }))).toMatchObject({
      kind: "operator_action",
    });
    // A conflict resolved by an operator writes both sides: still the operator's action.
    expect(toEntry(row("audit", at, "4", { operation: "update", actor: "operator:admin-token" }))).toMatchObject({
      kind: "operator_action",
    });
    expect(toEntry(row("delete", at, "d", { status: "pending" }))).toMatchObject({
      kind: "delete_held",
      status: "pending",
    });
    expect(toEntry(row("match", at, "m", {})).kind).toBe("ambiguous_match");
    expect(toEntry(row("parked", at, "p", {})).kind).toBe("parked");
    expect(toEntry(row("conflict", at, "c", {})).kind).toBe("conflict");
  });
});
