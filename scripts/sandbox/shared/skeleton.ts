/**
 * The structure of a JSON value as a map from key path to the JSON types seen there, e.g.
 * `data.values.name[].first_name -> ["string"]`. Contract tests compare the emulators' responses
 * with skeletons taken from real recorded payloads: structure, not values.
 */
export type Skeleton = Record<string, string[]>;

export function skeletonOf(value: unknown, options: { dynamicKeysAt?: string[] } = {}): Skeleton {
  const out: Skeleton = {};
  walk(value, "$", out, new Set(options.dynamicKeysAt ?? []));
  for (const key of Object.keys(out)) out[key] = [...new Set(out[key])].sort();
  return out;
}

export function mergeSkeletons(...skeletons: Skeleton[]): Skeleton {
  const out: Skeleton = {};
  for (const skeleton of skeletons) {
    for (const [path, types] of Object.entries(skeleton))
      out[path] = [...new Set([...(out[path] ?? []), ...types])].sort();
  }
  return out;
}

/**
 * Differences between an emulator skeleton and a reference one: paths only one side has, and paths
 * whose emulator types are not among the reference's types. Empty means "same structure".
 */
export function compareSkeletons(
  actual: Skeleton,
  reference: Skeleton,
  options: { nullMeansAnyScalar?: boolean } = {},
): string[] {
  const problems: string[] = [];
  // A field that was null in every recording says nothing about its type when set.
  const scalars = ["boolean", "number", "string"];
  for (const path of Object.keys(reference)) if (!(path in actual)) problems.push(`missing ${path}`);
  for (const [path, types] of Object.entries(actual)) {
    const expected = reference[path];
    if (!expected) {
      problems.push(`unexpected ${path}`);
      continue;
    }
    for (const type of types) {
      const widened = options.nullMeansAnyScalar && expected.includes("null") && scalars.includes(type);
      if (!expected.includes(type) && !widened) problems.push(`${path}: ${type} not in [${expected.join(",")}]`);
    }
  }
  return problems.sort();
}

function walk(value: unknown, path: string, out: Skeleton, dynamic: Set<string>): void {
  const type = jsonType(value);
  const seen = out[path] ?? [];
  seen.push(type);
  out[path] = seen;
  if (type === "array") {
    for (const item of value as unknown[]) walk(item, `${path}[]`, out, dynamic);
  } else if (type === "object") {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      // Maps keyed by data (record ids, etc.) collapse to one wildcard key.
      walk(child, dynamic.has(path) ? `${path}.*` : `${path}.${key}`, out, dynamic);
    }
  }
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}
