import type { EmulatorReply, EmulatorRequest } from "../shared/http.ts";
import { parseJson } from "../shared/http.ts";
import { handleJobs } from "./bulk.ts";
import type { ApiContext, QueryCursor } from "./context.ts";
import { SfError, sfError } from "./errors.ts";
import { normalizeId } from "./ids.ts";
import { describe, describeGlobal, field, type SObjectDef } from "./schema.ts";
import { parseSoql, selectRecords, valueAt } from "./soql.ts";
import { type Change, type Fields, parseSfDateTime, type SfRecord } from "./store.ts";
import { handleTooling } from "./tooling.ts";

const MAX_COLLECTION = 200;

/** Routes `/services/data/vXX.X/<rest>`; `rest` is already split into segments. */
export function handleData(request: EmulatorRequest, rest: string[], ctx: ApiContext): EmulatorReply {
  const [head, a, b, c] = rest;
  const method = request.method;
  // Bulk API 2.0 takes CSV bodies as well as JSON ones.
  if (head === "jobs") return handleJobs(request, rest.slice(1), ctx);
  const body = parseJson(request.rawBody);
  if (["POST", "PATCH", "PUT"].includes(method) && request.rawBody.trim() !== "" && body === undefined) {
    throw sfError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON.");
  }

  if (head === "limits" && method === "GET") {
    return ok({
      DailyApiRequests: { Max: ctx.dailyLimit, Remaining: Math.max(0, ctx.dailyLimit - ctx.used) },
      DailyBulkApiBatches: { Max: 15000, Remaining: 15000 },
      DailyBulkV2QueryJobs: { Max: 10000, Remaining: 10000 },
      DailyBulkV2QueryFileStorageMB: { Max: 976562, Remaining: 976562 },
      DailyDeliveredPlatformEvents: { Max: 10000, Remaining: 10000 },
      DailyDurableStreamingApiEvents: { Max: 10000, Remaining: 10000 },
      DurableStreamingApiConcurrentClients: { Max: 20, Remaining: 20 },
      HourlyPublishedPlatformEvents: { Max: 50000, Remaining: 50000 },
      DailyAsyncApexExecutions: { Max: 250000, Remaining: 250000 },
    });
  }
  if (head === "query" || head === "queryAll") return query(request, head === "queryAll", a, ctx);
  if (head === "sobjects") return sobjects(request, a, b, c, rest.length, body, ctx);
  if (head === "composite" && a === "sobjects") return collections(request, b, c, body, ctx);
  if (head === "tooling") return handleTooling(request, rest.slice(1), body, ctx);
  throw notFoundRoute();
}

function sobjects(
  request: EmulatorRequest,
  objectName: string | undefined,
  b: string | undefined,
  c: string | undefined,
  depth: number,
  body: unknown,
  ctx: ApiContext,
): EmulatorReply {
  const method = request.method;
  if (objectName === undefined && method === "GET") return ok(describeGlobal(ctx.store.schema, ctx.version));
  if (objectName === undefined) throw notFoundRoute();
  const def = ctx.store.def(objectName);
  if (b === undefined) {
    if (method === "GET")
      return ok({ objectDescribe: { name: def.name, label: def.label, keyPrefix: def.keyPrefix }, recentItems: [] });
    if (method === "POST") {
      const prepared = ctx.store.prepareCreate(def.name, asFields(body), ctx.write);
      ctx.commit([prepared.commit()]);
      return { status: 201, body: { id: prepared.id, success: true, errors: [] } };
    }
  }
  if (b === "describe" && depth === 3 && method === "GET") return ok(describe(def, ctx.version));
  if ((b === "updated" || b === "deleted") && depth === 3 && method === "GET")
    return changedSince(request, def, b, ctx);
  if (b !== undefined && depth === 3) {
    if (method === "GET") return ok(serialize(ctx.store.get(def.name, b), ctx, fieldList(request, def)));
    if (method === "PATCH") {
      const current = ctx.store.get(def.name, b);
      if (!unmodifiedSince(request, current)) return { status: 412 };
      const prepared = ctx.store.prepareUpdate(def.name, b, asFields(body), ctx.write);
      ctx.commit([prepared.commit()]);
      return { status: 204 };
    }
    if (method === "DELETE") {
      ctx.store.get(def.name, b);
      ctx.commit([ctx.store.prepareDelete(b, ctx.write).commit()]);
      return { status: 204 };
    }
  }
  if (b !== undefined && c !== undefined && depth === 4) {
    const f = field(def, b);
    if (!f || !(f.externalId || f.type === "id")) {
      throw sfError(404, "NOT_FOUND", `Provided external ID field does not exist or is not accessible: ${b}`);
    }
    const found = ctx.store.findByExternalId(def.name, f.name, c);
    if (method === "GET") {
      if (found.length === 0) throw sfError(404, "NOT_FOUND", "The requested resource does not exist");
      if (found.length > 1) return multipleChoices(found, ctx);
      return ok(serialize(found[0] as SfRecord, ctx, null));
    }
    if (method === "PATCH") {
      if (found.length > 1) return multipleChoices(found, ctx);
      const result = upsertOne(def, f.name, c, asFields(body), found[0], ctx);
      ctx.commit([result.change]);
      const location = `/services/data/v${ctx.version}/sobjects/${def.name}/${result.id}`;
      return {
        status: result.created ? 201 : 200,
        headers: { location },
        body: { id: result.id, success: true, errors: [], created: result.created },
      };
    }
  }
  throw notFoundRoute();
}

/**
 * The weak precondition of sObject Rows (REST API "Conditional Request Headers"): with
 * `If-Unmodified-Since: <HTTP-date>` the update happens only if the record's last modified date is
 * not after it (HTTP dates have whole seconds, so neither has its milliseconds); otherwise
 * 412 Precondition Failed and nothing is written. An invalid date is 400.
 */
function unmodifiedSince(request: EmulatorRequest, record: SfRecord): boolean {
  const header = request.headers["if-unmodified-since"];
  if (header === undefined) return true;
  const since = Date.parse(header);
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [A-Z]{3}$/.test(header) || Number.isNaN(since)) {
    throw sfError(400, "INVALID_HEADER_TYPE", `If-Unmodified-Since is not a valid date: ${header}`);
  }
  const modified = record.fields["LastModifiedDate"];
  if (typeof modified !== "string") return true;
  return Math.floor(parseSfDateTime(modified) / 1000) * 1000 <= since;
}

function upsertOne(
  def: SObjectDef,
  fieldName: string,
  value: string,
  input: Fields,
  existing: SfRecord | undefined,
  ctx: ApiContext,
): { id: string; created: boolean; change: Change } {
  const fields = { ...input };
  // The external id in the URL is the value to create with; a differing one in the body is an error.
  const inBody = Object.keys(fields).find((key) => key.toLowerCase() === fieldName.toLowerCase());
  if (inBody !== undefined && fieldName !== "Id" && String(fields[inBody]) !== value) {
    throw sfError(
      400,
      "INVALID_FIELD",
      `Foreign key external ID: ${value} not found for field ${fieldName} in entity ${def.name}`,
    );
  }
  if (existing) {
    const prepared = ctx.store.prepareUpdate(def.name, existing.id, fields, ctx.write);
    return { id: prepared.id, created: false, change: prepared.commit() };
  }
  if (fieldName === "Id") throw sfError(404, "NOT_FOUND", "The requested resource does not exist");
  const prepared = ctx.store.prepareCreate(def.name, { ...fields, [fieldName]: value }, ctx.write);
  return { id: prepared.id, created: true, change: prepared.commit() };
}

function collections(
  request: EmulatorRequest,
  objectName: string | undefined,
  extField: string | undefined,
  body: unknown,
  ctx: ApiContext,
): EmulatorReply {
  const method = request.method;
  if (objectName !== undefined && extField === undefined && (method === "GET" || method === "POST")) {
    const def = ctx.store.def(objectName);
    const input = method === "GET" ? null : (body as { ids?: unknown; fields?: unknown } | undefined);
    const ids = method === "GET" ? (request.query.get("ids") ?? "").split(",").filter(Boolean) : input?.ids;
    const fields = method === "GET" ? (request.query.get("fields") ?? "").split(",").filter(Boolean) : input?.fields;
    if (!Array.isArray(ids) || !Array.isArray(fields) || fields.length === 0) {
      throw sfError(400, "INVALID_FIELD", "ids and fields are required");
    }
    // A GET is bounded by the length of its URL (about 800 ids before 414 URI Too Long, see
    // server.ts); a POST by the documented 2,000 ids.
    if (method === "POST" && ids.length > 2000) throw sfError(400, "EXCEEDED_ID_LIMIT", "too many ids");
    const names = fields.map((name) => {
      const f = field(def, String(name));
      if (!f) throw sfError(400, "INVALID_FIELD", `No such column '${String(name)}' on entity '${def.name}'`);
      return f.name;
    });
    return ok(
      ids.map((id) => {
        const record = ctx.store.find(String(id));
        return record && record.object === def.name && !record.deleted ? serialize(record, ctx, names) : null;
      }),
    );
  }
  if (method === "DELETE" && objectName === undefined) {
    const ids = (request.query.get("ids") ?? "").split(",").filter(Boolean);
    checkCount(ids.length);
    const allOrNone = request.query.get("allOrNone") === "true";
    return ok(runBatch(ids, allOrNone, ctx, (id) => ctx.store.prepareDelete(id, ctx.write), false));
  }
  const input = body as { allOrNone?: unknown; records?: unknown } | undefined;
  if (!input || !Array.isArray(input.records)) throw sfError(400, "JSON_PARSER_ERROR", "records is required");
  const records = input.records as Fields[];
  checkCount(records.length);
  const allOrNone = input.allOrNone === true;
  const typeOf = (record: Fields) => {
    const type = (record["attributes"] as { type?: unknown } | undefined)?.type;
    if (typeof type !== "string") throw sfError(400, "INVALID_TYPE", "Each record needs attributes.type");
    return type;
  };
  if (method === "POST" && objectName === undefined) {
    return ok(
      runBatch(records, allOrNone, ctx, (record) => ctx.store.prepareCreate(typeOf(record), record, ctx.write), false),
    );
  }
  if (method === "PATCH" && objectName === undefined) {
    return ok(
      runBatch(
        records,
        allOrNone,
        ctx,
        (record) => {
          const id = record["id"] ?? record["Id"];
          if (typeof id !== "string" || !normalizeId(id))
            throw sfError(400, "MALFORMED_ID", "record id is missing or malformed");
          return ctx.store.prepareUpdate(typeOf(record), id, record, ctx.write);
        },
        false,
      ),
    );
  }
  if (method === "PATCH" && objectName !== undefined && extField !== undefined) {
    const def = ctx.store.def(objectName);
    const f = field(def, extField);
    if (!f?.externalId) throw sfError(400, "INVALID_FIELD", `Field ${extField} is not an external id field`);
    return ok(
      runBatch(
        records,
        allOrNone,
        ctx,
        (record) => {
          const value = record[f.name];
          if (typeof value !== "string") throw sfError(400, "MISSING_ARGUMENT", `${f.name} not specified`);
          const found = ctx.store.findByExternalId(def.name, f.name, value);
          if (found.length > 1) throw sfError(300, "DUPLICATE_EXTERNAL_ID", `${f.name} matches more than one record`);
          const existing = found[0];
          return existing
            ? ctx.store.prepareUpdate(def.name, existing.id, record, ctx.write)
            : ctx.store.prepareCreate(def.name, record, ctx.write);
        },
        true,
      ),
    );
  }
  throw notFoundRoute();
}

/**
 * Runs a collection request. Without allOrNone each record stands alone; with it, one failure rolls
 * back the lot and every other record reports ALL_OR_NONE_OPERATION_ROLLED_BACK.
 */
function runBatch<T>(
  items: T[],
  allOrNone: boolean,
  ctx: ApiContext,
  prepare: (item: T) => { id: string; created: boolean; commit(): Change },
  upsert: boolean,
): unknown[] {
  const changes: Change[] = [];
  if (allOrNone) {
    const prepared = items.map((item) => attempt(() => prepare(item)));
    if (prepared.some((result) => result instanceof SfError)) {
      return prepared.map((result) =>
        result instanceof SfError
          ? { success: false, errors: result.asStatusErrors() }
          : {
              success: false,
              errors: [
                {
                  statusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                  message:
                    "Record rolled back because not all records were valid and the request was using AllOrNone header",
                  fields: [],
                },
              ],
            },
      );
    }
  }
  const results = items.map((item) => {
    const prepared = attempt(() => prepare(item));
    if (prepared instanceof SfError) return { success: false, errors: prepared.asStatusErrors() };
    changes.push(prepared.commit());
    return { id: prepared.id, success: true, errors: [], ...(upsert ? { created: prepared.created } : {}) };
  });
  ctx.commit(changes);
  return results;
}

function attempt<T>(fn: () => T): T | SfError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SfError) return err;
    throw err;
  }
}

function query(request: EmulatorRequest, all: boolean, locator: string | undefined, ctx: ApiContext): EmulatorReply {
  if (request.method !== "GET") throw notFoundRoute();
  const batchSize = batchSizeOf(request.headers["sforce-query-options"]);
  if (locator !== undefined) {
    const [cursorId = "", offsetText = "0"] = locator.split("-");
    const cursor = ctx.cursors.get(cursorId);
    if (!cursor) throw sfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator");
    return ok(page(cursor, cursorId, Number(offsetText), batchSize, all, ctx));
  }
  const soql = request.query.get("q");
  if (!soql) throw sfError(400, "MALFORMED_QUERY", "A query string has to be specified");
  const parsed = parseSoql(soql, ctx.store.schema);
  const lookup = (id: string) => ctx.store.find(id);
  const limited = selectRecords(parsed, all, ctx.store);
  const rows = limited.map((record) => {
    const out: Fields = {
      attributes: { type: record.object, url: `/services/data/v${ctx.version}/sobjects/${record.object}/${record.id}` },
    };
    for (const path of parsed.fields) {
      const [first = "", second] = path.names;
      if (!second) out[first] = outputValue(record, path.target.name, path.target.type, valueAt(record, path, lookup));
      else {
        const parentId = path.via ? record.fields[path.via.name] : null;
        const parent = typeof parentId === "string" ? lookup(parentId) : undefined;
        const nested = (out[first] as Fields | null | undefined) ?? (parent ? serialize(parent, ctx, []) : null);
        if (nested && parent) nested[second] = parent.fields[path.target.name] ?? null;
        out[first] = nested;
      }
    }
    return out;
  });
  const cursorId = ctx.nextCursorId();
  // COUNT(): the number of records the query selects, and none of them.
  const cursor: QueryCursor = parsed.count ? { rows: [], totalSize: rows.length } : { rows, totalSize: rows.length };
  if (rows.length > batchSize) ctx.cursors.set(cursorId, cursor);
  return ok(page(cursor, cursorId, 0, batchSize, all, ctx));
}

function page(
  cursor: QueryCursor,
  id: string,
  offset: number,
  batchSize: number,
  all: boolean,
  ctx: ApiContext,
): unknown {
  const end = offset + batchSize;
  const done = end >= cursor.rows.length;
  if (done) ctx.cursors.delete(id);
  return {
    totalSize: cursor.totalSize,
    done,
    ...(done ? {} : { nextRecordsUrl: `/services/data/v${ctx.version}/${all ? "queryAll" : "query"}/${id}-${end}` }),
    records: cursor.rows.slice(offset, end),
  };
}

/** `Sforce-Query-Options: batchSize=N`: 200 to 2,000, default 2,000. */
function batchSizeOf(header: string | undefined): number {
  const match = header?.match(/batchSize=(\d+)/i);
  if (!match) return 2000;
  return Math.min(2000, Math.max(200, Number(match[1])));
}

function changedSince(
  request: EmulatorRequest,
  def: SObjectDef,
  kind: "updated" | "deleted",
  ctx: ApiContext,
): EmulatorReply {
  const start = parseSfDateTime(request.query.get("start") ?? "");
  const end = parseSfDateTime(request.query.get("end") ?? "");
  if (Number.isNaN(start) || Number.isNaN(end)) {
    throw sfError(400, "INVALID_REPLICATION_DATE", "start and end must be ISO 8601 datetimes");
  }
  const within = (record: SfRecord) => {
    const stamp = parseSfDateTime(String(record.fields["SystemModstamp"]));
    return stamp >= start && stamp <= end;
  };
  const latest = new Date(Math.floor(end / 60_000) * 60_000).toISOString().replace("Z", "+0000");
  if (kind === "updated") {
    return ok({
      ids: ctx.store
        .all(def.name)
        .filter(within)
        .map((record) => record.id),
      latestDateCovered: latest,
    });
  }
  return ok({
    deletedRecords: ctx.store
      .all(def.name, true)
      .filter((record) => record.deleted && within(record))
      .map((record) => ({ id: record.id, deletedDate: record.fields["SystemModstamp"] })),
    earliestDateAvailable: new Date(Date.UTC(2025, 0, 6)).toISOString().replace("Z", "+0000"),
    latestDateCovered: latest,
  });
}

/** A record as REST returns it: `attributes`, then the fields (all, or those asked for). */
export function serialize(
  record: SfRecord,
  ctx: Pick<ApiContext, "store" | "version">,
  names: string[] | null,
): Fields {
  const def = ctx.store.def(record.object);
  const out: Fields = {
    attributes: { type: def.name, url: `/services/data/v${ctx.version}/sobjects/${def.name}/${record.id}` },
  };
  const fields = names ?? def.fields.map((f) => f.name);
  for (const name of fields) {
    const f = field(def, name);
    if (f) out[f.name] = outputValue(record, f.name, f.type, record.fields[f.name]);
  }
  return out;
}

function outputValue(record: SfRecord, name: string, type: string, value: unknown): unknown {
  if (type !== "address") return value ?? null;
  // Compound addresses are read-only views of their component fields.
  const prefix = name.replace(/Address$/, "");
  const parts = ["Street", "City", "State", "PostalCode", "Country", "Latitude", "Longitude", "GeocodeAccuracy"].map(
    (part) => record.fields[`${prefix}${part}`] ?? null,
  );
  if (parts.every((part) => part === null)) return null;
  const [street, city, state, postalCode, country, latitude, longitude, geocodeAccuracy] = parts;
  return { city, country, geocodeAccuracy, latitude, longitude, postalCode, state, street };
}

function fieldList(request: EmulatorRequest, def: SObjectDef): string[] | null {
  const raw = request.query.get("fields");
  if (!raw) return null;
  return raw.split(",").map((name) => {
    const f = field(def, name.trim());
    if (!f) throw sfError(400, "INVALID_FIELD", `No such column '${name}' on entity '${def.name}'`);
    return f.name;
  });
}

function multipleChoices(found: SfRecord[], ctx: ApiContext): EmulatorReply {
  return {
    status: 300,
    body: found.map((record) => `/services/data/v${ctx.version}/sobjects/${record.object}/${record.id}`),
  };
}

function checkCount(count: number): void {
  if (count > MAX_COLLECTION) {
    throw sfError(
      400,
      "EXCEEDED_ID_LIMIT",
      `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`,
    );
  }
}

function asFields(body: unknown): Fields {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw sfError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object.");
  }
  return body as Fields;
}

function ok(body: unknown): EmulatorReply {
  return { status: 200, body };
}

function notFoundRoute(): SfError {
  return sfError(404, "NOT_FOUND", "The requested resource does not exist");
}
