import { describe, expect, it } from "vitest";
import type { IssueItem } from "../../../src/store/issues.ts";
import { resyncMessages, withSlugs } from "../../../src/sync/issue-actions.ts";

describe("resyncMessages", () => {
  it("asks once per record: one message per Attio record, Salesforce ids together per object, 100 per event", () => {
    const sf = Array.from({ length: 150 }, (_, i) => ({
      side: "salesforce" as const,
      object: "Contact",
      id: `003${i}`,
    }));
    const messages = resyncMessages([
      { side: "attio", object: "people", id: "p-1" },
      { side: "attio", object: "people", id: "p-1" },
      { side: "salesforce", object: "Account", id: "001A" },
      ...sf,
      ...sf.slice(0, 10),
    ]);
    expect(messages.filter((m) => m.kind === "attio.record")).toEqual([
      expect.objectContaining({ objectId: "people", recordId: "p-1", internal: { reason: "retried by an operator" } }),
    ]);
    const events = messages.flatMap((m) => (m.kind === "salesforce.change" ? [m.header] : []));
    expect(events.map((h) => [h.entityName, h.recordIds.length, h.changeType])).toEqual([
      ["Account", 1, "UPDATE"],
      ["Contact", 100, "UPDATE"],
      ["Contact", 50, "UPDATE"],
    ]);
  });
});

describe("withSlugs", () => {
  const item = (kind: IssueItem["kind"], object: string): IssueItem => ({
    kind,
    id: `${kind}-1`,
    reason: kind === "failure" ? "write_rejected" : "unmapped_value",
    summary: "",
    records: [
      { side: "attio", object, record_id: "r" },
      { side: "salesforce", object: "Contact", record_id: "003" },
    ],
    since: "",
    last_seen: "",
    detail: {},
  });

  it("names a failure's Attio object by slug, leaves other items and unreadable objects alone", async () => {
    const slugOf = async (id: string) => {
      if (id === "obj-id") return "people";
      throw new Error("Attio unreachable");
    };
    const out = await withSlugs(
      [item("failure", "obj-id"), item("failure", "other-id"), item("warning", "obj-id")],
      slugOf,
    );
    expect(out.map((i) => i.records[0]?.object)).toEqual(["people", "other-id", "obj-id"]);
    expect(out[0]?.records[1]?.object).toBe("Contact");
  });
});
