import type { AttioValues } from "./attio-values.ts";
import { defaultMappings } from "./defaults.ts";
import { compileMapping, mapToSalesforce } from "./engine.ts";

export { LAST_NAME_FALLBACK } from "./names.ts";

/** The Contact fields the People -> Contact slice writes. */
export interface ContactFields {
  FirstName: string | null;
  LastName: string;
  Email: string | null;
  Phone: string | null;
  Title: string | null;
}

const SLICE_FIELDS = new Set(["FirstName", "LastName", "Email", "Phone", "Title"]);

// The slice is the default People mapping cut down to five fields, so both share one implementation.
const PEOPLE = (() => {
  const people = defaultMappings().find((m) => m.name === "people");
  if (!people) throw new Error("the default mappings have no people mapping");
  return compileMapping({ ...people, fields: people.fields.filter((f) => SLICE_FIELDS.has(f.salesforce)) });
})();

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/**
 * Maps an Attio person (its `values`) to Salesforce Contact fields: name first/last, primary email,
 * primary phone, job title. LastName is never empty (see lastNameWithFallback).
 */
export function personToContact(values: AttioValues): ContactFields {
  const { fields } = mapToSalesforce(PEOPLE, values);
  return {
    FirstName: stringOrNull(fields.FirstName),
    LastName: stringOrNull(fields.LastName) ?? "",
    Email: stringOrNull(fields.Email),
    Phone: stringOrNull(fields.Phone),
    Title: stringOrNull(fields.Title),
  };
}
