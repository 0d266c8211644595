import { Connection } from "jsforce";
import { z } from "zod";
import type { Limiter } from "../durable/limiter.ts";
import { chunk } from "../lib/chunk.ts";
import { SyncError } from "../lib/errors.ts";
import {
  type BulkIo,
  type BulkJobSpec,
  type BulkOutcome,
  type BulkSettings,
  DEFAULT_BULK_SETTINGS,
  runBulkIngest,
} from "./bulk.ts";
import { errorCode, mapError, saveError } from "./errors.ts";
import * as soql from "./soql.ts";
import { getToken, invalidateToken, type TokenSettings } from "./token.ts";
import { useFetchTransport } from "./transport.ts";
import type { ApiUsage } from "./usage.ts";

export interface SalesforceClientOptions {
  token: TokenSettings;
  apiVersion: string;
  /** Sent as `Sforce-Call-Options: client=<name>` so change events of our own writes can be recognised. */
  clientName: string;
  /** Paces every call (durable/limiter.ts: the shared one, or none). */
  limiter: Limiter;
  /**
   * createMany / updateMany / upsertMany given at least this many records write them through a
   * Bulk API 2.0 ingest job instead of sObject Collections (default DEFAULT_BULK_THRESHOLD).
   */
  bulkThreshold?: number;
  /** Polling and size limits of bulk jobs. */
  bulk?: Partial<BulkSettings>;
  /** Records per sObject Collections request, 1-200 (BATCH_SIZE; default 200, Salesforce's maximum). */
  collectionSize?: number;
  /** Longest wait for the answer to one API request (default DEFAULT_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;

/** Records per sObject Collections request: Salesforce takes at most 200. */
export const MAX_COLLECTION_SIZE = 200;

/** Salesforce's advice: Bulk API 2.0 for more than 2,000 records, Collections below. */
export const DEFAULT_BULK_THRESHOLD = 2000;

export type SObjectFields = Record<string, string | number | boolean | null>;

/** A queried record: its fields plus the `attributes` envelope. */
export type SfRecordRow = Record<string, unknown> & { Id: string };

/** One record's result in a Collections request or a bulk job. */
export type SaveOutcome = { ok: true; id: string } | { ok: false; error: SyncError };

interface RawSaveResult {
  id?: string;
  success: boolean;
  errors?: unknown[];
}

/**
 * Salesforce REST through jsforce, with client-credentials tokens, the shared rate limiter, our
 * call-options client id on every request, one retry with a new token on INVALID_SESSION_ID, and
 * errors mapped to SyncError.
 */
export class SalesforceClient {
  private usage: ApiUsage | undefined;
  private bulkThreshold: number;
  private collectionSize: number;

  constructor(private readonly options: SalesforceClientOptions) {
    this.bulkThreshold = options.bulkThreshold ?? DEFAULT_BULK_THRESHOLD;
    this.collectionSize = options.collectionSize ?? MAX_COLLECTION_SIZE;
  }

  /** From the stored config document (`[salesforce] bulk_threshold`), which wins over the env's. */
  setBulkThreshold(threshold: number): void {
    this.bulkThreshold = threshold;
  }

  /**
   * From the stored config document (`[sync] batch_size`), which wins over BATCH_SIZE: orgs whose
   * triggers time out on 200 records at once take smaller requests.
   */
  setCollectionSize(size: number): void {
    this.collectionSize = Math.min(MAX_COLLECTION_SIZE, Math.max(1, Math.floor(size)));
  }

  /** Runs SOQL and returns every record, following nextRecordsUrl. */
  async query<T extends Record<string, unknown>>(soql: string): Promise<T[]> {
    return this.call(async (conn) => {
      const records: T[] = [];
      let page = await conn.query<T>(soql);
      records.push(...page.records);
      while (!page.done && page.nextRecordsUrl) {
        await this.options.limiter.acquire("salesforce");
        page = await conn.queryMore<T>(page.nextRecordsUrl);
        records.push(...page.records);
      }
      return records;
    });
  }

  /**
   * Records by Id with the given fields (plus Id, LastModifiedDate, SystemModstamp), in as few SOQL
   * queries as the URL length allows (soql.partsByLength). Ids that no longer exist, and strings that
   * are not Salesforce ids at all (they cannot exist, and Salesforce would refuse the whole query),
   * are simply absent from the result.
   */
  async retrieve(object: string, ids: readonly string[], fields: readonly string[]): Promise<SfRecordRow[]> {
    const valid = [...new Set(ids)].filter(soql.isSalesforceId);
    const { parts } = soql.partsByLength(valid, (part) => soql.selectByIds(object, fields, part), soql.soqlString);
    const rows: SfRecordRow[] = [];
    for (const part of parts) rows.push(...(await this.query<SfRecordRow>(soql.selectByIds(object, fields, part))));
    return rows;
  }

  /**
   * Records whose `field` equals one of `values` (match keys: Email, Website, ...). A value too long
   * for a query of its own cannot be a field value either (fields are at most 255 characters), so it
   * finds nothing instead of failing the batch.
   */
  async findBy(
    object: string,
    field: string,
    values: readonly string[],
    fields: readonly string[],
  ): Promise<SfRecordRow[]> {
    // A string literal is at most 4,000 characters (SOQL limits): a longer value matches nothing.
    const fit = [...new Set(values)].filter((value) => value.length <= soql.MAX_STRING_LITERAL);
    const { parts } = soql.partsByLength(
      fit,
      (part) => soql.selectByField(object, field, fields, part),
      soql.soqlString,
    );
    const rows: SfRecordRow[] = [];
    for (const part of parts) {
      rows.push(...(await this.query<SfRecordRow>(soql.selectByField(object, field, fields, part))));
    }
    return rows;
  }

  /** Every active User with an email (owners are matched to workspace members by email). */
  /** Throws unless Salesforce answers an API call (one call of the daily budget). */
  async ping(): Promise<void> {
    await this.query<{ Id: string }>(soql.probe());
  }

  async activeUsers(): Promise<{ Id: string; Email: string | null; IsActive?: boolean }[]> {
    return this.query<{ Id: string; Email: string | null; IsActive?: boolean }>(soql.activeUsers());
  }

  /**
   * Creates up to 200 records per sObject Collections request (one API call each), or, from
   * bulkThreshold records on, through Bulk API 2.0 ingest jobs. Each record succeeds or fails on
   * its own: the result at index i belongs to records[i].
   */
  async createMany(object: string, records: readonly SObjectFields[]): Promise<SaveOutcome[]> {
    if (records.length >= this.bulkThreshold) return this.saveBulk({ object, operation: "insert" }, records);
    return this.saveMany(object, records, (conn, part) =>
      conn.sobject(object).create(part, { allOrNone: false, allowRecursive: true }),
    );
  }

  /** Updates up to 200 records (each with its Id) per sObject Collections request, or in bulk (see createMany). */
  async updateMany(object: string, records: readonly (SObjectFields & { Id: string })[]): Promise<SaveOutcome[]> {
    if (records.length >= this.bulkThreshold) return this.saveBulk({ object, operation: "update" }, records);
    return this.saveMany(object, records, (conn, part) =>
      conn
        .sobject(object)
        .update(part as (SObjectFields & { Id: string })[], { allOrNone: false, allowRecursive: true }),
    );
  }

  /**
   * Updates one record only if nobody changed it since `lastModified` (its LastModifiedDate as
   * read): sObject Rows `PATCH` with `If-Unmodified-Since` (REST API "Conditional Request
   * Headers": weak validation against the record's last modified date, whole seconds).
   * `modified` when Salesforce answers 412 Precondition Failed: nothing was written.
   */
  async updateIfUnmodified(
    object: string,
    id: string,
    fields: SObjectFields,
    lastModified: string,
  ): Promise<SaveOutcome | { ok: false; modified: true }> {
    const since = new Date(Date.parse(lastModified.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"))).toUTCString();
    return this.call(async (conn) => {
      const response = await fetch(
        `${conn.instanceUrl}/services/data/v${this.options.apiVersion}/sobjects/${object}/${encodeURIComponent(id)}`,
        {
          method: "PATCH",
          headers: {
            Authorization: `Bearer ${conn.accessToken}`,
            "Content-Type": "application/json",
            "Sforce-Call-Options": `client=${this.options.clientName}`,
            "If-Unmodified-Since": since,
          },
          body: JSON.stringify(fields),
          signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
        },
      );
      if (response.status === 204 || response.status === 200) return { ok: true, id };
      if (response.status === 412) return { ok: false, modified: true };
      const body = (await response.json().catch(() => null)) as unknown;
      const errors = Array.isArray(body) ? body : [];
      const code = (errors[0] as { errorCode?: unknown } | undefined)?.errorCode;
      // An expired session is thrown so that `call` gets a new token and tries once more.
      if (code === "INVALID_SESSION_ID" || response.status >= 500 || response.status === 429) {
        throw Object.assign(new Error(`Salesforce answered ${response.status}`), {
          errorCode: typeof code === "string" ? code : `ERROR_HTTP_${response.status}`,
        });
      }
      return { ok: false, error: saveError(object, errors) };
    });
  }

  /**
   * Creates or updates by an External ID field holding the counterpart's id (up to 200 per request,
   * or in bulk, see createMany): retrying it can never create a second record.
   */
  async upsertMany(object: string, externalIdField: string, records: readonly SObjectFields[]): Promise<SaveOutcome[]> {
    if (records.length >= this.bulkThreshold) {
      return this.saveBulk({ object, operation: "upsert", externalIdFieldName: externalIdField }, records);
    }
    return this.saveMany(object, records, (conn, part) =>
      conn.sobject(object).upsert(part, externalIdField, { allOrNone: false, allowRecursive: true }),
    );
  }

  /**
   * Records that someone other than the integration user changed at or after `since` (ISO time):
   * what a job's match index, built from a snapshot, may not know yet. Undefined when the token
   * response did not name the integration user (the caller then queries by match key instead).
   */
  async changedByOthersSince(
    object: string,
    since: string,
    fields: readonly string[],
  ): Promise<SfRecordRow[] | undefined> {
    const { userId } = await getToken(this.options.token);
    if (!userId || !soql.isSalesforceId(userId)) return undefined;
    return this.query<SfRecordRow>(soql.changedByOthersSince(object, fields, since, userId));
  }

  /**
   * Records created at or after `since` (ISO time), by the integration user when the token names
   * it, oldest first, with `fields`: the candidates for what a lost create made (at most `limit`).
   */
  async createdSince(object: string, since: string, fields: readonly string[], limit: number): Promise<SfRecordRow[]> {
    const { userId } = await getToken(this.options.token);
    const own = userId && soql.isSalesforceId(userId) ? userId : undefined;
    return this.query<SfRecordRow>(soql.createdSince(object, fields, since, own, limit));
  }

  /**
   * One page of a whole object's match-key field, in Id order after `afterId` (none on the first
   * page): how a job builds its match index with one query per 2,000 records.
   */
  async matchKeyPage(
    object: string,
    field: string,
    afterId: string | undefined,
    limit: number,
  ): Promise<SfRecordRow[]> {
    // Every batch of the answer (a batch may hold fewer than the LIMIT): a short page means the end.
    return this.query<SfRecordRow>(soql.matchKeyPage(object, field, afterId, limit));
  }

  /**
   * Deleted records among `ids` (in the Recycle Bin: `queryAll` with IsDeleted = true), with the
   * merge winner if any (`master`: only objects that merge have MasterRecordId). An id absent from
   * the answer is not deleted.
   */
  async deletedWithMaster(
    object: string,
    ids: readonly string[],
    master = true,
  ): Promise<{ Id: string; MasterRecordId: string | null }[]> {
    const valid = [...new Set(ids)].filter(soql.isSalesforceId);
    const statementOf = (part: readonly string[]) => soql.deletedWithMaster(object, part, master);
    const { parts } = soql.partsByLength(valid, statementOf, soql.soqlString);
    const rows: { Id: string; MasterRecordId: string | null }[] = [];
    for (const part of parts) {
      const statement = statementOf(part);
      rows.push(
        ...(await this.call(async (conn) => {
          const result = await conn.query<{ Id: string; MasterRecordId?: string | null }>(statement, {
            scanAll: true,
          });
          return result.records.map((r) => ({ Id: r.Id, MasterRecordId: r.MasterRecordId ?? null }));
        })),
      );
    }
    return rows;
  }

  /**
   * Ids changed at or after a (SystemModstamp, Id) cursor, oldest first, at most `limit` (see
   * soql.changedSince). A cursor without an id reads everything at or after its stamp.
   */
  async changedSince(
    object: string,
    cursor: soql.ModstampCursor,
    limit: number,
  ): Promise<{ Id: string; SystemModstamp: string }[]> {
    // Every batch of the answer (a batch may hold fewer than the LIMIT): a short page means the end.
    return this.query<{ Id: string; SystemModstamp: string }>(soql.changedSince(object, cursor, limit));
  }

  /** How many records changed at or after `stamp`: one COUNT() query, whose answer is its `totalSize`. */
  async countChangedSince(object: string, stamp: string): Promise<number> {
    return this.call(async (conn) => (await conn.query(soql.countChangedSince(object, stamp))).totalSize);
  }

  /**
   * Records deleted between two times (Salesforce keeps this log for about 15 days), and how far the
   * log is known to be complete (`latestDateCovered`: the documented start of the next request).
   */
  async deletedBetween(
    object: string,
    start: Date,
    end: Date,
  ): Promise<{ records: { id: string; deletedDate: string }[]; latestDateCovered: string | null }> {
    return this.call(async (conn) => {
      const result = await conn.sobject(object).deleted(start, end);
      return {
        records: result.deletedRecords.map((r) => ({ id: r.id, deletedDate: r.deletedDate })),
        latestDateCovered: typeof result.latestDateCovered === "string" ? result.latestDateCovered : null,
      };
    });
  }

  /** Deletes one record; one already gone counts as deleted. */
  async delete(object: string, id: string): Promise<void> {
    try {
      await this.call(async (conn) => {
        const result = await conn.sobject(object).destroy(id);
        if (!result.success) throw saveError(object, result.errors);
      });
    } catch (err) {
      if (!(err instanceof SyncError && err.code === "not_found")) throw err;
    }
  }

  /** `GET /services/data/`: the API versions the org serves, e.g. `["61.0", "62.0"]`. */
  async apiVersions(): Promise<string[]> {
    const body = await this.call((conn) => conn.request<unknown>("/services/data/"));
    const parsed = z.array(z.object({ version: z.string() })).safeParse(body);
    if (!parsed.success)
      throw new SyncError("upstream_rejected", "Salesforce /services/data/ answered an unexpected shape");
    return parsed.data.map((entry) => entry.version);
  }

  /** A SOQL query of the Tooling API (`/tooling/query`), every page. */
  async toolingQuery(soql: string): Promise<Record<string, unknown>[]> {
    return this.call(async (conn) => {
      const Page = z.object({
        records: z.array(z.record(z.string(), z.unknown())),
        done: z.boolean(),
        nextRecordsUrl: z.string().optional(),
      });
      const records: Record<string, unknown>[] = [];
      let url: string | undefined =
        `/services/data/v${this.options.apiVersion}/tooling/query?q=${encodeURIComponent(soql)}`;
      while (url) {
        const page = Page.safeParse(await conn.request<unknown>(url));
        if (!page.success)
          throw new SyncError("upstream_rejected", "Salesforce tooling query answered an unexpected shape");
        records.push(...page.data.records);
        url = page.data.done ? undefined : page.data.nextRecordsUrl;
      }
      return records;
    });
  }

  /** `GET /sobjects/{object}/describe`, raw; the schema layer validates what it uses. */
  async describe(object: string): Promise<unknown> {
    return this.call((conn) => conn.sobject(object).describe());
  }

  private async saveMany<R extends SObjectFields>(
    object: string,
    records: readonly R[],
    save: (conn: Connection, part: R[]) => Promise<unknown>,
  ): Promise<SaveOutcome[]> {
    const outcomes: SaveOutcome[] = [];
    for (const part of chunk(records, this.collectionSize)) {
      const results = (await this.call((conn) => save(conn, [...part]))) as RawSaveResult[];
      for (const result of results) {
        outcomes.push(
          result.success
            ? { ok: true, id: result.id ?? "" }
            : { ok: false, error: saveError(object, result.errors ?? []) },
        );
      }
    }
    return outcomes;
  }

  /**
   * One or more Bulk API 2.0 ingest jobs (see bulk.ts). Each HTTP request of a job is one `call`:
   * a rate-limiter token, our token handling (a new token and one retry on INVALID_SESSION_ID) and
   * the Sforce-Call-Options header jsforce adds to every request of the connection.
   */
  private async saveBulk(spec: BulkJobSpec, records: readonly SObjectFields[]): Promise<SaveOutcome[]> {
    const io: BulkIo = {
      json: (method, url, body) =>
        this.call((conn) =>
          conn.request(
            body === undefined
              ? { method, url }
              : {
                  method,
                  url,
                  body: JSON.stringify(body),
                  headers: { "Content-Type": "application/json; charset=utf-8" },
                },
          ),
        ),
      upload: async (url, csv) => {
        await this.call((conn) =>
          conn.request({ method: "PUT", url, body: csv, headers: { "Content-Type": "text/csv" } }, RAW_TEXT),
        );
      },
      csv: async (url) => {
        const body = await this.call((conn) =>
          conn.request<string | undefined>({ method: "GET", url, headers: { Accept: "text/csv" } }, RAW_TEXT),
        );
        return typeof body === "string" ? body : "";
      },
    };
    const settings = { ...DEFAULT_BULK_SETTINGS, ...this.options.bulk };
    const outcomes = await runBulkIngest(io, spec, records, settings);
    return outcomes.map((outcome) => bulkOutcome(spec, outcome));
  }

  private async call<T>(work: (conn: Connection) => Promise<T>): Promise<T> {
    try {
      return await this.attempt(work);
    } catch (err) {
      if (errorCode(err) !== "INVALID_SESSION_ID") throw mapError(err);
      invalidateToken(this.options.token);
      try {
        return await this.attempt(work);
      } catch (retryErr) {
        throw mapError(retryErr);
      }
    }
  }

  private async attempt<T>(work: (conn: Connection) => Promise<T>): Promise<T> {
    const token = await getToken(this.options.token);
    await this.options.limiter.acquire("salesforce");
    const conn = new Connection({
      instanceUrl: token.instanceUrl,
      accessToken: token.accessToken,
      version: this.options.apiVersion,
      callOptions: { client: this.options.clientName },
    });
    useFetchTransport(conn, this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    try {
      return await work(conn);
    } finally {
      // Sforce-Limit-Info of the last response: the org's daily API usage.
      const usage = conn.limitInfo?.apiUsage;
      if (usage && Number.isFinite(usage.used) && Number.isFinite(usage.limit))
        this.usage = { used: usage.used, limit: usage.limit };
    }
  }

  /** Where tokens come from (for health checks); the secret stays inside. */
  tokenSettings(): TokenSettings {
    return this.options.token;
  }

  /** The daily API usage Salesforce reported on the last response (`Sforce-Limit-Info`), if any. */
  lastUsage(): ApiUsage | undefined {
    return this.usage;
  }
}

/** jsforce request options: hand back the body as text (CSV is otherwise parsed into objects). */
const RAW_TEXT = { responseType: "text/plain" };

/** Job-level failures that come from the data we sent: the same upload would fail again. */
const CLIENT_INPUT_FAILURE = /^(InvalidBatch|ClientInputError|InvalidJob)\b/;

function bulkOutcome(spec: BulkJobSpec, outcome: BulkOutcome): SaveOutcome {
  if (outcome.ok) return { ok: true, id: outcome.id };
  if (outcome.reason === "failed") return { ok: false, error: saveError(spec.object, outcome.errors) };
  if (outcome.reason === "error") return { ok: false, error: mapError(outcome.error) };
  const { job } = outcome;
  const detail = { bulk_job_id: job.id, job_state: job.state, job_error: job.errorMessage };
  if (outcome.reason === "unmatched") {
    // An insert may have created it: retrying could create it twice, so an operator looks first.
    const message = `Salesforce Bulk API job ${job.id} has results that could not be matched to this ${spec.object} record`;
    return spec.operation === "insert"
      ? { ok: false, error: new SyncError("upstream_rejected", `${message}; it may have been created`, { detail }) }
      : { ok: false, error: new SyncError("upstream_unavailable", message, { detail }) };
  }
  const why = job.timedOut ? "was aborted after waiting too long" : `ended ${job.state}`;
  const message = `Salesforce Bulk API job ${job.id} ${why} before processing this ${spec.object} record${job.errorMessage ? `: ${job.errorMessage}` : ""}`;
  const permanent = job.errorMessage !== null && CLIENT_INPUT_FAILURE.test(job.errorMessage);
  return {
    ok: false,
    error: new SyncError(permanent ? "upstream_rejected" : "upstream_unavailable", message, { detail }),
  };
}
