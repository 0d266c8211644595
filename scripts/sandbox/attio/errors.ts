import type { EmulatorReply } from "../shared/http.ts";

type ErrorType = "invalid_request_error" | "auth_error" | "rate_limit_error";

/** Attio's error body: `{status_code, type, code, message}` (openapi.yaml error responses). */
export class AttioError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    readonly code: string,
    message: string,
    /** More fields of the body, e.g. `validation_errors` on a body that failed validation. */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  reply(headers: Record<string, string> = {}): EmulatorReply {
    return {
      status: this.status,
      headers,
      body: { status_code: this.status, type: this.type, code: this.code, message: this.message, ...this.extra },
    };
  }
}

/** One problem of a body that failed validation: `{code, path, message}`, path from the body's root. */
export interface ValidationIssue {
  code: string;
  path: Array<string | number>;
  message: string;
}

export const invalid = (code: string, message: string) => new AttioError(400, "invalid_request_error", code, message);
/**
 * A body that does not match the endpoint's schema. Attio answers with a generic message and the
 * details in `validation_errors` (`[{code, path, message}]`, e.g. path `["data","type"]`).
 */
export const bodyInvalid = (issues: ValidationIssue[]) =>
  new AttioError(400, "invalid_request_error", "validation_type", "Body payload validation error.", {
    validation_errors: issues,
  });
/** 409: an object, attribute, select option or status with that slug or title exists already. */
export const slugConflict = (message: string) => new AttioError(409, "invalid_request_error", "slug_conflict", message);
export const notFound = (message: string) => new AttioError(404, "invalid_request_error", "not_found", message);
export const unauthorized = () =>
  new AttioError(
    401,
    "auth_error",
    "unauthorized",
    "Authentication failed. Please check your API key or access token.",
  );
export const rateLimited = () =>
  new AttioError(429, "rate_limit_error", "rate_limit_exceeded", "Rate limit exceeded, please try again later");
