import type { EmulatorReply } from "../shared/http.ts";

type ErrorType = "invalid_request_error" | "auth_error" | "rate_limit_error";

/** Attio's error body: `{status_code, type, code, message}` (openapi.yaml error responses). */
export class AttioError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  reply(headers: Record<string, string> = {}): EmulatorReply {
    return {
      status: this.status,
      headers,
      body: { status_code: this.status, type: this.type, code: this.code, message: this.message },
    };
  }
}

export const invalid = (code: string, message: string) => new AttioError(400, "invalid_request_error", code, message);
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
