import { describe, expect, it } from "vitest";
import { writeAudits } from "../../../src/engine/audit.ts";
import type { PendingWrite, RunContext } from "../../../src/engine/context.ts";
import { compileMapping } from "../../../src/mapping/engine.ts";
import type { FieldPlan } from "../../../src/plan/plan-fields.ts";

/** The audit rows of one written record, for a small people <-> Contact mapping. */
const compiled = compileMapping({
  name: "people",
  attio_object: "people",
  salesforce_object: "Contact",
  enabled: true,
  read_only: false,
  fields: [
    { attio: "job_title", salesforce: "Title", transform: "text", direction: "both" },
    { attio: "description", salesforce: "Description", transform: "text", direction: "both" },
  ],
  match_keys: [],
  stages: [],
  industries: [],
});
const run = { compiled, decide: { mapOptions: {} } } as unknown as RunContext;
const attioRecord = {
  id: { record_id: "p-1" },
  values: {
    job_title: [{ attribute_type: "text", value: "VP", active_until: null }],
    description: [{ attribute_type: "text", value: "old notes", active_until: null }],
  },
};
const sfRow = { Id: "003A", Title: "VP", Description: "sf notes" };

function item(
  operation: "create" | "update" | "link",
  plan: Partial<FieldPlan>,
  sides: { attio?: unknown; salesforce?: unknown },
): PendingWrite {
  return {
    touch: { correlationId: "corr-9", origin: { kind: "job", jobId: "job-1", reason: "full sync" } },
    pair: undefined,
    decision: {
      operation,
      attio: sides.attio,
      salesforce: sides.salesforce,
      plan: { toSalesforce: {}, toAttio: {}, conflicts: [], resolved: [], ...plan },
    },
    ids: { attio: "p-1", salesforce: sides.salesforce ? "003A" : undefined },
    attioValues: undefined,
  } as unknown as PendingWrite;
}

describe("writeAudits", () => {
  it("an update written both ways: one row per direction, each with the value before from its own side", () => {
    const rows = writeAudits(
      run,
      item(
        "update",
        { toSalesforce: { Title: "CTO" }, toAttio: { Description: "new notes" } },
        {
          attio: attioRecord,
          salesforce: sfRow,
        },
      ),
    );
    expect(rows).toEqual([
      expect.objectContaining({
        direction: "attio_to_sf",
        operation: "update",
        changes: { Title: { before: "VP", after: "CTO" } },
        correlationId: "corr-9",
        attioRecordId: "p-1",
        sfRecordId: "003A",
        actor: "job:job-1",
      }),
      expect.objectContaining({
        direction: "sf_to_attio",
        operation: "update",
        changes: { Description: { before: "old notes", after: "new notes" } },
      }),
    ]);
  });

  it("a create in Salesforce has nothing before; a create in Attio is audited the other way", () => {
    const sfCreate = writeAudits(run, item("create", { toSalesforce: { Title: "CTO" } }, { attio: attioRecord }));
    expect(sfCreate).toEqual([
      expect.objectContaining({
        direction: "attio_to_sf",
        operation: "create",
        sfRecordId: null,
        changes: { Title: { before: null, after: "CTO" } },
      }),
    ]);
    const attioCreate = writeAudits(run, item("create", { toAttio: { Title: "CFO" } }, { salesforce: sfRow }));
    expect(attioCreate).toEqual([
      expect.objectContaining({
        direction: "sf_to_attio",
        operation: "create",
        changes: { Title: { before: null, after: "CFO" } },
      }),
    ]);
  });

  it("a link that wrote nothing is still audited; held conflicts are one conflict row", () => {
    const rows = writeAudits(
      run,
      item(
        "link",
        {
          conflicts: [
            { field: "Title", base: "VP", attio: "CTO", salesforce: "CEO" },
            { field: "Description", base: undefined, attio: undefined, salesforce: "notes" },
          ],
        },
        { attio: attioRecord, salesforce: sfRow },
      ),
    );
    expect(rows.map((r) => [r.direction, r.operation, r.changes])).toEqual([
      ["attio_to_sf", "link", {}],
      [
        "attio_to_sf",
        "conflict",
        { Title: { before: "CTO", after: "CEO" }, Description: { before: null, after: "notes" } },
      ],
    ]);
  });
});
