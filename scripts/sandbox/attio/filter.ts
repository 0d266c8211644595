import { invalid } from "./errors.ts";
import { type AttributeDef, findAttribute, type ObjectDef } from "./schema.ts";
import type { StoredRecord, StoredValue } from "./store.ts";

/**
 * The record query filter language (docs "filtering and sorting"): shorthand `{slug: value}`,
 * verbose `{slug: {field?: {$op: value}}}`, and `$and`/`$or`/`$not`. Path drill-down is not emulated.
 */
export function matchesFilter(object: ObjectDef, record: StoredRecord, filter: unknown): boolean {
  if (filter === undefined || filter === null) return true;
  if (typeof filter !== "object" || Array.isArray(filter)) throw filterError("filter must be an object");
  for (const [key, condition] of Object.entries(filter as Record<string, unknown>)) {
    if (key === "$and" || key === "$or") {
      if (!Array.isArray(condition)) throw filterError(`${key} takes an array`);
      const anyOf = key === "$or" ? equalityUnion(object, condition) : undefined;
      if (anyOf) {
        if (!anyOf.matches(record)) return false;
        continue;
      }
      const results = condition.map((part) => matchesFilter(object, record, part));
      if (key === "$and" ? !results.every(Boolean) : !results.some(Boolean)) return false;
    } else if (key === "$not") {
      if (matchesFilter(object, record, condition)) return false;
    } else if (key === "record_id" && isIdList(condition)) {
      // How records named in events are read: a set lookup on the id, not a walk of its attribute.
      if (!lowercased(condition.$in).has(record.id.toLowerCase())) return false;
    } else if (key === "path") {
      throw filterError("path filters are not supported by the sandbox");
    } else {
      const attribute = findAttribute(object, key);
      if (!attribute || attribute.archived) throw filterError(`Unknown attribute slug/ID "${key}".`);
      if (!matchesAttribute(attribute, record.values.get(attribute.slug) ?? [], condition)) return false;
    }
  }
  return true;
}

function matchesAttribute(attribute: AttributeDef, values: StoredValue[], condition: unknown): boolean {
  if (!isPlainObject(condition)) return matchesField(attribute, values, defaultField(attribute), { $eq: condition });
  const keys = Object.keys(condition);
  if (keys.every((key) => key.startsWith("$"))) {
    return matchesField(attribute, values, defaultField(attribute), condition);
  }
  return keys.every((field) => {
    const inner = condition[field];
    return matchesField(attribute, values, field, isPlainObject(inner) ? inner : { $eq: inner });
  });
}

function matchesField(
  attribute: AttributeDef,
  values: StoredValue[],
  field: string,
  operators: Record<string, unknown>,
): boolean {
  return Object.entries(operators).every(([operator, operand]) => {
    if (operator === "$not_empty") return values.length > 0 === Boolean(operand);
    return values.some((value) => compare(operator, fieldOf(attribute, value, field), operand));
  });
}

function compare(operator: string, actual: unknown, operand: unknown): boolean {
  if (actual === undefined || actual === null) return false;
  const a = typeof actual === "string" ? actual.toLowerCase() : actual;
  const b = typeof operand === "string" ? operand.toLowerCase() : operand;
  switch (operator) {
    case "$eq":
      return a === b || (typeof a === "string" && typeof b === "string" && sameInstant(a, b));
    case "$in":
      if (!Array.isArray(operand)) throw filterError("$in takes an array");
      // A plain string is one set lookup (a query naming 2,000 record ids stays fast); only
      // timestamps need $eq's instant comparison.
      if (typeof a === "string" && !/^\d{4}-\d\d-\d\dT/.test(a)) return lowercased(operand).has(a);
      return operand.some((item) => compare("$eq", actual, item));
    case "$contains":
      return String(a).includes(String(b));
    case "$starts_with":
      return String(a).startsWith(String(b));
    case "$ends_with":
      return String(a).endsWith(String(b));
    case "$lt":
      return order(a, b) < 0;
    case "$lte":
      return order(a, b) <= 0;
    case "$gt":
      return order(a, b) > 0;
    case "$gte":
      return order(a, b) >= 0;
    default:
      throw filterError(`Unknown filter operator "${operator}".`);
  }
}

function isIdList(condition: unknown): condition is { $in: string[] } {
  return (
    isPlainObject(condition) &&
    Object.keys(condition).length === 1 &&
    Array.isArray(condition["$in"]) &&
    condition["$in"].every((id) => typeof id === "string")
  );
}

/** A `$or` of plain equalities on one attribute, compiled once per query. */
interface EqualityUnion {
  matches(record: StoredRecord): boolean;
}
const unions = new WeakMap<unknown[], EqualityUnion | null>();

/**
 * `{$or: [{slug: "a"}, {slug: "b"}, ...]}` (how a batch looks up its match candidates) as one set
 * lookup per record instead of one comparison per part: the same result as evaluating each part,
 * so a query naming 2,000 emails over 10,000 people answers in milliseconds rather than seconds
 * (which would stall the emulator's event loop for everything else). Anything else: null, and the
 * parts are evaluated one by one.
 */
function equalityUnion(object: ObjectDef, parts: unknown[]): EqualityUnion | undefined {
  if (!unions.has(parts)) unions.set(parts, compileUnion(object, parts));
  return unions.get(parts) ?? undefined;
}

function compileUnion(object: ObjectDef, parts: unknown[]): EqualityUnion | null {
  let slug: string | undefined;
  const wanted = new Set<string>();
  for (const part of parts) {
    if (!isPlainObject(part)) return null;
    const entries = Object.entries(part);
    const [entry] = entries;
    if (entries.length !== 1 || !entry) return null;
    const [key, value] = entry;
    // Timestamps compare as instants, not as text: those keep the general path.
    if (key.startsWith("$") || typeof value !== "string" || /^\d{4}-\d\d-\d\dT/i.test(value)) return null;
    if (slug !== undefined && key !== slug) return null;
    slug = key;
    wanted.add(value.toLowerCase());
  }
  const attribute = slug === undefined ? undefined : findAttribute(object, slug);
  if (!attribute || attribute.archived) return null;
  const field = defaultField(attribute);
  return {
    matches: (record) =>
      (record.values.get(attribute.slug) ?? []).some((value) => {
        const actual = fieldOf(attribute, value, field);
        return typeof actual === "string" && wanted.has(actual.toLowerCase());
      }),
  };
}

/** An $in operand's strings, lowercased, computed once per query. */
const operandSets = new WeakMap<unknown[], Set<unknown>>();
function lowercased(operand: unknown[]): Set<unknown> {
  let set = operandSets.get(operand);
  if (!set) {
    set = new Set(operand.map((item) => (typeof item === "string" ? item.toLowerCase() : item)));
    operandSets.set(operand, set);
  }
  return set;
}

function sameInstant(a: string, b: string): boolean {
  if (!/^\d{4}-\d\d-\d\dT/i.test(a) || !/^\d{4}-\d\d-\d\dT/i.test(b)) return false;
  return Date.parse(a.replace(/(\.\d{3})\d+z$/i, "$1Z")) === Date.parse(b.toUpperCase());
}

export function order(a: unknown, b: unknown): number {
  return compareKeys(sortKey(a), sortKey(b));
}

/** A value as `order` compares it, computed once (a sort of 100,000 records parses each date once). */
interface SortKey {
  value: unknown;
  text: string;
  /** Epoch ms when the text reads as a date, else NaN. */
  time: number;
  dateLike: boolean;
}

function sortKey(value: unknown): SortKey {
  const text = String(value);
  return {
    value,
    text,
    time: Date.parse(text.replace(/(\.\d{3})\d+z$/i, "$1Z")),
    dateLike: /^\d{4}-\d\d-\d\d/.test(text),
  };
}

function compareKeys(a: SortKey, b: SortKey): number {
  if (typeof a.value === "number" && typeof b.value === "number") return a.value - b.value;
  if (a.dateLike && !Number.isNaN(a.time) && !Number.isNaN(b.time)) return a.time - b.time;
  return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
}

export function defaultField(attribute: AttributeDef): string {
  switch (attribute.type) {
    case "currency":
      return "currency_value";
    case "email-address":
      return "email_address";
    case "domain":
      return "domain";
    case "phone-number":
      return "phone_number";
    case "personal-name":
      return "full_name";
    case "location":
      return "locality";
    case "select":
      return "option";
    case "status":
      return "status";
    case "record-reference":
      return "target_record_id";
    case "actor-reference":
      return "referenced_actor_id";
    default:
      return "value";
  }
}

export function fieldOf(attribute: AttributeDef, value: StoredValue, field: string): unknown {
  if (field === "active_from") return value.activeFrom;
  if (field === "option" || field === "status" || field === "title") {
    const option = (value.fields["option"] ?? value.fields["status"]) as { title?: string } | undefined;
    return option?.title;
  }
  if (!(field in value.fields)) throw filterError(`Unknown field "${field}" for attribute "${attribute.slug}".`);
  return value.fields[field];
}

/** `sorts: [{direction, attribute, field?}]`; records without a value sort last. */
export function sortRecords(object: ObjectDef, records: StoredRecord[], sorts: unknown): StoredRecord[] {
  if (sorts === undefined) return records;
  if (!Array.isArray(sorts)) throw invalid("validation_type", "sorts must be an array");
  const keys = sorts.map((sort) => {
    if (!isPlainObject(sort) || typeof sort["attribute"] !== "string") {
      throw invalid("validation_type", "each sort needs {direction, attribute}; path sorts are not supported");
    }
    const attribute = findAttribute(object, sort["attribute"]);
    if (!attribute || attribute.archived) throw filterError(`Unknown attribute slug/ID "${sort["attribute"]}".`);
    const field = typeof sort["field"] === "string" ? sort["field"] : defaultField(attribute);
    return { attribute, field, sign: sort["direction"] === "desc" ? -1 : 1 };
  });
  // Each record's keys are computed once, not once per comparison.
  const keyed = records.map((record) => ({
    record,
    keys: keys.map(({ attribute, field }) => {
      const value = first(attribute, record, field);
      return value === undefined ? undefined : sortKey(typeof value === "string" ? value.toLowerCase() : value);
    }),
  }));
  keyed.sort((left, right) => {
    for (const [index, { sign }] of keys.entries()) {
      const a = left.keys[index];
      const b = right.keys[index];
      if (a === undefined && b === undefined) continue;
      if (a === undefined) return 1;
      if (b === undefined) return -1;
      const result = compareKeys(a, b);
      if (result !== 0) return sign * result;
    }
    return 0;
  });
  return keyed.map(({ record }) => record);
}

function first(attribute: AttributeDef, record: StoredRecord, field: string): unknown {
  const value = record.values.get(attribute.slug)?.[0];
  return value ? (fieldOf(attribute, value, field) ?? undefined) : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const filterError = (message: string) => invalid("filter_error", message);
