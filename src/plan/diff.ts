/** A field whose value differs between two snapshots. */
export interface FieldChange {
  before: unknown;
  after: unknown;
}

/**
 * The fields of `after` whose values differ from `before` (a missing `before` means every field
 * is new). Values compare by their JSON form, so `null` and a missing field are different.
 */
export function diffFields(
  before: Readonly<Record<string, unknown>> | undefined | null,
  after: Readonly<Record<string, unknown>>,
): Record<string, FieldChange> {
  const changes: Record<string, FieldChange> = {};
  for (const [field, value] of Object.entries(after)) {
    const previous = before?.[field];
    if (before && field in before && sameValue(previous, value)) continue;
    changes[field] = { before: previous ?? null, after: value };
  }
  return changes;
}

export function sameValue(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** JSON with object keys sorted, so equal values always serialize (and hash) the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
      return sorted;
    }
    return v;
  });
}
