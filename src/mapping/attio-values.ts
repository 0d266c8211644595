/**
 * Reading Attio's value arrays. Every attribute is an array of value objects (even single-value
 * ones); `active_until: null` marks the current value(s). Pure: plain data in, plain data out.
 */
export type AttioValues = Record<string, ReadonlyArray<Record<string, unknown>>>;

/** The current values of an attribute, oldest first. */
export function currentValues(values: AttioValues, slug: string): ReadonlyArray<Record<string, unknown>> {
  const all = values[slug];
  if (!all || all.length === 0) return EMPTY;
  // Reads usually hold only current values: return the array itself rather than a filtered copy.
  if (all.every(isCurrent)) return all;
  return all.filter(isCurrent);
}

const EMPTY: ReadonlyArray<Record<string, unknown>> = Object.freeze([]);

function isCurrent(value: Record<string, unknown>): boolean {
  return value["active_until"] === null || value["active_until"] === undefined;
}

/** The first current value of an attribute (the "primary" one for multiselect attributes). */
export function firstValue(values: AttioValues, slug: string): Record<string, unknown> | undefined {
  return currentValues(values, slug)[0];
}

/** A string field of the first current value, or null. */
export function firstString(values: AttioValues, slug: string, field: string): string | null {
  const value = firstValue(values, slug)?.[field];
  return typeof value === "string" && value.length > 0 ? value : null;
}
