import { malformedQuery, sfError } from "./errors.ts";
import { caseSafeSuffix } from "./ids.ts";
import { type FieldDef, field, type OrgSchema, type SObjectDef } from "./schema.ts";
import { parseSfDateTime, type SfRecord } from "./store.ts";

/**
 * The SOQL a sync engine needs: a field list (with one level of parent relationships, e.g.
 * Owner.Name), WHERE with = != <> < > <= >= IN / NOT IN / LIKE, AND/OR/NOT and parentheses,
 * string/number/boolean/null/date/datetime literals, ORDER BY, LIMIT and OFFSET.
 *
 * As strict as the SOQL reference, and checked when the query is parsed (so an empty org refuses
 * a bad query as well as a full one):
 * - quoted strings take only the documented escapes (\n \r \t \b \f \" \' \\ \uXXXX, and \_ \% in
 *   LIKE); any other backslash is MALFORMED_QUERY;
 * - a value must have its field's type ("fieldExpression"): an Id or lookup takes a quoted,
 *   syntactically valid 15- or 18-character id (anything else, '' included, is
 *   INVALID_QUERY_FILTER_OPERATOR `invalid ID field: <value>`); date and dateTime fields take
 *   unquoted `YYYY-MM-DD` and `YYYY-MM-DDThh:mm:ss(Z|+hh:mm|-hh:mm)` literals respectively; numbers
 *   and booleans are unquoted; text is quoted (INVALID_FIELD otherwise);
 * - long text areas and compound addresses cannot be filtered or sorted on (INVALID_FIELD).
 */
export interface SoqlQuery {
  object: SObjectDef;
  /** `SELECT COUNT() FROM ...`: the answer is `totalSize` alone, with no records. */
  count: boolean;
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

type Literal = string | number | boolean | null | { date: string } | { datetime: number; text: string };
type Condition =
  | { kind: "and" | "or"; parts: Condition[] }
  | { kind: "not"; inner: Condition }
  | { kind: "compare"; path: FieldPath; op: string; value: Literal }
  | { kind: "in"; path: FieldPath; negate: boolean; values: Literal[] }
  | { kind: "like"; path: FieldPath; pattern: RegExp };

interface Token {
  type: "word" | "string" | "number" | "op" | "punct" | "datetime" | "date";
  /** For strings: the text between the quotes, escapes not yet decoded. */
  text: string;
}

/** dateTime literals: seconds, optional milliseconds, then Z or an offset with a colon (+hh:mm). */
const TOKEN =
  /\s*(?:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,3})?(?:Z|[+-]\d\d:\d\d))(?![\w:.+-])|(\d{4}-\d\d-\d\d)(?![\w:.+-])|'((?:\\[\s\S]|[^'\\])*)'|(-?\d+(?:\.\d+)?)(?![\w-])|(<=|>=|!=|<>|=|<|>)|([(),])|([A-Za-z_][\w.:]*))/y;

function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let rest = soql.trim();
  while (rest.length > 0) {
    TOKEN.lastIndex = 0;
    const m = TOKEN.exec(rest);
    if (!m) throw malformedQuery(`unexpected token: '${rest.slice(0, 20)}'`);
    if (m[1]) tokens.push({ type: "datetime", text: m[1] });
    else if (m[2]) tokens.push({ type: "date", text: m[2] });
    else if (m[3] !== undefined) tokens.push({ type: "string", text: m[3] });
    else if (m[4]) tokens.push({ type: "number", text: m[4] });
    else if (m[5]) tokens.push({ type: "op", text: m[5] });
    else if (m[6]) tokens.push({ type: "punct", text: m[6] });
    else if (m[7]) tokens.push({ type: "word", text: m[7] });
    rest = rest.slice(m[0].length).trimStart();
  }
  return tokens;
}

/** The escape sequences of "Quoted String Escape Sequences" (upper or lower case letters). */
const ESCAPES: Record<string, string> = {
  n: "\n",
  N: "\n",
  r: "\r",
  R: "\r",
  t: "\t",
  T: "\t",
  b: "\b",
  B: "\b",
  f: "\f",
  F: "\f",
  '"': '"',
  "'": "'",
  "\\": "\\",
};

/**
 * A quoted string's characters, escapes decoded; `escaped` marks characters written with a
 * backslash. `\_` and `\%` are escapes only in a LIKE pattern; elsewhere, as any other backslash
 * sequence, they are an error.
 */
function decodeString(raw: string, like: boolean): Array<{ char: string; escaped: boolean }> {
  const out: Array<{ char: string; escaped: boolean }> = [];
  // SOQL limits: "Strings in WHERE clauses can't exceed 4,000 characters."
  if (raw.length > MAX_WHERE_STRING) {
    throw malformedQuery(`String literal of ${raw.length} characters: a string in a WHERE clause is at most 4000`);
  }
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charAt(i);
    if (ch !== "\\") {
      out.push({ char: ch, escaped: false });
      continue;
    }
    const next = raw.charAt(i + 1);
    const unicode = next === "u" ? raw.slice(i + 2, i + 6) : "";
    if (ESCAPES[next] !== undefined) {
      out.push({ char: ESCAPES[next] ?? "", escaped: true });
      i += 1;
    } else if (like && (next === "_" || next === "%")) {
      out.push({ char: next, escaped: true });
      i += 1;
    } else if (/^[0-9a-fA-F]{4}$/.test(unicode)) {
      out.push({ char: String.fromCharCode(Number.parseInt(unicode, 16)), escaped: true });
      i += 5;
    } else {
      throw malformedQuery(
        `Invalid string literal '${raw}'. Illegal character sequence '\\${next}' in string literal.`,
      );
    }
  }
  return out;
}

const MAX_WHERE_STRING = 4000;

/** A LIKE pattern as a case-insensitive regex: unescaped % and _ are wildcards. */
function likePattern(raw: string): RegExp {
  const source = decodeString(raw, true)
    .map(({ char, escaped }) => {
      if (!escaped && char === "%") return ".*";
      if (!escaped && char === "_") return ".";
      return char.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  return new RegExp(`^${source}$`, "is");
}

/** A record id as SOQL takes it: 15 or 18 letters and digits. */
const ID_LITERAL = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** The 18-character form of an id literal (an 18-character one is read by its first 15 characters). */
function canonicalId(literal: string): string {
  const id15 = literal.slice(0, 15);
  return id15 + caseSafeSuffix(id15);
}

const TEXT_TYPES = new Set(["string", "textarea", "picklist", "phone", "url", "email"]);
const SOQL_TYPE_NAMES: Record<string, string> = {
  boolean: "boolean",
  int: "integer",
  double: "double",
  percent: "double",
  currency: "currency",
  date: "date",
  datetime: "dateTime",
};

function literalText(value: Literal): string {
  if (value === null) return "null";
  if (typeof value === "object") return "date" in value ? value.date : value.text;
  return String(value);
}

/**
 * The literal a comparison with `path` may use, as stored values compare with it (ids in their
 * 18-character form); throws Salesforce's error for a value of another type.
 */
function typedLiteral(path: FieldPath, value: Literal): Literal {
  if (value === null) return null;
  const f = path.target;
  const name = path.names.join(".");
  if (f.type === "id" || f.type === "reference") {
    if (typeof value !== "string" || !ID_LITERAL.test(value)) {
      throw sfError(400, "INVALID_QUERY_FILTER_OPERATOR", `invalid ID field: ${literalText(value)}`);
    }
    return canonicalId(value);
  }
  if (TEXT_TYPES.has(f.type)) {
    if (typeof value === "string") return value;
    throw sfError(
      400,
      "INVALID_FIELD",
      `value of filter criterion for field '${name}' must be of type string and should be enclosed in quotes`,
    );
  }
  const ok =
    f.type === "boolean"
      ? typeof value === "boolean"
      : f.type === "date"
        ? typeof value === "object" && "date" in value
        : f.type === "datetime"
          ? typeof value === "object" && "datetime" in value
          : typeof value === "number";
  if (ok) return value;
  throw sfError(
    400,
    "INVALID_FIELD",
    `value of filter criterion for field '${name}' must be of type ${SOQL_TYPE_NAMES[f.type] ?? f.type} and should not be enclosed in quotes`,
  );
}

function checkFilterable(path: FieldPath, use: "filtered" | "sorted"): void {
  if (!path.target.filterable) {
    throw sfError(400, "INVALID_FIELD", `field '${path.names.join(".")}' can not be ${use} in a query call`);
  }
}

/** Parses a query against the org's schema (`schema`: the objects and fields it may name). */
export function parseSoql(soql: string, schema: OrgSchema): SoqlQuery {
  // SOQL limits: a statement is at most 100,000 characters by default.
  if (soql.length > 100_000) throw malformedQuery(`The query of ${soql.length} characters exceeds 100000`);
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
  const count = isWord("COUNT") && tokens[i + 1]?.text === "(" && tokens[i + 2]?.text === ")";
  if (count) i += 3;
  else
    do {
      const token = next();
      if (token.type !== "word") throw malformedQuery(`unexpected token: '${token.text}'`);
      rawFields.push(token.text);
    } while (peek()?.text === "," && next());
  expectWord("FROM");
  const objectName = next().text;
  const object = schema.sobject(objectName);
  if (!object) {
    throw sfError(
      400,
      "INVALID_TYPE",
      `sObject type '${objectName}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.`,
    );
  }
  const fields = rawFields.map((raw) => resolvePath(schema, object, raw));

  const parseLiteral = (path: FieldPath): Literal => {
    const token = next();
    let value: Literal;
    if (token.type === "string")
      value = decodeString(token.text, false)
        .map(({ char }) => char)
        .join("");
    else if (token.type === "number") value = Number(token.text);
    else if (token.type === "datetime") {
      value = { datetime: parseSfDateTime(token.text), text: token.text };
      if (Number.isNaN(value.datetime)) throw malformedQuery(`invalid dateTime: ${token.text}`);
    } else if (token.type === "date") {
      if (Number.isNaN(Date.parse(token.text))) throw malformedQuery(`invalid date: ${token.text}`);
      value = { date: token.text };
    } else {
      const upper = token.text.toUpperCase();
      if (upper === "TRUE") value = true;
      else if (upper === "FALSE") value = false;
      else if (upper === "NULL") value = null;
      else throw malformedQuery(`unexpected token: '${token.text}'`);
    }
    return typedLiteral(path, value);
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
    const path = resolvePath(schema, object, next().text);
    checkFilterable(path, "filtered");
    if (isWord("IN") || isWord("NOT")) {
      const negate = isWord("NOT");
      if (negate) i++;
      expectWord("IN");
      if (next().text !== "(") throw malformedQuery("expecting '('");
      const values: Literal[] = [];
      do values.push(parseLiteral(path));
      while (peek()?.text === "," && next());
      if (next().text !== ")") throw malformedQuery("expecting ')'");
      return { kind: "in", path, negate, values };
    }
    if (isWord("LIKE")) {
      i++;
      const pattern = next();
      if (pattern.type !== "string") throw malformedQuery("LIKE needs a string");
      return { kind: "like", path, pattern: likePattern(pattern.text) };
    }
    const op = next();
    if (op.type !== "op") throw malformedQuery(`unexpected token: '${op.text}'`);
    return { kind: "compare", path, op: op.text === "<>" ? "!=" : op.text, value: parseLiteral(path) };
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
      const path = resolvePath(schema, object, next().text);
      checkFilterable(path, "sorted");
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
  return { object, count, fields, where, orderBy, limit, offset };
}

function resolvePath(schema: OrgSchema, object: SObjectDef, raw: string): FieldPath {
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
    const parent = via?.referenceTo[0] ? schema.sobject(via.referenceTo[0]) : undefined;
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
      return typeof actual === "string" && condition.pattern.test(actual);
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

/** Compares a stored value with a literal (already of the field's type) the way the type orders them. */
function compare(f: FieldDef, actual: unknown, literal: Literal): number {
  if (actual === null || actual === undefined || literal === null) return actual === literal ? 0 : Number.NaN;
  if (f.type === "datetime") {
    const right = typeof literal === "object" && "datetime" in literal ? literal.datetime : Number.NaN;
    return parseSfDateTime(String(actual)) - right;
  }
  if (f.type === "date") {
    const right = typeof literal === "object" && "date" in literal ? literal.date : null;
    return right === null ? Number.NaN : String(actual).localeCompare(right);
  }
  if (typeof actual === "number" || typeof actual === "boolean") {
    return Number(actual) - Number(literal);
  }
  if (typeof literal === "object") return Number.NaN;
  if (f.type === "id" || f.type === "reference") {
    // Ids compare in their 18-character form (literals were made so when parsed), worked out from
    // their first 15 characters, which are the id.
    const text = String(actual);
    const left = ID_LITERAL.test(text) ? canonicalId(text) : text;
    const right = String(literal);
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
        return { id: ID_LITERAL.test(String(value)) ? canonicalId(String(value)) : String(value) };
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
