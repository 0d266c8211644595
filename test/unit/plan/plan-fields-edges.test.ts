import { describe, expect, it } from "vitest";
import { SyncError } from "../../../src/lib/errors.ts";
import { COUNT_KEYS, countKey, OUTCOME_ACTIONS, type OutcomeAction } from "../../../src/plan/outcome.ts";
import { type FieldPolicy, type PairValues, planFields } from "../../../src/plan/plan-fields.ts";

const both: FieldPolicy[] = [{ field: "Title", direction: "both" }];
const fromSf: FieldPolicy[] = [{ field: "Title", direction: "sf_to_attio" }];
const conflicting = (times: Partial<PairValues> = {}): PairValues => ({
  attio: { Title: "CTO" },
  salesforce: { Title: "CEO" },
  base: { attio: { Title: "VP" }, salesforce: { Title: "VP" } },
  ...times,
});

describe("planFields: Salesforce -> Attio fields", () => {
  it("copies a Salesforce change to Attio and stores it as the base of both sides", () => {
    const plan = planFields(
      fromSf,
      {
        attio: { Title: "VP" },
        salesforce: { Title: "CFO" },
        base: { attio: { Title: "VP" }, salesforce: { Title: "VP" } },
      },
      "attio_wins",
      "bidirectional",
    );
    expect(plan.toAttio).toEqual({ Title: "CFO" });
    expect(plan.toSalesforce).toEqual({});
    expect(plan.nextBase).toEqual({ attio: { Title: "CFO" }, salesforce: { Title: "CFO" } });
  });

  it("never copies an Attio edit back; the edit becomes Attio's base so it is not seen again", () => {
    const plan = planFields(
      fromSf,
      {
        attio: { Title: "CTO" },
        salesforce: { Title: "VP" },
        base: { attio: { Title: "VP" }, salesforce: { Title: "VP" } },
      },
      "attio_wins",
      "bidirectional",
    );
    expect(plan).toMatchObject({ toAttio: {}, toSalesforce: {}, conflicts: [], resolved: [] });
    expect(plan.nextBase).toEqual({ attio: { Title: "CTO" }, salesforce: { Title: "VP" } });
  });

  it("creating the Attio record writes every field Salesforce holds", () => {
    const plan = planFields(
      [...fromSf, { field: "Phone", direction: "both" }],
      { attio: undefined, salesforce: { Title: "CFO", Phone: null }, base: undefined },
      "manual",
      "bidirectional",
    );
    expect(plan.toAttio).toEqual({ Title: "CFO", Phone: null });
  });

  it("with no Salesforce record a Salesforce -> Attio field keeps Attio's value and base untouched", () => {
    const plan = planFields(
      fromSf,
      { attio: { Title: "CTO" }, salesforce: undefined, base: undefined },
      "manual",
      "bidirectional",
    );
    expect(plan.toSalesforce).toEqual({});
    expect(plan.toAttio).toEqual({});
    expect(plan.nextBase).toEqual({ attio: { Title: "CTO" }, salesforce: {} });
  });

  it("SYNC_DIRECTION=sf_to_attio drops an Attio -> Salesforce field completely", () => {
    const plan = planFields([{ field: "Title", direction: "attio_to_sf" }], conflicting(), "attio_wins", "sf_to_attio");
    expect(plan).toMatchObject({ toSalesforce: {}, toAttio: {}, conflicts: [], resolved: [] });
    expect(plan.nextBase).toEqual({ attio: { Title: "VP" }, salesforce: { Title: "VP" } });
  });
});

describe("planFields: conflict decisions", () => {
  it("a field owned by Attio wins over the sf_wins strategy", () => {
    const plan = planFields(
      [{ field: "Title", direction: "both", owner: "attio" }],
      conflicting(),
      "sf_wins",
      "bidirectional",
    );
    expect(plan.toSalesforce).toEqual({ Title: "CTO" });
    expect(plan.resolved).toEqual([{ field: "Title", base: "VP", attio: "CTO", salesforce: "CEO", winner: "attio" }]);
  });

  it("last_write with only Attio's time gives Attio; with no time at all, Salesforce", () => {
    const attioOnly = conflicting({ attioChangedAt: { Title: "2026-11-20T10:00:00.000000000Z" } });
    expect(planFields(both, attioOnly, "last_write", "bidirectional").toSalesforce).toEqual({ Title: "CTO" });
    const sfOnly = conflicting({ salesforceChangedAt: "2026-11-20T10:00:00.000Z" });
    expect(planFields(both, sfOnly, "last_write", "bidirectional").toAttio).toEqual({ Title: "CEO" });
    expect(planFields(both, conflicting(), "last_write", "bidirectional").toAttio).toEqual({ Title: "CEO" });
  });

  it("a conflict reports the base of whichever side has one", () => {
    const attioBaseOnly = conflicting({ base: { attio: { Title: "VP" }, salesforce: {} } });
    expect(planFields(both, attioBaseOnly, "manual", "bidirectional").conflicts).toEqual([
      { field: "Title", base: "VP", attio: "CTO", salesforce: "CEO" },
    ]);
    const nullBase = conflicting({ base: { attio: { Title: null }, salesforce: {} } });
    expect(planFields(both, nullBase, "manual", "bidirectional").conflicts[0]?.base).toBeNull();
  });
});

describe("countKey", () => {
  const expected: Record<OutcomeAction, string> = {
    create: "created",
    update: "updated",
    link: "linked",
    unchanged: "unchanged",
    ambiguous: "ambiguous",
    delete: "deleted",
    unlink: "deleted",
    hold_delete: "deleted",
    hold_update: "held",
    follow_merge: "unchanged",
    gone: "unchanged",
  };

  it.each(OUTCOME_ACTIONS.map((action) => [action, expected[action]]))("a done %s counts as %s", (action, key) => {
    expect(countKey({ status: "done", action })).toBe(key);
    expect(COUNT_KEYS).toContain(key);
  });

  it("an update that held fields counts as conflicts; a retry counts nothing; a failure as failed", () => {
    expect(countKey({ status: "done", action: "update", conflicts: 2 })).toBe("conflicts");
    expect(countKey({ status: "done", action: "update", conflicts: 0 })).toBe("updated");
    expect(countKey({ status: "retry", error: new SyncError("rate_limited", "429") })).toBeNull();
    expect(countKey({ status: "failed", error: new SyncError("upstream_rejected", "no") })).toBe("failed");
  });
});
