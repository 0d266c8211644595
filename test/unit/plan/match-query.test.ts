import { describe, expect, it } from "vitest";
import { salesforceMatchKeys } from "../../../src/mapping/engine.ts";
import type { ObjectMapping } from "../../../src/mapping/types.ts";
import { matchQueryValues } from "../../../src/plan/match-query.ts";

const accounts = {
  match_keys: [{ attio: "domains", salesforce: "Website", normalize: "domain" }],
} as unknown as ObjectMapping;

describe("matchQueryValues: what to look up in Salesforce for a normalised match key", () => {
  it("keeps emails and other keys as they are (SOQL already ignores case)", () => {
    expect(matchQueryValues("email", "ada@acme.example")).toEqual(["ada@acme.example"]);
    expect(matchQueryValues("exact", "X-1")).toEqual(["X-1"]);
  });

  it("finds an Account whose Website is written in any of the usual forms", () => {
    const queried = matchQueryValues("domain", "acme.example");
    for (const website of [
      "acme.example",
      "www.acme.example",
      "http://acme.example",
      "https://acme.example/",
      "https://www.acme.example",
      "http://www.acme.example/",
    ]) {
      expect(queried).toContain(website);
      // and each of those forms normalises back to the key it was found by
      expect(salesforceMatchKeys(accounts, { Website: website }).map((k) => k.value)).toEqual(["acme.example"]);
    }
  });

  it("does not add a second www. to a domain that has one", () => {
    expect(matchQueryValues("domain", "www.acme.example").some((v) => v.includes("www.www."))).toBe(false);
  });
});
