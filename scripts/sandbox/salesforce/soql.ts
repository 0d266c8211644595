import { malformedQuery, sfError } from "./errors.ts";
import { normalizeId } from "./ids.ts";
import { type FieldDef, field, type SObjectDef, sobject } from "./schema.ts";
import { parseSfDateTime, type SfRecord } from "./store.ts";

/**
 * The SOQL a sync engine needs: a field list (with one level of parent relationships, e.g.
 * Owner.Name), WHERE with = != <> < > <= >= IN / NOT IN / LIKE, AND/OR/NOT and parentheses,
 * string/number/boolean/null/date/datetime literals, ORDER BY, LIMIT and OFFSET.
 */
export interface SoqlQuery {
  object: SObjectDef;
  fields: FieldPath[];
  where: Condition | null;
  orderBy: Array<{ path: FieldPath; descending: boolean; nullsLast: boolean }>;
  limit: number | null;
  offset: number;
}

export interface FieldPath {
  /** As the query must print it: canonical names, e.g. ["Owner", "Name"]. */
  names: string[];
  /** The reference field followed for a relationship path. */
  via: FieldDef | null;
  target: FieldDef;
}

type Literal = string | number | boolean | null | { date: string } | { datetime: number };
type Condition =
  | { kind: "and" | "or"; parts: Condition[] }
  | { kind: "not"; inner: Condition }
  | { kind: "compare"; path: FieldPath; op: string; value: Literal }
  | { kind: "in"; path: FieldPath; negate: boolean; values: Literal[] }
  | { kind: "like"; path: FieldPath; pattern: string };

interface Token {
  type: "word" | "string" | "number" | "op" | "punct" | "datetime" | "date";
  text: string;
}

const TOKEN =
  /\s*(?:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))|(\d{4}-\d\d-\d\d)(?![\dT])|'((?:\\.|[^'\\])*)'|(-?\d+(?:\.\d+)?)(?![\w-])|(<=|>=|!=|<>|=|<|>)|([(),])|([A-Za-z_][\w.:]*))/y;

function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  let rest = soql.trim();
  while (rest.length > 0) {
    TOKEN.lastIndex = 0;
    const m = TOKEN.exec(rest);
    if (!m) throw malformedQuery(`unexpected token: '${rest.slice(0, 20)}'`);
    if (m[1]) tokens.push({ type: "datetime", text: m[1] });
    else if (m[2]) tokens.push({ type: "date", text: m[2] });
    else if (m[3] !== undefined) tokens.push({ type: "string", text: m[3].replace(/\\(.)/g, "$1") });
    else if (m[4]) tokens.push({ type: "number", text: m[4] });
    else if (m[5]) tokens.push({ type: "op", text: m[5] });
    else if (m[6]) tokens.push({ type: "punct", text: m[6] });
    else if (m[7]) tokens.push({ type: "word", text: m[7] });
    rest = rest.slice(m[0].length).trimStart();
  }
  return tokens;
}

export function parseSoql(soql: string): SoqlQuery {
  const tokens = tokenize(soql);
  let i = 0;
  const peek = () => tokens[i];
  const isWord = (word: string) => peek()?.type === "word" && peek()?.text.toUpperCase() === word;
  const expectWord = (word: string) => {
    if (!isWord(word)) throw malformedQuery(`expecting '${word}', found '${peek()?.text ?? "end of query"}'`);
    i++;
  };
  const next = () => {
    const token = tokens[i++];
    if (!token) throw malformedQuery("unexpected end of query");
    return token;
  };

  expectWord("SELECT");
  const rawFields: string[] = [];
  do {
    const token = next();
    if (token.type !== "word") throw malformedQuery(`unexpected token: '${token.text}'`);
    rawFields.push(token.text);
  } while (peek()?.text === "," && next());
  expectWord("FROM");
  const objectName = next().text;
  const object = sobject(objectName);
  if (!object) {
    throw sfError(
      400,
      "INVALID_TYPE",
      `sObject type '${objectName}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.`,
    );
  }
  const fields = rawFields.map((raw) => resolvePath(object, raw));

  const parseLiteral = (): Literal => {
    const token = next();
    if (token.type === "string") return token.text;
    if (token.type === "number") return Number(token.text);
    if (token.type === "datetime") return { datetime: parseSfDateTime(token.text) };
    if (token.type === "date") return { date: token.text };
    const upper = token.text.toUpperCase();
    if (upper === "TRUE") return true;
    if (upper === "FALSE") return false;
    if (upper === "NULL") return null;
    throw malformedQuery(`unexpected token: '${token.text}'`);
  };

  const parsePrimary = (): Condition => {
    if (isWord("NOT")) {
      i++;
      return { kind: "not", inner: parsePrimary() };
    }
    if (peek()?.text === "(") {
      i++;
      const inner = parseOr();
      if (next().text !== ")") throw malformedQuery("expecting ')'");
      return inner;
    }
    const path = resolvePath(object, next().text);
    if (isWord("IN") || isWord("NOT")) {
      const negate = isWord("NOT");
      if (negate) i++;
      expectWord("IN");
      if (next().text !== "(") throw malformedQuery("expecting '('");
      const values: Literal[] = [];
      do values.push(parseLiteral());
      while (peek()?.text === "," && next());
      if (next().text !== ")") throw malformedQuery("expecting ')'");
      return { kind: "in", path, negate, values };
    }
    if (isWord("LIKE")) {
      i++;
      const pattern = next();
      if (pattern.type !== "string") throw malformedQuery("LIKE needs a string");
      return { kind: "like", path, pattern: pattern.text };
    }
    const op = next();
    if (op.type !== "op") throw malformedQuery(`unexpected token: '${op.text}'`);
    return { kind: "compare", path, op: op.text === "<>" ? "!=" : op.text, value: parseLiteral() };
  };
  const parseAnd = (): Condition => {
    const parts = [parsePrimary()];
    while (isWord("AND")) {
      i++;
      parts.push(parsePrimary());
    }
    return parts.length === 1 && parts[0] ? parts[0] : { kind: "and", parts };
  };
  const parseOr = (): Condition => {
    const parts = [parseAnd()];
    while (isWord("OR")) {
      i++;
      parts.push(parseAnd());
    }
    return parts.length === 1 && parts[0] ? parts[0] : { kind: "or", parts };
  };

  let where: Condition | null = null;
  if (isWord("WHERE")) {
    i++;
    where = parseOr();
  }
  const orderBy: SoqlQuery["orderBy"] = [];
  if (isWord("ORDER")) {
    i++;
    expectWord("BY");
    do {
      const path = resolvePath(object, next().text);
      let descending = false;
      if (isWord("ASC") || isWord("DESC")) descending = next().text.toUpperCase() === "DESC";
      // Salesforce sorts nulls first by default.
      let nullsLast = false;
      if (isWord("NULLS")) {
        i++;
        nullsLast = next().text.toUpperCase() === "LAST";
      }
      orderBy.push({ path, descending, nullsLast });
    } while (peek()?.text === "," && next());
  }
  let limit: number | null = null;
  let offset = 0;
  if (isWord("LIMIT")) {
    i++;
    limit = Number(next().text);
  }
  if (isWord("OFFSET")) {
    i++;
    offset = Number(next().text);
  }
  if (i < tokens.length) throw malformedQuery(`unexpected token: '${tokens[i]?.text}'`);
  return { object, fields, where, orderBy, limit, offset };
}

function resolvePath(object: SObjectDef, raw: string): FieldPath {
  const parts = raw.split(".");
  const noColumn = () =>
    sfError(
      400,
      "INVALID_FIELD",
      `No such column '${raw}' on entity '${object.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
    );
  if (parts.length === 1) {
    const target = field(object, raw);
    if (!target) throw noColumn();
    return { names: [target.name], via: null, target };
  }
  if (parts.length === 2) {
    const [relationship = "", name = ""] = parts;
    const via = object.fields.find((f) => f.relationshipName?.toLowerCase() === relationship.toLowerCase());
    const parent = via?.referenceTo[0] ? sobject(via.referenceTo[0]) : undefined;
    const target = parent ? field(parent, name) : undefined;
    if (!via?.relationshipName || !target) throw noColumn();
    return { names: [via.relationshipName, target.name], via, target };
  }
  throw noColumn();
}

export type Lookup = (id: string) => SfRecord | undefined;

export function valueAt(record: SfRecord, path: FieldPath, lookup: Lookup): unknown {
  if (!path.via) return record.fields[path.target.name];
  const parentId = record.fields[path.via.name];
  const parent = typeof parentId === "string" ? lookup(parentId) : undefined;
  return parent ? parent.fields[path.target.name] : null;
}

export function matches(record: SfRecord, condition: Condition | null, lookup: Lookup): boolean {
  if (!condition) return true;
  switch (condition.kind) {
    case "and":
      return condition.parts.every((part) => matches(record, part, lookup));
    case "or":
      return condition.parts.some((part) => matches(record, part, lookup));
    case "not":
      return !matches(record, condition.inner, lookup);
    case "in": {
      const actual = valueAt(record, condition.path, lookup);
      const found = condition.values.some((value) => compare(condition.path.target, actual, value) === 0);
      return condition.negate ? !found : found;
    }
    case "like": {
      const actual = valueAt(record, condition.path, lookup);
      if (typeof actual !== "string") return false;
      const regex = new RegExp(
        `^${condition.pattern
          .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
          .replace(/%/g, ".*")
          .replace(/_/g, ".")}$`,
        "i",
      );
      return regex.test(actual);
    }
    case "compare": {
      const actual = valueAt(record, condition.path, lookup);
      if (condition.value === null || actual === null || actual === undefined) {
        const bothNull = (actual ?? null) === null && condition.value === null;
        if (condition.op === "=") return bothNull;
        if (condition.op === "!=") return !bothNull;
        return false;
      }
      const result = compare(condition.path.target, actual, condition.value);
      switch (condition.op) {
        case "=":
          return result === 0;
        case "!=":
          return result !== 0;
        case "<":
          return result < 0;
        case "<=":
          return result <= 0;
        case ">":
          return result > 0;
        default:
          return result >= 0;
      }
    }
  }
}

/** Compares a stored value with a literal the way the field's type orders them. */
function compare(f: FieldDef, actual: unknown, literal: Literal): number {
  if (actual === null || actual === undefined || literal === null) return actual === literal ? 0 : Number.NaN;
  if (f.type === "datetime") {
    const right = typeof literal === "object" && "datetime" in literal ? literal.datetime : Number.NaN;
    if (Number.isNaN(right))
      throw malformedQuery(`value of filter criterion for field '${f.name}' must be of type dateTime`);
    return parseSfDateTime(String(actual)) - right;
  }
  if (f.type === "date") {
    const right = typeof literal === "object" && "date" in literal ? literal.date : null;
    if (right === null) throw malformedQuery(`value of filter criterion for field '${f.name}' must be of type date`);
    return String(actual).localeCompare(right);
  }
  if (typeof actual === "number" || typeof actual === "boolean") {
    const left = Number(actual);
    const right = Number(literal);
    return left - right;
  }
  if (typeof literal === "object")
    throw malformedQuery(`value of filter criterion for field '${f.name}' has the wrong type`);
  if ((f.type === "id" || f.type === "reference") && typeof literal === "string") {
    // Ids compare in their 18-character form, so a 15-character literal finds its record.
    const left = normalizeId(String(actual)) ?? String(actual);
    const right = normalizeId(literal) ?? literal;
    return left === right ? 0 : left < right ? -1 : 1;
  }
  // Text comparisons in SOQL ignore case.
  const left = String(actual).toLowerCase();
  const right = String(literal).toLowerCase();
  return left < right ? -1 : left > right ? 1 : 0;
}

export function sortRows(rows: SfRecord[], orderBy: SoqlQuery["orderBy"], lookup: Lookup): SfRecord[] {
  if (orderBy.length === 0) return rows;
  // Each row's sort keys are computed once (datetimes parsed, text lowercased), not per comparison.
  const keyed = rows.map((row) => ({
    row,
    keys: orderBy.map(({ path }) => {
      const value = valueAt(row, path, lookup);
      if (value === null || value === undefined) return null;
      if (path.target.type === "datetime") return parseSfDateTime(String(value));
      if (typeof value === "number") return value;
      // Ids sort as `Id > '...'` compares them (18 characters, case-sensitive), so keyset paging
      // (WHERE Id > :last ORDER BY Id) neither skips nor repeats records; text sorts ignoring case.
      if (path.target.type === "id" || path.target.type === "reference")
        return { id: normalizeId(String(value)) ?? String(value) };
      return String(value).toLowerCase();
    }),
  }));
  keyed.sort((a, b) => {
    for (const [i, { descending, nullsLast }] of orderBy.entries()) {
      const left = a.keys[i] ?? null;
      const right = b.keys[i] ?? null;
      if (left === null || right === null) {
        if (left === null && right === null) continue;
        return (left === null ? -1 : 1) * (nullsLast ? -1 : 1);
      }
      const result =
        typeof left === "number" && typeof right === "number"
          ? left - right
          : typeof left === "object" && typeof right === "object"
            ? left.id < right.id
              ? -1
              : left.id > right.id
                ? 1
                : 0
            : String(left).localeCompare(String(right));
      if (result !== 0) return descending ? -result : result;
    }
    return 0;
  });
  return keyed.map(({ row }) => row);
}

/** Where records come from: every record of an object, or (when it can) those a text field's values select. */
export interface RecordSource {
  all(object: string, includeDeleted?: boolean): SfRecord[];
  find: Lookup;
  lookup?(object: string, field: string, values: readonly string[], includeDeleted: boolean): SfRecord[] | null;
}

/**
 * A condition every selected record must meet that an index can answer: `Field = 'text'` or
 * `Field IN ('text', ...)` on the queried object's own field, alone or as a part of a top-level AND.
 */
function indexable(where: Condition | null): { field: string; values: string[] } | null {
  if (!where) return null;
  if (where.kind === "and") {
    for (const part of where.parts) {
      const found = indexable(part);
      if (found) return found;
    }
    return null;
  }
  const strings = (values: Literal[]) => (values.every((v) => typeof v === "string") ? (values as string[]) : null);
  if (where.kind === "in" && !where.negate && !where.path.via) {
    const values = strings(where.values);
    return values ? { field: where.path.target.name, values } : null;
  }
  if (where.kind === "compare" && where.op === "=" && !where.path.via && typeof where.value === "string") {
    return { field: where.path.target.name, values: [where.value] };
  }
  return null;
}

/** The records a parsed query selects: filtered, ordered, then OFFSET and LIMIT applied. */
export function selectRecords(parsed: SoqlQuery, all: boolean, source: RecordSource): SfRecord[] {
  const lookup: Lookup = (id) => source.find(id);
  const key = indexable(parsed.where);
  // The index only narrows the candidates; every one is still matched against the whole WHERE.
  const candidates =
    (key && source.lookup?.(parsed.object.name, key.field, key.values, all)) || source.all(parsed.object.name, all);
  const filtered = sortRows(
    candidates.filter((record) => matches(record, parsed.where, lookup)),
    parsed.orderBy,
    lookup,
  );
  return filtered.slice(parsed.offset, parsed.limit === null ? undefined : parsed.offset + parsed.limit);
}
