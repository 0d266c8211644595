import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { parseEnvConfig } from "../../config/env.ts";
import { SyncError } from "../../lib/errors.ts";
import type { Page } from "../../store/pages.ts";
import { buildDeps, type SyncDeps } from "../../sync/deps.ts";
import { parseJson, validationError } from "../errors.ts";
import type { AppEnv } from "../types.ts";

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "bad_request" }),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi("Error");

/** The error responses every management route may give. */
export const errorResponses = {
  400: {
    description: "Invalid request: `details` names each field",
    content: { "application/json": { schema: ErrorSchema } },
  },
  401: { description: "Missing or invalid bearer token", content: { "application/json": { schema: ErrorSchema } } },
  404: { description: "Not found", content: { "application/json": { schema: ErrorSchema } } },
  409: {
    description:
      "Already decided, or `record_busy`: the record is being synced right now (its lease is held); try again in a few seconds, or `paused`: the deployment is in setup or paused and writes nothing (POST /api/v1/start or /resume)",
    content: { "application/json": { schema: ErrorSchema } },
  },
} as const;

/** `?limit=&cursor=`: at most 200 per page; the cursor is the last item's id from the previous page. */
export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ description: "Items per page (max 200)" }),
  cursor: z.string().optional().openapi({ description: "`next_cursor` of the previous page" }),
});

/** A page of a store list (store/pages.ts) as the API answers it, each item shaped by `item`. */
export function pageBody<T, U>(page: Page<T>, item: (row: T) => U): { items: U[]; next_cursor: string | null } {
  return { items: page.items.map(item), next_cursor: page.nextCursor };
}

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** Who an operator's action is recorded as: which token made the call (never the token itself). */
export function operatorName(token: "current" | "next" | "read"): string {
  return `operator:${token === "current" ? "admin-token" : token === "next" ? "next-admin-token" : "read-token"}`;
}

/** API clients and stores for one request. */
export function depsOf(c: Context<AppEnv>): SyncDeps {
  return buildDeps(c.env, parseEnvConfig(c.env), c.var.log);
}

type Method = "get" | "post" | "put" | "delete" | "patch";

export interface Endpoint<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: Method;
  /** OpenAPI form, e.g. `/conflicts/{id}`. */
  path: string;
  summary: string;
  description?: string;
  params?: P;
  query?: Q;
  body?: B;
  /** Response schemas by status, for the document. */
  responses: Record<number, { description: string; content?: Record<string, { schema: z.ZodType }> }>;
}

/**
 * Registers an endpoint in the OpenAPI document and in the router with one set of zod schemas, so
 * the documented contract is the validated one. Params, query and body are parsed before the
 * handler runs; a failure is a 400 naming every field (unknown fields are rejected by strict schemas).
 */
export function define<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
  app: OpenAPIHono<AppEnv>,
  endpoint: Endpoint<P, Q, B>,
  handler: (
    c: Context<AppEnv>,
    input: { params: z.infer<P>; query: z.infer<Q>; body: z.infer<B> },
  ) => Promise<Response>,
): void {
  app.openAPIRegistry.registerPath({
    method: endpoint.method,
    path: endpoint.path,
    summary: endpoint.summary,
    ...(endpoint.description ? { description: endpoint.description } : {}),
    security: [{ bearer: [] }],
    request: {
      ...(endpoint.params ? { params: endpoint.params as never } : {}),
      ...(endpoint.query ? { query: endpoint.query as never } : {}),
      ...(endpoint.body
        ? { body: { content: { "application/json": { schema: endpoint.body } }, required: true } }
        : {}),
    },
    responses: { ...endpoint.responses, 401: errorResponses[401] },
  });
  const honoPath = endpoint.path.replace(/\{(\w+)\}/g, ":$1");
  app.on(endpoint.method.toUpperCase(), honoPath, async (c) => {
    const params = parse(endpoint.params, c.req.param(), "path parameters");
    const query = parse(endpoint.query, c.req.query(), "query");
    let body: unknown;
    if (endpoint.body) {
      const type = c.req.header("content-type") ?? "";
      if (!type.startsWith("application/json")) {
        throw new SyncError("bad_request", "Content-Type must be application/json", { status: 415 });
      }
      body = parse(endpoint.body, parseJson(await c.req.text(), "request body"), "request body");
    }
    return handler(c, { params, query, body } as never);
  });
}

function parse(schema: z.ZodType | undefined, value: unknown, what: string): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(what, result.error);
  return result.data;
}

/** A D1 row with its column names as the API spells them (snake_case), e.g. `errorCode` -> `error_code`. */
export function snakeKeys<T extends Record<string, unknown>>(row: T): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([key, value]) => [key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), value]),
  );
}
