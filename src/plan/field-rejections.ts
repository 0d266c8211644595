import type { SfScalar } from "../mapping/types.ts";
import type { Base, FieldPlan } from "./plan-fields.ts";

/**
 * A Salesforce refusal of one record's values that names the fields it refuses, and what to do
 * with it. Pure.
 *
 * Salesforce refuses a whole record for one bad value (a picklist value the org does not list, a
 * text too long for its field, a malformed email). When every error of the refusal is one of these
 * field-level codes and names only fields we sent, the record is written once more without them:
 * its other fields are not held back by one value. The fields left out become warnings on the
 * record, and the base does not take them as synced, so the next sync tries them again.
 */

/** Salesforce error codes that refuse a value of the fields they name, not the record. */
const FIELD_LEVEL_CODES = new Set([
  "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
  "STRING_TOO_LONG",
  "INVALID_EMAIL_ADDRESS",
  "FIELD_INTEGRITY_EXCEPTION",
  "INVALID_TYPE_ON_FIELD_IN_RECORD",
  "NUMBER_OUTSIDE_VALID_RANGE",
]);

/** One error of a refused record, as Salesforce reports it (statusCode, message, fields). */
export interface SaveErrorItem {
  code: string;
  message: string;
  fields: readonly string[];
}

/**
 * The fields to leave out of a second try, or undefined when the refusal is not only about fields
 * we sent (a required field missing, a validation rule, a field Salesforce names that we did not
 * write): then the record fails as it is.
 *
 * @example
 * rejectedFields([{ code: "STRING_TOO_LONG", message: "Title: data value too large", fields: ["Title"] }], ["Title", "LastName"]) // ["Title"]
 */
export function rejectedFields(errors: readonly SaveErrorItem[], sent: readonly string[]): string[] | undefined {
  if (errors.length === 0) return undefined;
  const fields = new Set<string>();
  for (const error of errors) {
    if (!FIELD_LEVEL_CODES.has(error.code) || error.fields.length === 0) return undefined;
    for (const field of error.fields) {
      if (!sent.includes(field)) return undefined;
      fields.add(field);
    }
  }
  return [...fields];
}

/**
 * The plan once Salesforce refused `fields`: they are not written, and their base stays as it was
 * (on a first write: Salesforce's value as read, nothing for a new record), so the next sync finds
 * Attio's value still unsynced and tries it again.
 */
export function withoutRejected(
  plan: FieldPlan,
  fields: readonly string[],
  previous: { base: Base | undefined; salesforce: Readonly<Record<string, SfScalar>> | undefined },
): FieldPlan {
  const toSalesforce = { ...plan.toSalesforce };
  const attio = { ...plan.nextBase.attio };
  const salesforce = { ...plan.nextBase.salesforce };
  for (const field of fields) {
    delete toSalesforce[field];
    const base = previous.base;
    if (base && field in base.attio) attio[field] = base.attio[field] ?? null;
    else delete attio[field];
    if (base && field in base.salesforce) salesforce[field] = base.salesforce[field] ?? null;
    else salesforce[field] = previous.salesforce?.[field] ?? null;
  }
  return {
    ...plan,
    toSalesforce,
    nextBase: { attio, salesforce },
    unwritten: [...(plan.unwritten ?? []), ...fields],
  };
}
