import { Connection } from "jsforce";
import { takeToken } from "../durable/limits.ts";
import type { RateLimiter } from "../durable/rate-limiter.ts";
import { SyncError } from "../lib/errors.ts";
import { getToken, invalidateToken, type TokenSettings } from "./token.ts";

export interface SalesforceClientOptions {
  token: TokenSettings;
  apiVersion: string;
  /** Sent as `Sforce-Call-Options: client=<name>` so change events of our own writes can be recognised. */
  clientName: string;
  limiter: DurableObjectNamespace<RateLimiter>;
}

export type SObjectFields = Record<string, string | number | boolean | null>;

/** Error codes after which the same request can succeed later. */
const RETRYABLE_CODES = new Set(["UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG"]);
const GONE_CODES = new Set(["NOT_FOUND", "ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID"]);

/**
 * Salesforce REST through jsforce, with client-credentials tokens, the shared rate limiter, our
 * call-options client id on every request, one retry with a new token on INVALID_SESSION_ID, and
 * errors mapped to SyncError.
 */
export class SalesforceClient {
  constructor(private readonly options: SalesforceClientOptions) {}

  /** Runs SOQL and returns every record, following nextRecordsUrl. */
  async query<T extends Record<string, unknown>>(soql: string): Promise<T[]> {
    return this.call(async (conn) => {
      const records: T[] = [];
      let page = await conn.query<T>(soql);
      records.push(...page.records);
      while (!page.done && page.nextRecordsUrl) {
        await takeToken(this.options.limiter, "salesforce");
        page = await conn.queryMore<T>(page.nextRecordsUrl);
        records.push(...page.records);
      }
      return records;
    });
  }

  /** Creates one record and returns its Id. */
  async create(object: string, fields: SObjectFields): Promise<string> {
    return this.call(async (conn) => {
      const result = await conn.sobject(object).create(fields);
      if (!result.success) throw saveError(object, result.errors);
      return result.id;
    });
  }

  /** Updates one record by Id. */
  async update(object: string, id: string, fields: SObjectFields): Promise<void> {
    await this.call(async (conn) => {
      const result = await conn.sobject(object).update({ Id: id, ...fields });
      if (!result.success) throw saveError(object, result.errors);
    });
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
    await takeToken(this.options.limiter, "salesforce");
    const conn = new Connection({
      instanceUrl: token.instanceUrl,
      accessToken: token.accessToken,
      version: this.options.apiVersion,
      callOptions: { client: this.options.clientName },
    });
    return work(conn);
  }
}

function errorCode(err: unknown): string | undefined {
  if (err && typeof err === "object" && "errorCode" in err && typeof err.errorCode === "string") return err.errorCode;
  return undefined;
}

function saveError(object: string, errors: unknown[]): SyncError {
  const first = (errors[0] ?? {}) as { statusCode?: string; errorCode?: string; message?: string; fields?: string[] };
  const code = first.statusCode ?? first.errorCode ?? "UNKNOWN";
  return classify(code, `Salesforce rejected ${object}: ${code} ${first.message ?? ""}`.trim(), {
    fields: first.fields ?? [],
  });
}

function mapError(err: unknown): SyncError {
  if (err instanceof SyncError) return err;
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (!code) return new SyncError("upstream_unavailable", `Salesforce unreachable: ${message}`, { cause: err });
  return classify(code, `Salesforce ${code}: ${message}`, {});
}

function classify(code: string, message: string, detail: Record<string, unknown>): SyncError {
  const withCode = { ...detail, salesforce_code: code };
  if (code === "INVALID_SESSION_ID") return new SyncError("auth_failed", message, { detail: withCode });
  if (code === "REQUEST_LIMIT_EXCEEDED") {
    // The daily allocation is rolling: try again much later rather than hammering it.
    return new SyncError("rate_limited", message, { retryAfterSeconds: 900, detail: withCode });
  }
  if (code === "ERROR_HTTP_429")
    return new SyncError("rate_limited", message, { retryAfterSeconds: 5, detail: withCode });
  if (RETRYABLE_CODES.has(code) || /^ERROR_HTTP_5\d\d$/.test(code)) {
    return new SyncError("upstream_unavailable", message, { detail: withCode });
  }
  if (GONE_CODES.has(code)) return new SyncError("not_found", message, { detail: withCode });
  return new SyncError("upstream_rejected", message, { detail: withCode });
}
