import { describe, expect, it } from "vitest";
import company from "../../../fixtures/attio/company-record.json";
import { AttioRecordSchema, recordSchemaReading } from "../../../src/attio/record-schema.ts";

const READ = new Set(["name", "domains", "categories", "not_in_this_workspace"]);

describe("a record schema reading some attributes", () => {
  it("keeps exactly the read attributes' values, as the full schema reads them", () => {
    const full = AttioRecordSchema.parse(structuredClone(company.data));

    const trimmed = recordSchemaReading(READ).parse(structuredClone(company.data));

    expect(Object.keys(trimmed.values).sort()).toEqual(["categories", "domains", "name"]);
    expect(trimmed.values["domains"]).toEqual(full.values["domains"]);
    expect(trimmed.values["name"]).toEqual(full.values["name"]);
    expect({ ...trimmed, values: undefined }).toEqual({ ...full, values: undefined });
  });

  it("rejects a malformed value of a read attribute, naming its path", () => {
    const body = structuredClone(company.data) as { values: Record<string, unknown[]> };
    body.values["name"] = [{ value: "no active_from" }];

    const result = recordSchemaReading(READ).safeParse(body);

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.slice(0, 3)).toEqual(["values", "name", 0]);
  });

  it("ignores an attribute it does not read, however it looks", () => {
    const body = structuredClone(company.data) as { values: Record<string, unknown> };
    body.values["twitter"] = "not even an array";

    const trimmed = recordSchemaReading(READ).parse(body);

    expect(trimmed.values).not.toHaveProperty("twitter");
    expect(AttioRecordSchema.safeParse(body).success).toBe(false);
  });

  it("is built once per set of attributes, whatever their order", () => {
    expect(recordSchemaReading(new Set(["domains", "name"]))).toBe(recordSchemaReading(new Set(["name", "domains"])));
  });
});
