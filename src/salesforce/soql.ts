/**
 * Every SOQL statement the Worker sends, built from plain data. Pure: one function per statement
 * shape, so each shape can be checked against the SOQL reference and tested for its exact text
 * (docs/API_CONTRACT.md lists them with the documentation they rest on).
 *
 * Literals follow the SOQL reference:
 * - strings are single-quoted with backslash escapes (\' \" \\ \n \r \t \b \f); nothing else may
 *   follow a backslash;
 * - dateTime values are unquoted `YYYY-MM-DDThh:mm:ssZ` (the reference lists no fractional seconds);
 * - an Id or lookup field is only ever compared with a syntactically valid 15- or 18-character id:
 *   Salesforce answers anything else (even `''`) with INVALID_QUERY_FILTER_OPERATOR. A first page of
 *   keyset paging therefore has no Id clause at all.
 */

/** A Salesforce record id: 15 characters (case-sensitive) or 18 (with the case checksum). */
const SALESFORCE_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

export function isSalesforceId(value: string): boolean {
  return SALESFORCE_ID.test(value);
}

const ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "'": "\\'",
  '"': '\\"',
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

/**
 * A quoted SOQL string literal.
 *
 * @example soqlString("O'Brien") // "'O\\'Brien'"
 */
export function soqlString(value: string): string {
  return `'${value.replace(/[\\'"\n\r\t\b\f]/g, (c) => ESCAPES[c] ?? c)}'`;
}

/**
 * A SOQL dateTime literal, whole seconds in UTC. Salesforce keeps system timestamps to the second
 * (`2024-10-26T16:20:53.000+0000`), so nothing is lost.
 *
 * @example soqlDateTime("2024-10-26T16:20:53.000+0000") // "2024-10-26T16:20:53Z"
 */
export function soqlDateTime(time: string | number | Date): string {
  const ms = typeof time === "string" ? parseSalesforceTime(time) : typeof time === "number" ? time : time.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`not a time: ${String(time)}`);
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** Milliseconds of an ISO time, including Salesforce's `+0000` form (no colon in the offset). */
export function parseSalesforceTime(time: string): number {
  return Date.parse(time.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"));
}

function selectList(fields: readonly string[]): string {
  return [...new Set(["Id", "LastModifiedDate", "SystemModstamp", ...fields])].join(", ");
}

function idList(ids: readonly string[]): string {
  for (const id of ids) if (!isSalesforceId(id)) throw new RangeError(`not a Salesforce id: ${JSON.stringify(id)}`);
  return ids.map(soqlString).join(", ");
}

/** The mapped fields of records by Id (the caller drops ids that are not valid ids: they cannot exist). */
export function selectByIds(object: string, fields: readonly string[], ids: readonly string[]): string {
  return `SELECT ${selectList(fields)} FROM ${object} WHERE Id IN (${idList(ids)})`;
}

/** Records whose match-key field (Email, Website, Name ...) equals one of `values`. */
export function selectByField(
  object: string,
  field: string,
  fields: readonly string[],
  values: readonly string[],
): string {
  return `SELECT ${selectList(fields)} FROM ${object} WHERE ${field} IN (${values.map(soqlString).join(", ")})`;
}

/** Where keyset paging by (SystemModstamp, Id) resumes; no id on a first page. */
export interface ModstampCursor {
  stamp: string;
  id?: string | undefined;
}

/**
 * Ids changed at or after a cursor, oldest first. With an id: strictly after (stamp, id), so records
 * sharing a timestamp across a page boundary are neither skipped nor read twice. Without one (a
 * first page): everything at or after the stamp.
 */
export function changedSince(object: string, cursor: ModstampCursor, limit: number): string {
  const stamp = soqlDateTime(cursor.stamp);
  const after = cursor.id
    ? `(SystemModstamp > ${stamp} OR (SystemModstamp = ${stamp} AND Id > ${soqlString(requireId(cursor.id))}))`
    : `SystemModstamp >= ${stamp}`;
  return `SELECT Id, SystemModstamp FROM ${object} WHERE ${after} ORDER BY SystemModstamp, Id LIMIT ${limit}`;
}

/** How many records changed at or after `stamp` (`totalSize` of a COUNT() query: one call, no rows). */
export function countChangedSince(object: string, stamp: string): string {
  return `SELECT COUNT() FROM ${object} WHERE SystemModstamp >= ${soqlDateTime(stamp)}`;
}

/** One page of a whole object's match-key field in Id order, after `afterId` (none on the first page). */
export function matchKeyPage(object: string, field: string, afterId: string | undefined, limit: number): string {
  const where = afterId ? ` WHERE Id > ${soqlString(requireId(afterId))}` : "";
  return `SELECT Id, ${field} FROM ${object}${where} ORDER BY Id LIMIT ${limit}`;
}

/** Records someone other than the integration user changed at or after `since`. */
export function changedByOthersSince(object: string, fields: readonly string[], since: string, userId: string): string {
  return `SELECT ${selectList(fields)} FROM ${object} WHERE SystemModstamp >= ${soqlDateTime(since)} AND LastModifiedById != ${soqlString(requireId(userId))}`;
}

/**
 * Records created at or after `since`, by `userId` when it is known, oldest first: where a retried
 * create looks for what its first attempt made.
 */
export function createdSince(
  object: string,
  fields: readonly string[],
  since: string,
  userId: string | undefined,
  limit: number,
): string {
  const by = userId ? ` AND CreatedById = ${soqlString(requireId(userId))}` : "";
  const list = [...new Set(["CreatedDate", ...fields])].filter((f) => f !== "Id");
  return `SELECT Id, ${list.join(", ")} FROM ${object} WHERE CreatedDate >= ${soqlDateTime(since)}${by} ORDER BY CreatedDate LIMIT ${limit}`;
}

/** Deleted records among `ids` (queryAll: the Recycle Bin), with the merge winner if any. */
export function deletedWithMaster(object: string, ids: readonly string[], master = true): string {
  return `SELECT Id${master ? ", MasterRecordId" : ""} FROM ${object} WHERE IsDeleted = true AND Id IN (${idList(ids)})`;
}

/** Every active user with an email: the owners deals can be given (inactive users own nothing new). */
/** The cheapest query that proves the API answers and the daily budget allows a call. */
export function probe(): string {
  return "SELECT Id FROM User LIMIT 1";
}

export function activeUsers(): string {
  return "SELECT Id, Email, IsActive FROM User WHERE IsActive = true ORDER BY Id";
}

function requireId(id: string): string {
  if (!isSalesforceId(id)) throw new RangeError(`not a Salesforce id: ${JSON.stringify(id)}`);
  return id;
}

/** The longest string literal a WHERE clause may hold (SOQL and SOSL limits: 4,000 characters). */
export const MAX_STRING_LITERAL = 4000;

/**
 * Salesforce refuses a request line over 16,384 bytes (HTTP 414); a query goes in the URL
 * (`GET /query?q=`). Statements are kept to this many URL-encoded characters, with room left for the
 * host, path and API version.
 */
export const MAX_ENCODED_SOQL = 12_000;

/** The URL-encoded length of a statement, as it travels in `?q=`. */
export function encodedLength(soql: string): number {
  return encodeURIComponent(soql).length;
}

/**
 * Splits `values` into the fewest consecutive parts whose statements stay within `max` encoded
 * characters (and `maxPerPart` values). `literal` is how one value is written in the statement
 * (its cost, with the ", " separator, is measured once per value). A value whose statement alone is
 * too long is returned in `tooLong`, never sent: it would fail the whole request.
 */
export function partsByLength<T>(
  values: readonly T[],
  render: (part: readonly T[]) => string,
  literal: (value: T) => string,
  options: { max?: number; maxPerPart?: number } = {},
): { parts: T[][]; tooLong: T[] } {
  const max = options.max ?? MAX_ENCODED_SOQL;
  const maxPerPart = options.maxPerPart ?? Number.POSITIVE_INFINITY;
  const parts: T[][] = [];
  const tooLong: T[] = [];
  const base = encodedLength(render([]));
  let current: T[] = [];
  let length = base;
  for (const value of values) {
    // A value costs its literal plus a separator ("%2C%20" for ", ").
    const cost = encodedLength(literal(value)) + SEPARATOR_LENGTH;
    if (base + cost > max) {
      tooLong.push(value);
      continue;
    }
    if (current.length > 0 && (length + cost > max || current.length >= maxPerPart)) {
      parts.push(current);
      current = [];
      length = base;
    }
    current.push(value);
    length += cost;
  }
  if (current.length > 0) parts.push(current);
  return { parts, tooLong };
}

/** `encodeURIComponent(", ")`. */
const SEPARATOR_LENGTH = 6;
