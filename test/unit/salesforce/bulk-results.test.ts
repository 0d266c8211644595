import { describe, expect, it } from "vitest";
import { ResultMatcher } from "../../../src/salesforce/bulk-results.ts";

const OK = ["sf__Id", "sf__Created"];
const FAILED = ["sf__Id", "sf__Error"];

describe("matching bulk results to uploaded rows", () => {
  it("matches shuffled successful and failed rows of an insert by their content", () => {
    const header = ["LastName", "Email"];
    const rows = [
      ["Marsh", "ida@example.com"],
      ["", "nolast@example.com"],
      ["Lund", "bo@example.com"],
    ];
    const matcher = new ResultMatcher(header, rows);
    matcher.add("successful", [
      [...OK, ...header],
      ["003B", "true", "Lund", "bo@example.com"],
      ["003A", "true", "Marsh", "ida@example.com"],
    ]);
    expect(matcher.pending).toBe(1);
    matcher.add("failed", [
      [...FAILED, ...header],
      ["", "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --", "", "nolast@example.com"],
    ]);
    expect(matcher.pending).toBe(0);
    expect(matcher.unmatched).toBe(0);
    expect(matcher.result(0)).toEqual({ kind: "success", id: "003A", created: true });
    expect(matcher.result(2)).toEqual({ kind: "success", id: "003B", created: true });
    expect(matcher.result(1)).toEqual({
      kind: "failure",
      id: "",
      errors: [
        {
          statusCode: "REQUIRED_FIELD_MISSING",
          message: "Required fields are missing: [LastName]",
          fields: ["LastName"],
        },
      ],
    });
  });

  it("hands out the results of identical rows in upload order, whatever the result order", () => {
    const rows = [["Same"], ["Other"], ["Same"], ["Same"]];
    const matcher = new ResultMatcher(["Name"], rows);
    matcher.add("successful", [
      [...OK, "Name"],
      ["001-1", "true", "Same"],
      ["001-2", "true", "Other"],
      ["001-3", "true", "Same"],
    ]);
    matcher.add("failed", [
      [...FAILED, "Name"],
      ["", "DUPLICATES_DETECTED:duplicate: --", "Same"],
    ]);
    expect([0, 1, 2, 3].map((i) => matcher.result(i))).toEqual([
      { kind: "success", id: "001-1", created: true },
      { kind: "success", id: "001-2", created: true },
      { kind: "success", id: "001-3", created: true },
      { kind: "failure", id: "", errors: [{ statusCode: "DUPLICATES_DETECTED", message: "duplicate", fields: [] }] },
    ]);
  });

  it("finds update and upsert rows by their key when the echoed cells differ", () => {
    const header = ["Id", "Title"];
    const rows = [
      ["003000000000001AAA", "Chief"],
      ["003000000000002AAA", "Line1\r\nLine2"],
      ["003000000000003AAA", "Warden"],
    ];
    const matcher = new ResultMatcher(header, rows, "Id");
    matcher.add("successful", [
      [...OK, ...header],
      // CRLF normalised and the value changed on the way back: the Id still says whose it is.
      ["003000000000002AAA", "false", "003000000000002AAA", "Line1\nLine2"],
      ["003000000000003AAA", "false", "003000000000003AAA", "WARDEN (changed)"],
      ["003000000000001AAA", "false", "003000000000001AAA", "Chief"],
    ]);
    expect(matcher.pending).toBe(0);
    expect([0, 1, 2].map((i) => matcher.result(i))).toEqual(
      ["003000000000001AAA", "003000000000002AAA", "003000000000003AAA"].map((id) => ({
        kind: "success",
        id,
        created: false,
      })),
    );
  });

  it("prefers the exact row when a key repeats (the same record twice in one job)", () => {
    const header = ["Attio_Id__c", "LastName"];
    const rows = [
      ["p-1", "First"],
      ["p-1", "Second"],
    ];
    const matcher = new ResultMatcher(header, rows, "Attio_Id__c");
    matcher.add("successful", [
      [...OK, ...header],
      ["003B", "false", "p-1", "Second"],
    ]);
    matcher.add("failed", [
      [...FAILED, ...header],
      ["", "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access: --", "p-1", "First"],
    ]);
    expect(matcher.result(0)).toMatchObject({ kind: "failure" });
    expect(matcher.result(1)).toEqual({ kind: "success", id: "003B", created: false });
  });

  it("matches loosely (case, edge spaces) and by header name whatever the column order", () => {
    const matcher = new ResultMatcher(
      ["Name", "Industry"],
      [
        ["Acme", "Banking"],
        ["Borealis ", "true"],
      ],
    );
    matcher.add("successful", [
      ["sf__Created", "Industry", "sf__Id", "Name"],
      ["true", "TRUE", "001B", "Borealis"],
      ["true", "Banking", "001A", "Acme"],
    ]);
    expect(matcher.result(0)).toEqual({ kind: "success", id: "001A", created: true });
    expect(matcher.result(1)).toEqual({ kind: "success", id: "001B", created: true });
  });

  it("marks unprocessed rows and counts result rows that match nothing", () => {
    const matcher = new ResultMatcher(["Name"], [["A"], ["B"], ["C"]]);
    matcher.add("successful", [
      [...OK, "Name"],
      ["001A", "true", "A"],
      ["001X", "true", "Not sent"],
    ]);
    matcher.add("failed", [[...FAILED, "Name"]]);
    matcher.add("unprocessed", [["Name"], ["C"]]);
    expect(matcher.unmatched).toBe(1);
    expect(matcher.pending).toBe(1);
    expect(matcher.result(0)).toMatchObject({ kind: "success" });
    expect(matcher.result(1)).toBeUndefined();
    expect(matcher.result(2)).toEqual({ kind: "unprocessed" });
  });

  it("takes an empty result CSV (no header at all) as no rows", () => {
    const matcher = new ResultMatcher(["Name"], [["A"]]);
    matcher.add("failed", []);
    expect(matcher.pending).toBe(1);
    expect(matcher.unmatched).toBe(0);
  });
});
