/**
 * Every failure the sync can meet is one of these codes. The code decides whether the work is
 * retried (the queue redelivers with backoff) or recorded as a failure for an operator.
 */
export type ErrorCode =
  | "config_invalid"
  | "bad_request"
  | "unauthorized"
  | "not_found"
  | "conflict"
  | "rate_limited"
  | "upstream_unavailable"
  | "upstream_rejected"
  | "auth_failed"
  | "record_busy"
  | "mapping_failed"
  /** The deployment is not running (setup or paused): the write waits, held, until it runs. */
  | "paused"
  | "internal";

const RETRYABLE: Record<ErrorCode, boolean> = {
  config_invalid: false,
  bad_request: false,
  unauthorized: false,
  not_found: false,
  conflict: false,
  rate_limited: true,
  upstream_unavailable: true,
  upstream_rejected: false,
  auth_failed: false,
  record_busy: true,
  mapping_failed: false,
  paused: true,
  internal: true,
};

export interface SyncErrorOptions {
  /** HTTP status to answer with when the error reaches a route. */
  status?: number;
  /** Overrides the code's default retry policy. */
  retryable?: boolean;
  /** Seconds the caller asked us to wait (Retry-After), when known. */
  retryAfterSeconds?: number;
  /** Structured detail safe to log and to show an operator (never secrets). */
  detail?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * The one error class of the project: a code, an HTTP status and a retry policy.
 *
 * @example
 * throw new SyncError("rate_limited", "Attio answered 429", { status: 429, retryAfterSeconds: 1 });
 */
export class SyncError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly detail: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: SyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SyncError";
    this.code = code;
    this.status = options.status ?? 500;
    this.retryable = options.retryable ?? RETRYABLE[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.detail = options.detail ?? {};
  }
}

/** Anything thrown that is not a SyncError is treated as an internal, retryable failure. */
export function toSyncError(err: unknown): SyncError {
  if (err instanceof SyncError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SyncError("internal", message, { cause: err });
}
