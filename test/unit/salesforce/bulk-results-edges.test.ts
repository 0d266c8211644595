import { describe, expect, it } from "vitest";
import { ResultMatcher } from "../../../src/salesforce/bulk-results.ts";

/** Result CSVs that are not shaped like the upload: missing columns, short rows, changed keys. */
describe("matching bulk results that differ from the upload", () => {
  it("counts every row of a result CSV without any uploaded column as unmatched, not the trailing blank line", () => {
    const matcher = new ResultMatcher(["Name"], [["A"], ["B"]]);
    matcher.add("successful", [["sf__Id", "sf__Created"], ["001A", "true"], ["001B", "true"], [""]]);
    expect(matcher.unmatched).toBe(2);
    expect(matcher.pending).toBe(2);
    expect(matcher.result(0)).toBeUndefined();
  });

  it("reads a result without sf__ columns as an empty id, not created, an UNKNOWN error", () => {
    const matcher = new ResultMatcher(["Name"], [["A"], ["B"]]);
    matcher.add("successful", [["Name"], ["A"]]);
    matcher.add("failed", [["Name"], ["B"]]);
    expect(matcher.result(0)).toEqual({ kind: "success", id: "", created: false });
    expect(matcher.result(1)).toEqual({
      kind: "failure",
      id: "",
      errors: [{ statusCode: "UNKNOWN", message: "", fields: [] }],
    });
  });

  it("finds a short result row by its key; a row without the key matches nothing", () => {
    const header = ["Id", "Title"];
    const matcher = new ResultMatcher(
      header,
      [
        ["003000000000001AAA", "Chief"],
        ["003000000000002AAA", "Warden"],
      ],
      "Id",
    );
    matcher.add("successful", [
      ["sf__Id", "sf__Created", ...header],
      ["003000000000002AAA", "false", "003000000000002AAA"],
      ["003X", "false"],
    ]);
    expect(matcher.result(1)).toEqual({ kind: "success", id: "003000000000002AAA", created: false });
    expect(matcher.result(0)).toBeUndefined();
    expect(matcher.unmatched).toBe(1);
  });

  it("matches a key that came back in another case with other values, last of all", () => {
    const header = ["Attio_Id__c", "LastName"];
    const matcher = new ResultMatcher(
      header,
      [
        ["rec-a", "Marsh"],
        ["rec-b", "Lund"],
      ],
      "Attio_Id__c",
    );
    matcher.add("failed", [
      ["sf__Id", "sf__Error", ...header],
      ["", "FIELD_CUSTOM_VALIDATION_EXCEPTION:no:LastName --", " REC-B ", "LUND-changed"],
    ]);
    expect(matcher.result(1)).toEqual({
      kind: "failure",
      id: "",
      errors: [{ statusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", message: "no", fields: ["LastName"] }],
    });
    expect(matcher.result(0)).toBeUndefined();
  });

  it("upload rows shorter than the header compare as empty cells", () => {
    const header = ["Id", "Title"];
    const matcher = new ResultMatcher(header, [["003000000000001AAA"], []], "Id");
    matcher.add("successful", [
      ["sf__Id", "sf__Created", ...header],
      ["003000000000001AAA", "false", "003000000000001aaa", "X"],
      ["003B", "false", "", "Y"],
    ]);
    expect(matcher.result(0)).toEqual({ kind: "success", id: "003000000000001AAA", created: false });
    expect(matcher.result(1)).toEqual({ kind: "success", id: "003B", created: false });
    expect(matcher.pending).toBe(0);
  });

  it("skips an upload row already matched by its key when its exact copy comes back later", () => {
    const header = ["Attio_Id__c", "LastName"];
    const matcher = new ResultMatcher(
      header,
      [
        ["p-1", "Same"],
        ["p-1", "Same"],
      ],
      "Attio_Id__c",
    );
    matcher.add("successful", [
      ["sf__Id", "sf__Created", ...header],
      ["003A", "true", "p-1", "Changed on the way"],
      ["003B", "false", "p-1", "Same"],
    ]);
    expect(matcher.result(0)).toEqual({ kind: "success", id: "003A", created: true });
    expect(matcher.result(1)).toEqual({ kind: "success", id: "003B", created: false });
    expect(matcher.unmatched).toBe(0);
  });
});
