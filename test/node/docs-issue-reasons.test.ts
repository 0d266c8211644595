import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { reasonsMarkdown } from "../../src/sync/issue-reasons.ts";

/** The reasons docs/TROUBLESHOOTING.md lists are the API's own table, word for word. */
describe("docs/TROUBLESHOOTING.md's list of issue reasons", () => {
  it("is the table of src/sync/issue-reasons.ts (regenerate it with reasonsMarkdown())", () => {
    const doc = readFileSync("docs/TROUBLESHOOTING.md", "utf8");
    const section = /<!-- issue-reasons:start -->\n([\s\S]*?)\n<!-- issue-reasons:end -->/.exec(doc)?.[1];
    expect(section).toBe(reasonsMarkdown());
  });
});
