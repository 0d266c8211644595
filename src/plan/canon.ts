import { type AttioValues, currentValues } from "../mapping/attio-values.ts";
import { type CompiledMapping, type MapOptions, mapToSalesforce } from "../mapping/engine.ts";
import type { DeferredReference, MappingIssue, SfScalar } from "../mapping/types.ts";
import type { FieldPolicy, Values } from "./plan-fields.ts";

/**
 * Both sides of a record pair brought into one comparable form (Salesforce field space), plus what
 * the planner needs around them. Pure.
 */

/** One policy per mapped field, keyed by its Salesforce field name. */
export function policiesOf(compiled: CompiledMapping): FieldPolicy[] {
  return compiled.fields.map((f) => ({
    field: f.spec.salesforce,
    direction: f.spec.direction,
    owner: f.spec.conflict_owner,
  }));
}

/** The Salesforce fields a mapping reads (for SOQL field lists). */
export function salesforceFieldsOf(compiled: CompiledMapping): string[] {
  return [...new Set(compiled.fields.map((f) => f.spec.salesforce))];
}

export interface AttioSide {
  values: Values;
  /** Per Salesforce field: when the Attio value behind it last changed (active_from). */
  changedAt: Record<string, string>;
  deferred: DeferredReference[];
  issues: MappingIssue[];
}

/** An Attio record as the Salesforce values it maps to. */
export function attioSide(compiled: CompiledMapping, values: AttioValues, options: MapOptions): AttioSide {
  const write = mapToSalesforce(compiled, values, options);
  const changedAt: Record<string, string> = {};
  for (const field of compiled.fields) {
    const latest = currentValues(values, field.slug)
      .map((v) => (typeof v["active_from"] === "string" ? v["active_from"] : ""))
      .sort()
      .at(-1);
    if (latest) changedAt[field.spec.salesforce] = latest;
  }
  // A reference that could not be resolved is unknown, not empty: leave it out of the comparison.
  const values_ = { ...write.fields };
  for (const ref of write.deferred) delete values_[ref.salesforce];
  return { values: values_, changedAt, deferred: write.deferred, issues: write.issues };
}

/** A Salesforce record's values of the mapped fields (those the query returned). */
export function salesforceSide(compiled: CompiledMapping, row: Readonly<Record<string, unknown>>): Values {
  const out: Record<string, SfScalar> = {};
  for (const field of salesforceFieldsOf(compiled)) {
    const value = row[field];
    if (value === undefined) continue;
    out[field] =
      value === null || ["string", "number", "boolean"].includes(typeof value)
        ? (value as SfScalar)
        : JSON.stringify(value);
  }
  return out;
}
