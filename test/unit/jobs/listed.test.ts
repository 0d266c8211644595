import { describe, expect, it } from "vitest";
import type { AttioRecord } from "../../../src/attio/record-schema.ts";
import { LISTED_MAX_AGE_MS, LISTED_MAX_RECORDS, rememberListed, takeListed } from "../../../src/jobs/listed.ts";

function record(id: string): AttioRecord {
  return {
    id: { workspace_id: "w", object_id: "o", record_id: id },
    created_at: "2026-11-01T00:00:00.000Z",
    values: {},
  } as unknown as AttioRecord;
}

describe("records a job page listed", () => {
  it("stand in for a read once, and only for the object they were listed from", () => {
    rememberListed("companies", [record("c1"), record("c2")], 1_000);

    expect(takeListed("people", ["c1"], 1_000).size).toBe(0);
    expect([...takeListed("companies", ["c1", "c3"], 2_000).keys()]).toEqual(["c1"]);
    expect(takeListed("companies", ["c1"], 2_000).size).toBe(0);
    expect(takeListed("companies", ["c2"], 2_000).get("c2")?.id.record_id).toBe("c2");
  });

  it("are not used once older than their maximum age", () => {
    rememberListed("deals", [record("d1"), record("d2")], 10_000);

    expect(takeListed("deals", ["d1"], 10_000 + LISTED_MAX_AGE_MS).size).toBe(1);
    expect(takeListed("deals", ["d2"], 10_000 + LISTED_MAX_AGE_MS + 1).size).toBe(0);
  });

  it("keep at most LISTED_MAX_RECORDS, dropping the oldest first", () => {
    const ids = Array.from({ length: LISTED_MAX_RECORDS + 10 }, (_, i) => `x${i}`);
    rememberListed("bulk", ids.map(record), 5_000);

    expect(takeListed("bulk", ids.slice(0, 10), 5_000).size).toBe(0);
    expect(takeListed("bulk", ids.slice(10), 5_000).size).toBe(LISTED_MAX_RECORDS);
  });
});
