import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { SyncError } from "../lib/errors.ts";

/**
 * The one error body of every route: `{error: {code, message, details?}}`. `details` lists the
 * fields a request got wrong, or the problems of a rejected configuration.
 */
export function errorResponse(c: Context, error: SyncError): Response {
  const details = error.detail["details"];
  return c.json(
    { error: { code: error.code, message: error.message, ...(details ? { details } : {}) } },
    error.status as ContentfulStatusCode,
  );
}

/** A 400 naming each field zod rejected, e.g. `events.0.id.record_id: expected string`. */
export function validationError(what: string, error: z.ZodError): SyncError {
  const details = error.issues.map((issue) => ({ path: issue.path.join(".") || "(root)", message: issue.message }));
  const summary = details
    .slice(0, 5)
    .map((i) => `${i.path}: ${i.message}`)
    .join("; ");
  return new SyncError("bad_request", `Invalid ${what}: ${summary}`, { status: 400, detail: { details } });
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new SyncError("bad_request", `Invalid ${what}: body is not valid JSON`, { status: 400 });
  }
}

/** A 415 unless the request says its body is JSON; the body is then not read at all. */
export function requireJson(c: Context): Response | undefined {
  const type = c.req.header("content-type") ?? "";
  if (/^application\/json\s*(;|$)/i.test(type)) return undefined;
  return errorResponse(c, new SyncError("bad_request", "Content-Type must be application/json", { status: 415 }));
}
