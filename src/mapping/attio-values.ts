/**
 * Reading Attio's value arrays. Every attribute is an array of value objects (even single-value
 * ones); `active_until: null` marks the current value(s). Pure: plain data in, plain data out.
 */
export type AttioValues = Record<string, ReadonlyArray<Record<string, unknown>>>;

/** The current values of an attribute, oldest first. */
export function currentValues(values: AttioValues, slug: string): Record<string, unknown>[] {
  return (values[slug] ?? []).filter((v) => v.active_until === null || v.active_until === undefined);
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
