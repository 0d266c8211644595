import { describe, expect, it } from "vitest";
import { nextBase } from "../../../src/plan/next-base.ts";
import { type FieldPolicy, planFields } from "../../../src/plan/plan-fields.ts";

const policies: FieldPolicy[] = [
  { field: "Title", direction: "both" },
  { field: "Phone", direction: "both" },
];

describe("nextBase: the base stored after a pair's writes", () => {
  it("takes Attio's current values for the Attio side, so a normalised value is not an edit next time", () => {
    const plan = planFields(
      policies,
      {
        attio: { Title: "CTO", Phone: "+44 20 7946 0321" },
        salesforce: { Title: "VP", Phone: "+44 20 7946 0321" },
        base: {
          attio: { Title: "VP", Phone: "+44 20 7946 0321" },
          salesforce: { Title: "VP", Phone: "+44 20 7946 0321" },
        },
      },
      "last_write",
      "bidirectional",
    );
    const base = nextBase(plan, { Title: "CTO", Phone: "+442079460321" });
    expect(base).toEqual({
      attio: { Title: "CTO", Phone: "+442079460321" },
      salesforce: { Title: "CTO", Phone: "+44 20 7946 0321" },
    });
  });

  it("keeps the old base of a field left in conflict, so the next event finds the same conflict", () => {
    const pair = {
      attio: { Title: "From Attio", Phone: null },
      salesforce: { Title: "From Salesforce", Phone: null },
      base: { attio: { Title: "Analyst", Phone: null }, salesforce: { Title: "Analyst", Phone: null } },
    };
    const plan = planFields(policies, pair, "manual", "bidirectional");
    expect(plan.conflicts.map((c) => c.field)).toEqual(["Title"]);

    const base = nextBase(plan, pair.attio);
    expect(base.attio["Title"]).toBe("Analyst");
    expect(base.salesforce["Title"]).toBe("Analyst");
    // Planned again from the stored base: still a conflict, nothing written either way.
    const again = planFields(policies, { ...pair, base }, "manual", "bidirectional");
    expect(again.conflicts.map((c) => c.field)).toEqual(["Title"]);
    expect(again.toAttio).toEqual({});
    expect(again.toSalesforce).toEqual({});
  });

  it("stores no Attio base for a field in conflict at first contact (there was no base)", () => {
    const pair = { attio: { Title: "A", Phone: null }, salesforce: { Title: "S", Phone: null }, base: undefined };
    const plan = planFields(policies, pair, "manual", "bidirectional");
    const base = nextBase(plan, pair.attio);
    expect(base.attio).not.toHaveProperty("Title");
    expect(planFields(policies, { ...pair, base }, "manual", "bidirectional").conflicts).toHaveLength(1);
  });

  it("stores no base at all for a deferred reference", () => {
    const plan = {
      nextBase: { attio: { AccountId: null, Title: "CTO" }, salesforce: { AccountId: null, Title: "CTO" } },
      conflicts: [],
    };
    const base = nextBase(plan, { Title: "CTO" }, ["AccountId"]);
    expect(base).toEqual({ attio: { Title: "CTO" }, salesforce: { Title: "CTO" } });
  });
});
