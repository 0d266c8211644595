import { describe, expect, it } from "vitest";
import {
  type Base,
  effectiveDirection,
  type FieldPolicy,
  type PairValues,
  planFields,
  type Strategy,
  sameValue,
} from "../../../src/plan/plan-fields.ts";

const both: FieldPolicy[] = [{ field: "Title", direction: "both" }];
const base = (attio: unknown, salesforce: unknown = attio): Base => ({
  attio: { Title: attio as string },
  salesforce: { Title: salesforce as string },
});
const pair = (
  attio: string | null,
  salesforce: string | null,
  b?: Base,
  times: Partial<PairValues> = {},
): PairValues => ({
  attio: { Title: attio },
  salesforce: { Title: salesforce },
  base: b,
  ...times,
});

describe("planFields: three-way per field", () => {
  it.each<[string, PairValues, Record<string, unknown>, Record<string, unknown>]>([
    ["nothing changed", pair("VP", "VP", base("VP")), {}, {}],
    ["changed in Attio only -> Salesforce", pair("CTO", "VP", base("VP")), { Title: "CTO" }, {}],
    ["changed in Salesforce only -> Attio", pair("VP", "CTO", base("VP")), {}, { Title: "CTO" }],
    ["changed on both sides to the same value: settled", pair("CTO", "CTO", base("VP")), {}, {}],
    ["cleared in Attio -> cleared in Salesforce", pair(null, "VP", base("VP")), { Title: null }, {}],
    ["empty string and null are the same nothing", pair("", null, base(null)), {}, {}],
  ])("%s", (_name, input, toSalesforce, toAttio) => {
    const plan = planFields(both, input, "manual", "bidirectional");
    expect(plan.toSalesforce).toEqual(toSalesforce);
    expect(plan.toAttio).toEqual(toAttio);
    expect(plan.conflicts).toEqual([]);
  });

  it("compares each side with its own base, so a normalising transform is not a change", () => {
    // Attio maps to "https://acme.example", Salesforce stores "acme.example/": both as last synced.
    const plan = planFields(
      [{ field: "Website", direction: "both" }],
      {
        attio: { Website: "https://acme.example" },
        salesforce: { Website: "acme.example/" },
        base: { attio: { Website: "https://acme.example" }, salesforce: { Website: "acme.example/" } },
      },
      "manual",
      "bidirectional",
    );
    expect(plan).toMatchObject({ toSalesforce: {}, toAttio: {}, conflicts: [] });
  });

  it("stores as next base what both sides hold after the writes", () => {
    const plan = planFields(both, pair("CTO", "VP", base("VP")), "manual", "bidirectional");
    expect(plan.nextBase).toEqual({ attio: { Title: "CTO" }, salesforce: { Title: "CTO" } });
  });
});

describe("planFields: conflicts under each strategy", () => {
  const conflicting = pair("CTO", "CEO", base("VP"), {
    attioChangedAt: { Title: "2026-11-20T10:00:05.000000000Z" },
    salesforceChangedAt: "2026-11-20T10:00:01.000Z",
  });

  it.each<[Strategy, Record<string, unknown>, Record<string, unknown>]>([
    ["attio_wins", { Title: "CTO" }, {}],
    ["sf_wins", {}, { Title: "CEO" }],
    ["last_write", { Title: "CTO" }, {}],
  ])("%s decides and records the decision", (strategy, toSalesforce, toAttio) => {
    const plan = planFields(both, conflicting, strategy, "bidirectional");
    expect(plan.toSalesforce).toEqual(toSalesforce);
    expect(plan.toAttio).toEqual(toAttio);
    expect(plan.conflicts).toEqual([]);
    expect(plan.resolved).toHaveLength(1);
  });

  it("last_write follows the later side's time", () => {
    const later = { ...conflicting, salesforceChangedAt: "2026-11-20T10:00:09.000Z" };
    expect(planFields(both, later, "last_write", "bidirectional").toAttio).toEqual({ Title: "CEO" });
  });

  it("manual leaves the field alone on both sides and keeps the old base", () => {
    const plan = planFields(both, conflicting, "manual", "bidirectional");
    expect(plan.toSalesforce).toEqual({});
    expect(plan.toAttio).toEqual({});
    expect(plan.conflicts).toEqual([{ field: "Title", base: "VP", attio: "CTO", salesforce: "CEO" }]);
    expect(plan.nextBase).toEqual(base("VP"));
  });

  it("a per-field owner overrides the strategy", () => {
    const plan = planFields(
      [{ field: "Title", direction: "both", owner: "salesforce" }],
      conflicting,
      "attio_wins",
      "bidirectional",
    );
    expect(plan.toAttio).toEqual({ Title: "CEO" });
  });

  it("with no base, a blank on one side is filled from the other without a conflict", () => {
    expect(planFields(both, pair("CTO", null, undefined), "manual", "bidirectional").toSalesforce).toEqual({
      Title: "CTO",
    });
    expect(planFields(both, pair("", "CEO", undefined), "manual", "bidirectional").toAttio).toEqual({ Title: "CEO" });
  });

  it("the first sync of a pair with different values is a conflict too", () => {
    const plan = planFields(both, pair("CTO", "CEO", undefined), "manual", "bidirectional");
    expect(plan.conflicts).toEqual([{ field: "Title", base: undefined, attio: "CTO", salesforce: "CEO" }]);
  });
});

describe("planFields: directions", () => {
  it("a one-way field never flows the other way, even on conflict", () => {
    const policies: FieldPolicy[] = [{ field: "Title", direction: "attio_to_sf" }];
    expect(planFields(policies, pair("VP", "CEO", base("VP")), "sf_wins", "bidirectional")).toMatchObject({
      toSalesforce: {},
      toAttio: {},
      conflicts: [],
    });
    expect(planFields(policies, pair("CTO", "CEO", base("VP")), "sf_wins", "bidirectional")).toMatchObject({
      toSalesforce: { Title: "CTO" },
      toAttio: {},
    });
  });

  it("SYNC_DIRECTION narrows two-way fields and drops the opposite one-way fields", () => {
    expect(effectiveDirection("both", "attio_to_sf")).toBe("attio_to_sf");
    expect(effectiveDirection("sf_to_attio", "attio_to_sf")).toBeNull();
    expect(effectiveDirection("sf_to_attio", "sf_to_attio")).toBe("sf_to_attio");
    const plan = planFields(both, pair("VP", "CTO", base("VP")), "manual", "attio_to_sf");
    expect(plan.toAttio).toEqual({});
  });
});

describe("planFields: values a side cannot state", () => {
  it("leaves a field alone when the Attio record exists but its value is unknown (unresolved reference)", () => {
    const plan = planFields(
      [{ field: "AccountId", direction: "both" }],
      { attio: {}, salesforce: { AccountId: null }, base: undefined },
      "manual",
      "bidirectional",
    );
    expect(plan).toMatchObject({ toSalesforce: {}, toAttio: {}, conflicts: [] });
    expect(plan.nextBase).toEqual({ attio: {}, salesforce: {} });
  });

  it("leaves a field alone when the Salesforce record exists but did not return it", () => {
    const plan = planFields(
      both,
      { attio: { Title: "CTO" }, salesforce: {}, base: undefined },
      "manual",
      "bidirectional",
    );
    expect(plan.toSalesforce).toEqual({});
  });
});

describe("planFields: creates", () => {
  it("writes every readable Attio field when Salesforce has no record yet", () => {
    const plan = planFields(
      [
        { field: "LastName", direction: "both" },
        { field: "Title", direction: "both" },
      ],
      { attio: { LastName: "Okafor", Title: null }, salesforce: undefined, base: undefined },
      "manual",
      "bidirectional",
    );
    expect(plan.toSalesforce).toEqual({ LastName: "Okafor", Title: null });
  });
});

describe("sameValue", () => {
  it("compares numbers and numeric strings as numbers", () => {
    expect(sameValue(5000000, "5000000")).toBe(true);
    expect(sameValue(5, "5.0")).toBe(true);
    expect(sameValue(5, "")).toBe(false);
    expect(sameValue(0, null)).toBe(false);
  });
});
