import type { Context } from "hono";
import type { AppEnv } from "../http/types.ts";

/** How the console reaches /api/v1: the Worker's own fetch handler, called in-process. */
export type ApiFetch = (request: Request, env: Env, ctx?: ExecutionContext) => Response | Promise<Response>;

/** An /api/v1 answer: its status and its JSON body (`undefined` when it has none). */
export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
}

/**
 * Calls an /api/v1 route exactly as a client would, with the session's token as the bearer token:
 * the API's auth, validation and errors apply unchanged, and the console holds no data of its own.
 * The console request's id travels along, so both requests' log lines share it.
 */
export async function callApi<T = unknown>(
  c: Context<AppEnv>,
  fetchApi: ApiFetch,
  token: string,
  method: "GET" | "POST" | "PUT" | "DELETE",
  path: string,
  body?: unknown,
): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, "cf-ray": c.var.correlationId };
  if (body !== undefined) headers["content-type"] = "application/json";
  const request = new Request(new URL(`/api/v1${path}`, c.req.url), {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const response = await fetchApi(request, c.env, executionCtx(c));
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed as T };
}

function executionCtx(c: Context<AppEnv>): ExecutionContext | undefined {
  try {
    return c.executionCtx as unknown as ExecutionContext;
  } catch {
    // Hono throws when the request came without one (app.request in a test): the API needs none.
    return undefined;
  }
}

/** The error message of an /api/v1 error body, or a generic one. */
export function apiError(answer: ApiAnswer): string {
  const body = answer.body as { error?: { message?: unknown } } | undefined;
  const message = body?.error?.message;
  return typeof message === "string" ? message : `the API answered ${answer.status}`;
}

/** Whether the API has no such route at all (a part of the API this deployment does not have yet). */
export function routeMissing(answer: ApiAnswer): boolean {
  return answer.status === 404 && apiError(answer).startsWith("No route for");
}
