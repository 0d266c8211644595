import { describe, expect, it } from "vitest";
import { rejectedFields, withoutRejected } from "../../../src/plan/field-rejections.ts";
import { nextBase } from "../../../src/plan/next-base.ts";
import { type FieldPolicy, planFields } from "../../../src/plan/plan-fields.ts";

const picklist = {
  code: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
  message: "Mailing Country Code: bad value for restricted picklist field: FR",
  fields: ["MailingCountryCode"],
};
const tooLong = { code: "STRING_TOO_LONG", message: "Title: data value too large", fields: ["Title"] };

describe("rejectedFields", () => {
  it("names every refused field when each error is about a field we sent", () => {
    expect(rejectedFields([picklist, tooLong], ["Title", "LastName", "MailingCountryCode"])).toEqual([
      "MailingCountryCode",
      "Title",
    ]);
  });

  it("leaves the record failed when any error is about the record, names no field, or a field we did not send", () => {
    const required = { code: "REQUIRED_FIELD_MISSING", message: "Required fields are missing", fields: ["LastName"] };
    expect(rejectedFields([picklist, required], ["MailingCountryCode", "LastName"])).toBeUndefined();
    expect(rejectedFields([{ ...tooLong, fields: [] }], ["Title"])).toBeUndefined();
    expect(rejectedFields([tooLong], ["LastName"])).toBeUndefined();
    expect(rejectedFields([], ["Title"])).toBeUndefined();
    const rule = { code: "FIELD_CUSTOM_VALIDATION_EXCEPTION", message: "Title is locked", fields: ["Title"] };
    expect(rejectedFields([rule], ["Title"])).toBeUndefined();
  });
});

const policies: FieldPolicy[] = [
  { field: "Title", direction: "both" },
  { field: "MailingCountryCode", direction: "both" },
];

describe("withoutRejected", () => {
  it("drops the field from the write and keeps its old base, so the next sync tries it again", () => {
    const base = {
      attio: { Title: "Analyst", MailingCountryCode: "GB" },
      salesforce: { Title: "Analyst", MailingCountryCode: "GB" },
    };
    const plan = planFields(
      policies,
      { attio: { Title: "CTO", MailingCountryCode: "FR" }, salesforce: { ...base.salesforce }, base },
      "last_write",
      "bidirectional",
    );
    const dropped = withoutRejected(plan, ["MailingCountryCode"], { base, salesforce: base.salesforce });
    expect(dropped.toSalesforce).toEqual({ Title: "CTO" });
    const stored = nextBase(dropped, { Title: "CTO", MailingCountryCode: "FR" });
    expect(stored).toEqual({
      attio: { Title: "CTO", MailingCountryCode: "GB" },
      salesforce: { Title: "CTO", MailingCountryCode: "GB" },
    });
    const next = planFields(
      policies,
      {
        attio: { Title: "CTO", MailingCountryCode: "FR" },
        salesforce: { Title: "CTO", MailingCountryCode: "GB" },
        base: stored,
      },
      "last_write",
      "bidirectional",
    );
    expect(next.toSalesforce).toEqual({ MailingCountryCode: "FR" });
  });

  it("on a new record: no Attio base and nothing on the Salesforce side, so Attio's value still fills the blank", () => {
    const plan = planFields(
      policies,
      { attio: { Title: "CTO", MailingCountryCode: "FR" }, salesforce: undefined, base: undefined },
      "manual",
      "bidirectional",
    );
    const stored = nextBase(withoutRejected(plan, ["MailingCountryCode"], { base: undefined, salesforce: undefined }), {
      Title: "CTO",
      MailingCountryCode: "FR",
    });
    expect(stored).toEqual({ attio: { Title: "CTO" }, salesforce: { Title: "CTO", MailingCountryCode: null } });
    const next = planFields(
      policies,
      {
        attio: { Title: "CTO", MailingCountryCode: "FR" },
        salesforce: { Title: "CTO", MailingCountryCode: null },
        base: stored,
      },
      "manual",
      "bidirectional",
    );
    expect(next.toSalesforce).toEqual({ MailingCountryCode: "FR" });
    expect(next.conflicts).toEqual([]);
  });
});
