import type { EmulatorReply, EmulatorRequest } from "../shared/http.ts";
import { parseJson } from "../shared/http.ts";
import { originOf } from "./cdc.ts";
import {
  type ApiContext,
  type IngestJob,
  type Job,
  type JobBase,
  OPERATIONS,
  type Operation,
  type QueryJob,
} from "./context.ts";
import { CsvError, DELIMITERS, parseCsv, writeCsv } from "./csv.ts";
import { notFound, SfError, sfError } from "./errors.ts";
import { normalizeId } from "./ids.ts";
import { type FieldDef, field, type OrgSchema, type SObjectDef } from "./schema.ts";
import { parseSoql, selectRecords, valueAt } from "./soql.ts";
import { type Change, type Fields, type PreparedWrite, parseSfDateTime, sfDateTime } from "./store.ts";

/**
 * Bulk API 2.0 (`/services/data/vXX.X/jobs/ingest` and `/jobs/query`). Jobs move one state per
 * poll of `GET .../jobs/{ingest|query}/{id}`: UploadComplete -> InProgress -> JobComplete (or
 * Failed), so a client sees the same progression as on Salesforce without waiting for a clock.
 * Records are written on the poll that completes the job, through the same validation, timestamps,
 * change events and counters as REST writes, in transactions of 200 records.
 */

const TRANSACTION_SIZE = 200;
/** Bulk API 2.0 sets `#N/A` as the value that nulls a field; an empty field leaves it alone. */
const NULL_VALUE = "#N/A";

const invalidJob = (message: string) => sfError(400, "INVALIDJOB", message);
const invalidState = (message: string) => sfError(409, "INVALIDJOBSTATE", message);

/** Routes `/jobs/<rest>`. */
export function handleJobs(request: EmulatorRequest, rest: string[], ctx: ApiContext): EmulatorReply {
  const [kind, id, sub] = rest;
  if (kind !== "ingest" && kind !== "query") throw notFound();
  const method = request.method;
  if (id === undefined) {
    if (method === "POST") return created(kind === "ingest" ? createIngest(request, ctx) : createQuery(request, ctx));
    if (method === "GET") {
      const records = [...ctx.bulk.jobs.values()].filter((job) => job.kind === kind).map((job) => info(job, false));
      return { status: 200, body: { done: true, records, nextRecordsUrl: null } };
    }
    throw notFound();
  }
  const job = ctx.bulk.jobs.get(normalizeId(id) ?? id);
  if (!job || job.kind !== kind) throw notFound();
  if (sub === undefined) {
    if (method === "GET") {
      advance(job, ctx);
      return { status: 200, body: info(job, true) };
    }
    if (method === "PATCH") return { status: 200, body: info(changeState(job, request), false) };
    if (method === "DELETE") {
      if (job.state === "Open" || job.state === "InProgress")
        throw invalidState(`Cannot delete a job in state ${job.state}`);
      ctx.bulk.jobs.delete(job.id);
      return { status: 204 };
    }
    throw notFound();
  }
  if (job.kind === "ingest") {
    if (sub === "batches" && method === "PUT") return upload(job, request);
    if (method !== "GET") throw notFound();
    if (sub === "successfulResults") return csvReply(ingestResults(job, "successful"), job);
    if (sub === "failedResults") return csvReply(ingestResults(job, "failed"), job);
    if (sub === "unprocessedrecords") return csvReply(ingestResults(job, "unprocessed"), job);
    throw notFound();
  }
  if (sub === "results" && method === "GET") return queryResults(job, request, ctx);
  throw notFound();
}

function createIngest(request: EmulatorRequest, ctx: ApiContext): Job {
  const input = jsonObject(request);
  const object = ctx.store.schema.sobject(String(input["object"] ?? ""));
  if (!object) throw invalidJob(`InvalidJob : Invalid object: ${String(input["object"] ?? "")}`);
  const operation = input["operation"];
  if (!OPERATIONS.includes(operation as Operation)) {
    throw invalidJob(`InvalidJob : Invalid operation: ${String(operation)}`);
  }
  let externalIdFieldName: string | null = null;
  if (operation === "upsert") {
    const name = typeof input["externalIdFieldName"] === "string" ? input["externalIdFieldName"] : "";
    const f = field(object, name);
    if (!name) throw invalidJob("InvalidJob : External ID was blank for upsert");
    if (!f || !(f.externalId || f.type === "id")) {
      throw invalidJob(
        `InvalidJob : Field name provided, ${name} does not match an External ID field on ${object.name}`,
      );
    }
    externalIdFieldName = f.name;
  }
  if (!object.createable) throw invalidJob(`InvalidJob : Entity '${object.name}' is not supported by the Bulk API.`);
  const job: IngestJob = {
    ...base(request, ctx, object, input),
    kind: "ingest",
    state: "Open",
    operation: operation as Operation,
    externalIdFieldName,
    header: null,
    rows: [],
    uploads: 0,
    numberRecordsFailed: 0,
    successful: [],
    failed: [],
    processedRows: 0,
  };
  ctx.bulk.jobs.set(job.id, job);
  return job;
}

function createQuery(request: EmulatorRequest, ctx: ApiContext): Job {
  const input = jsonObject(request);
  const operation = input["operation"] ?? "query";
  if (operation !== "query" && operation !== "queryAll") {
    throw invalidJob(`InvalidJob : Invalid operation: ${String(operation)}`);
  }
  if (typeof input["query"] !== "string" || input["query"].trim() === "")
    throw invalidJob("InvalidJob : query is required");
  const parsed = parseSoql(input["query"], ctx.store.schema);
  const compound = parsed.fields.find((path) => path.target.type === "address");
  if (compound) {
    throw sfError(
      400,
      "FUNCTIONALITY_NOT_ENABLED",
      `Selecting compound data not supported in Bulk Query: ${compound.names.join(".")}`,
    );
  }
  const job: QueryJob = {
    ...base(request, ctx, parsed.object, input),
    kind: "query",
    state: "UploadComplete",
    operation,
    query: input["query"],
    parsed,
    results: null,
  };
  ctx.bulk.jobs.set(job.id, job);
  return job;
}

function base(request: EmulatorRequest, ctx: ApiContext, object: SObjectDef, input: Fields): JobBase {
  const contentType = input["contentType"] ?? "CSV";
  if (contentType !== "CSV") throw invalidJob(`InvalidJob : Invalid contentType: ${String(contentType)}`);
  const lineEnding = input["lineEnding"] ?? "LF";
  if (lineEnding !== "LF" && lineEnding !== "CRLF") {
    throw invalidJob(`InvalidJob : Invalid lineEnding: ${String(lineEnding)}`);
  }
  const columnDelimiter = String(input["columnDelimiter"] ?? "COMMA");
  if (!DELIMITERS[columnDelimiter]) throw invalidJob(`InvalidJob : Invalid columnDelimiter: ${columnDelimiter}`);
  const now = sfDateTime(Date.now());
  return {
    id: ctx.bulk.nextId(),
    object: object.name,
    createdById: ctx.write.userId,
    createdDate: now,
    systemModstamp: now,
    state: "Open",
    apiVersion: ctx.version,
    lineEnding,
    columnDelimiter,
    errorMessage: null,
    numberRecordsProcessed: 0,
    callOptions: request.headers["sforce-call-options"],
  };
}

/** JobInfo as Salesforce returns it; `full` adds the fields of `GET .../jobs/{kind}/{id}`. */
function info(job: Job, full: boolean): Fields {
  const out: Fields = {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.createdById,
    createdDate: job.createdDate,
    systemModstamp: job.systemModstamp,
    state: job.state,
    ...(job.kind === "ingest" && job.externalIdFieldName ? { externalIdFieldName: job.externalIdFieldName } : {}),
    concurrencyMode: "Parallel",
    contentType: "CSV",
    apiVersion: Number(job.apiVersion),
    ...(job.kind === "ingest" ? { contentUrl: `services/data/v${job.apiVersion}/jobs/ingest/${job.id}/batches` } : {}),
    lineEnding: job.lineEnding,
    columnDelimiter: job.columnDelimiter,
  };
  if (!full) return out;
  return {
    ...out,
    jobType: job.kind === "ingest" ? "V2Ingest" : "V2Query",
    numberRecordsProcessed: job.numberRecordsProcessed,
    ...(job.kind === "ingest" ? { numberRecordsFailed: job.numberRecordsFailed } : {}),
    retries: 0,
    totalProcessingTime: 0,
    ...(job.kind === "ingest" ? { apiActiveProcessingTime: 0, apexProcessingTime: 0 } : {}),
    ...(job.errorMessage ? { errorMessage: job.errorMessage } : {}),
  };
}

function upload(job: IngestJob, request: EmulatorRequest): EmulatorReply {
  if (job.state !== "Open") throw invalidState(`Job is not open for data upload: ${job.state}`);
  const contentType = request.headers["content-type"] ?? "";
  if (!contentType.toLowerCase().startsWith("text/csv")) {
    throw sfError(400, "INVALIDJOB", "InvalidJob : Content-Type must be text/csv");
  }
  let rows: string[][];
  try {
    rows = parseCsv(request.rawBody, DELIMITERS[job.columnDelimiter]).filter(
      (row) => !(row.length === 1 && row[0] === ""),
    );
  } catch (err) {
    if (err instanceof CsvError) throw sfError(400, "INVALIDJOB", `InvalidBatch : ${err.message}`);
    throw err;
  }
  const [header, ...data] = rows;
  if (!header) throw sfError(400, "INVALIDJOB", "InvalidBatch : the CSV has no header row");
  // A second PUT is accepted here; closing the job is what Salesforce refuses (changeState).
  job.uploads++;
  job.header ??= header;
  if (job.uploads === 1) job.rows.push(...data);
  return { status: 201 };
}

function changeState(job: Job, request: EmulatorRequest): Job {
  const input = jsonObject(request);
  const wanted = input["state"];
  if (wanted === "UploadComplete" && job.kind === "ingest") {
    if (job.state !== "Open") throw invalidState(`Cannot close a job in state ${job.state}`);
    if (job.uploads > 1) {
      // Salesforce's answer to a job with several uploads (one PUT of job data per job).
      throw sfError(
        400,
        "INVALIDJOB",
        `Found multipe contents for job: <${job.id}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.`,
      );
    }
    job.callOptions ??= request.headers["sforce-call-options"];
    job.state = "UploadComplete";
  } else if (wanted === "Aborted") {
    if (job.state === "JobComplete" || job.state === "Failed" || job.state === "Aborted") {
      throw invalidState(`Cannot abort a job in state ${job.state}`);
    }
    job.state = "Aborted";
  } else {
    throw invalidJob(`InvalidJob : Invalid state: ${String(wanted)}`);
  }
  job.systemModstamp = sfDateTime(Date.now());
  return job;
}

/** One step of the job's progression, taken on each poll. */
function advance(job: Job, ctx: ApiContext): void {
  if (job.state === "UploadComplete") job.state = "InProgress";
  else if (job.state === "InProgress") {
    if (job.kind === "ingest") processIngest(job, ctx);
    else runQuery(job, ctx);
  } else return;
  job.systemModstamp = sfDateTime(Date.now());
}

/** A column of the upload: a field, or a parent looked up by one of its external ids (`Account.External_Id__c`). */
type Column = { kind: "field"; field: FieldDef } | { kind: "parent"; via: FieldDef; parent: SObjectDef; key: FieldDef };

function columnsOf(schema: OrgSchema, def: SObjectDef, header: string[]): Column[] | string {
  const columns: Column[] = [];
  for (const name of header) {
    const [first = "", second, third] = name.trim().split(".");
    if (second === undefined) {
      const f = field(def, first);
      if (!f) return name;
      columns.push({ kind: "field", field: f });
      continue;
    }
    const via = def.fields.find((f) => f.relationshipName?.toLowerCase() === first.toLowerCase());
    const parent = via?.referenceTo[0] ? schema.sobject(via.referenceTo[0]) : undefined;
    const key = parent ? field(parent, second) : undefined;
    if (third !== undefined || !via || !parent || !key || !(key.externalId || key.type === "id")) return name;
    columns.push({ kind: "parent", via, parent, key });
  }
  return columns;
}

function processIngest(job: IngestJob, ctx: ApiContext): void {
  const def = ctx.store.def(job.object);
  const header = job.header ?? [];
  const columns = columnsOf(ctx.store.schema, def, header);
  if (typeof columns === "string") {
    job.state = "Failed";
    job.errorMessage = `InvalidBatch : Field name not found : ${columns}`;
    return;
  }
  const origin = originOf(job.apiVersion, job.callOptions, "bulkapi");
  let transaction: Change[] = [];
  for (const row of job.rows) {
    const outcome = processRow(job, def, columns, row, ctx);
    job.processedRows++;
    job.numberRecordsProcessed++;
    if (outcome instanceof SfError) {
      job.numberRecordsFailed++;
      job.failed.push({ id: rowId(job, columns, row), error: errorText(outcome), row });
    } else {
      transaction.push(outcome.commit());
      job.successful.push({ id: outcome.id, created: outcome.created, row });
    }
    if (job.processedRows % TRANSACTION_SIZE === 0) {
      ctx.commit(transaction, origin);
      transaction = [];
    }
  }
  ctx.commit(transaction, origin);
  job.state = "JobComplete";
}

function processRow(
  job: IngestJob,
  def: SObjectDef,
  columns: Column[],
  row: string[],
  ctx: ApiContext,
): PreparedWrite | SfError {
  try {
    const input: Fields = {};
    for (const [index, column] of columns.entries()) {
      const text = row[index] ?? "";
      if (text === "") continue;
      if (column.kind === "field") {
        input[column.field.name] = text === NULL_VALUE ? null : convert(column.field, text);
        continue;
      }
      if (text === NULL_VALUE) {
        input[column.via.name] = null;
        continue;
      }
      const found = ctx.store.findByExternalId(column.parent.name, column.key.name, text);
      if (found.length !== 1) {
        throw sfError(
          400,
          "INVALID_FIELD",
          `Foreign key external ID: ${text} not found for field ${column.key.name} in entity ${column.parent.name}`,
          [],
        );
      }
      input[column.via.name] = found[0]?.id;
    }
    const id = typeof input["Id"] === "string" ? input["Id"] : null;
    delete input["Id"];
    switch (job.operation) {
      case "insert":
        return ctx.store.prepareCreate(def.name, input, ctx.write);
      case "update":
        if (!id) throw sfError(400, "MISSING_ARGUMENT", "Id not specified in an update call", []);
        return ctx.store.prepareUpdate(def.name, id, input, ctx.write);
      case "delete": {
        if (!id) throw sfError(400, "MISSING_ARGUMENT", "Id not specified in a delete call", []);
        const record = ctx.store.find(id);
        if (record && record.object !== def.name) {
          throw sfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []);
        }
        return ctx.store.prepareDelete(id, ctx.write);
      }
      case "upsert": {
        const key = job.externalIdFieldName ?? "Id";
        if (key === "Id") {
          return id
            ? ctx.store.prepareUpdate(def.name, id, input, ctx.write)
            : ctx.store.prepareCreate(def.name, input, ctx.write);
        }
        const value = input[key];
        if (typeof value !== "string" || value === "") {
          throw sfError(400, "MISSING_ARGUMENT", `${key} not specified`, []);
        }
        const found = ctx.store.findByExternalId(def.name, key, value);
        if (found.length > 1) {
          throw sfError(400, "DUPLICATE_EXTERNAL_ID", `${key}: more than one record found for external id field`, [
            key,
          ]);
        }
        const existing = found[0];
        return existing
          ? ctx.store.prepareUpdate(def.name, existing.id, input, ctx.write)
          : ctx.store.prepareCreate(def.name, input, ctx.write);
      }
    }
  } catch (err) {
    if (err instanceof SfError) return err;
    throw err;
  }
}

/** A CSV value as the field's type: numbers, booleans; anything unparseable is left for validation to refuse. */
function convert(f: FieldDef, text: string): unknown {
  switch (f.type) {
    case "int":
    case "double":
    case "currency":
    case "percent": {
      const n = Number(text);
      return text.trim() !== "" && Number.isFinite(n) ? n : text;
    }
    case "boolean": {
      const lower = text.toLowerCase();
      if (lower === "true" || lower === "1") return true;
      if (lower === "false" || lower === "0") return false;
      return text;
    }
    default:
      return text;
  }
}

/** The failed row's `sf__Id`: the id it named (update, delete, upsert by Id), else empty. */
function rowId(job: IngestJob, columns: Column[], row: string[]): string {
  if (job.operation === "insert") return "";
  const index = columns.findIndex((column) => column.kind === "field" && column.field.name === "Id");
  return index >= 0 ? (normalizeId(row[index] ?? "") ?? row[index] ?? "") : "";
}

/** `sf__Error`: `STATUS_CODE:message:field1,field2 --` per error. */
function errorText(error: SfError): string {
  return error.items.map((item) => `${item.errorCode}:${item.message}:${(item.fields ?? []).join(",")} --`).join(" ");
}

function ingestResults(job: IngestJob, which: "successful" | "failed" | "unprocessed"): CsvRows {
  const original = (job.header ?? []).map((name) => ({ raw: name }));
  if (which === "successful") {
    if (!isTerminal(job)) throw invalidState(`Job is not complete: ${job.state}`);
    return [
      ["sf__Id", "sf__Created", ...original],
      ...job.successful.map(({ id, created, row }) => [id, String(created), ...row]),
    ];
  }
  if (which === "failed") {
    if (!isTerminal(job)) throw invalidState(`Job is not complete: ${job.state}`);
    return [["sf__Id", "sf__Error", ...original], ...job.failed.map(({ id, error, row }) => [id, error, ...row])];
  }
  return [original, ...job.rows.slice(job.processedRows)];
}

type CsvRows = Array<Array<string | null | { raw: string }>>;

function isTerminal(job: Job): boolean {
  return job.state === "JobComplete" || job.state === "Failed" || job.state === "Aborted";
}

function runQuery(job: QueryJob, ctx: ApiContext): void {
  const lookup = (id: string) => ctx.store.find(id);
  const records = selectRecords(job.parsed, job.operation === "queryAll", ctx.store);
  const header = job.parsed.fields.map((path) => path.names.join("."));
  const rows = records.map((record) =>
    job.parsed.fields.map((path) => csvValue(path.target, valueAt(record, path, lookup))),
  );
  job.results = { header, rows };
  job.numberRecordsProcessed = rows.length;
  job.state = "JobComplete";
}

function csvValue(f: FieldDef, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (f.type === "datetime" && typeof value === "string") return new Date(parseSfDateTime(value)).toISOString();
  return String(value);
}

/** `GET .../jobs/query/{id}/results?locator=&maxRecords=`: a CSV page and where the next one starts. */
function queryResults(job: QueryJob, request: EmulatorRequest, ctx: ApiContext): EmulatorReply {
  if (job.apiVersion !== ctx.version) {
    throw invalidState(`Job ${job.id} was created with API version ${job.apiVersion}; use the same version`);
  }
  if (job.state !== "JobComplete" || !job.results) throw invalidState(`Job is not complete: ${job.state}`);
  const { header, rows } = job.results;
  const locator = request.query.get("locator");
  let offset = 0;
  if (locator) {
    const decoded = Buffer.from(locator, "base64").toString("utf8");
    offset = /^\d+$/.test(decoded) ? Number(decoded) : Number.NaN;
    if (!Number.isInteger(offset) || offset <= 0 || offset > rows.length) {
      throw sfError(400, "INVALID_LOCATOR", `Invalid locator: ${locator}`);
    }
  }
  const maxText = request.query.get("maxRecords");
  const maxRecords = maxText === null ? rows.length : Number(maxText);
  if (!Number.isInteger(maxRecords) || maxRecords < 1) {
    throw sfError(400, "INVALIDJOB", "maxRecords must be a positive integer");
  }
  const end = Math.min(rows.length, offset + maxRecords);
  // Column names are written quoted, values quoted, nulls as empty unquoted fields.
  const page: CsvRows = [header, ...rows.slice(offset, end)];
  const next = end < rows.length ? Buffer.from(String(end)).toString("base64").replace(/=+$/, "") : "null";
  return {
    ...csvReply(page, job),
    headers: {
      "content-type": "text/csv",
      "sforce-locator": next,
      "sforce-numberofrecords": String(end - offset),
    },
  };
}

function csvReply(rows: CsvRows, job: Job): EmulatorReply {
  return {
    status: 200,
    headers: { "content-type": "text/csv" },
    raw: writeCsv(rows, DELIMITERS[job.columnDelimiter], job.lineEnding),
  };
}

function created(job: Job): EmulatorReply {
  return { status: 200, body: info(job, false) };
}

function jsonObject(request: EmulatorRequest): Fields {
  const body = parseJson(request.rawBody);
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw sfError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object.");
  }
  return body as Fields;
}
