import { describe, expect, it } from "vitest";
import { recordsOfKey } from "../../../src/sync/operator-audit.ts";

describe("the records a message key names", () => {
  it.each([
    ["attio:0e0f-people:5b2e-1", { side: "attio", object: "0e0f-people", ids: ["5b2e-1"] }],
    ["salesforce:Contact:003A,003B", { side: "salesforce", object: "Contact", ids: ["003A", "003B"] }],
    ["salesforce:people:003A", { side: "salesforce", object: "people", ids: ["003A"] }],
  ])("%s", (key, records) => {
    expect(recordsOfKey(key)).toEqual(records);
  });

  it.each([null, "drain", "job:j-1", "salesforce:Contact:*", "hubspot:x:1"])("%s names none", (key) => {
    expect(recordsOfKey(key)).toBeUndefined();
  });
});
