import { SyncError } from "../lib/errors.ts";
import { RequestTimeout } from "./transport.ts";

/**
 * Salesforce errors as SyncErrors: what each error code means for a retry, and a time limit on
 * every request (jsforce's Worker transport has none).
 */

/** Error codes after which the same request can succeed later. */
/**
 * Codes a later attempt can get past. UNKNOWN_EXCEPTION comes with HTTP 500, "an error has occurred
 * within" Salesforce: not the request's fault, and possibly applied (creates are guarded by intents
 * or upserts, so a retry never makes a second record). One that keeps failing runs out of retries
 * and is recorded with its error.
 */
const RETRYABLE_CODES = new Set([
  "UNABLE_TO_LOCK_ROW",
  "SERVER_UNAVAILABLE",
  "REQUEST_RUNNING_TOO_LONG",
  "UNKNOWN_EXCEPTION",
]);

const GONE_CODES = new Set(["NOT_FOUND", "ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID"]);

export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === "object" && "errorCode" in err && typeof err.errorCode === "string") return err.errorCode;
  return undefined;
}

/** One error of a record Salesforce refused: `statusCode` in Collections and Bulk results, `errorCode` elsewhere. */
interface RawSaveError {
  statusCode?: string;
  errorCode?: string;
  message?: string;
  fields?: string[];
}

/**
 * A refused record as a SyncError, classified by its first error. `detail.errors` keeps every error
 * with the fields it names (Salesforce reports each refused field of a record), for the caller to
 * retry without the refused fields (plan/field-rejections.ts).
 */
export function saveError(object: string, errors: unknown[]): SyncError {
  const items = (errors as RawSaveError[]).map((e) => ({
    code: e?.statusCode ?? e?.errorCode ?? "UNKNOWN",
    message: e?.message ?? "",
    fields: Array.isArray(e?.fields) ? e.fields.filter((f) => typeof f === "string") : [],
  }));
  const first = items[0] ?? { code: "UNKNOWN", message: "", fields: [] };
  const more =
    items.length > 1
      ? ` (and ${items.length - 1} more: ${items
          .slice(1)
          .map((e) => e.code)
          .join(", ")})`
      : "";
  return classify(first.code, `Salesforce rejected ${object}: ${first.code} ${first.message}`.trim() + more, {
    fields: first.fields,
    errors: items,
  });
}

export function mapError(err: unknown): SyncError {
  if (err instanceof SyncError) return err;
  if (err instanceof RequestTimeout) return new SyncError("upstream_unavailable", err.message, { cause: err });
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (!code) return new SyncError("upstream_unavailable", `Salesforce unreachable: ${message}`, { cause: err });
  return classify(code, `Salesforce ${code}: ${message}`, {});
}

/** A Salesforce error code as a SyncError: whether and when the same request can succeed. */
export function classify(code: string, message: string, detail: Record<string, unknown>): SyncError {
  const withCode = { ...detail, salesforce_code: code };
  if (code === "INVALID_SESSION_ID") return new SyncError("auth_failed", message, { detail: withCode });
  if (code === "REQUEST_LIMIT_EXCEEDED") {
    // Two limits share this code. The daily allocation (TotalRequests) is rolling: try again much
    // later rather than hammering it. Too many concurrent long requests clears in seconds.
    const daily = !/Concurrent/i.test(message);
    return new SyncError("rate_limited", message, {
      retryAfterSeconds: daily ? 900 : 10,
      detail: daily ? { ...withCode, daily_limit: true } : withCode,
    });
  }
  if (code === "ERROR_HTTP_429")
    return new SyncError("rate_limited", message, { retryAfterSeconds: 5, detail: withCode });
  if (RETRYABLE_CODES.has(code) || /^ERROR_HTTP_5\d\d$/.test(code)) {
    return new SyncError("upstream_unavailable", message, { detail: withCode });
  }
  if (GONE_CODES.has(code)) return new SyncError("not_found", message, { detail: withCode });
  return new SyncError("upstream_rejected", message, { detail: withCode });
}
