import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { parseEnvConfig } from "../config/env.ts";
import { createConsole } from "../console/app.tsx";
import { SyncError, toSyncError } from "../lib/errors.ts";
import { createLogger } from "../lib/log.ts";
import { createApiV1, OPENAPI_INFO } from "./api/index.ts";
import { docsPage } from "./docs-page.ts";
import { errorResponse } from "./errors.ts";
import { health } from "./health.ts";
import type { AppEnv } from "./types.ts";
import { attioWebhook } from "./webhook-attio.ts";
import { salesforceRelay } from "./webhook-salesforce.ts";

/** Request body limits in bytes (the relay's default batch is 5 MB: see docs/RELAY.md). */
export const BODY_LIMITS = { attio: 256 * 1024, relay: 10 * 1024 * 1024, api: 256 * 1024 };

const tooLarge = (c: Context<AppEnv>) =>
  errorResponse(c, new SyncError("bad_request", "Request body is too large", { status: 413 }));

/**
 * The Worker's HTTP surface: webhooks in, health, and the management API.
 *
 * @example
 * const app = createApp();
 * export default { fetch: app.fetch };
 */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    const correlationId = c.req.header("cf-ray") ?? crypto.randomUUID();
    c.set("correlationId", correlationId);
    // Every response names the id its log lines carry.
    c.header("x-request-id", correlationId);
    await next();
  });
  // Liveness answers before the configuration is read: a missing secret must not turn an uptime
  // probe into a 500 that names the Worker's variables to anyone.
  app.route("/", health);
  app.use(async (c, next) => {
    const config = parseEnvConfig(c.env);
    c.set("config", config);
    c.set("log", createLogger(config.LOG_LEVEL, { correlation_id: c.get("correlationId") }));
    await next();
  });

  // Bodies bigger than any legitimate sender's are refused before they are read.
  app.use("/webhooks/attio", bodyLimit({ maxSize: BODY_LIMITS.attio, onError: tooLarge }));
  app.use("/webhooks/salesforce", bodyLimit({ maxSize: BODY_LIMITS.relay, onError: tooLarge }));
  app.use("/api/*", bodyLimit({ maxSize: BODY_LIMITS.api, onError: tooLarge }));
  app.use("/console/*", bodyLimit({ maxSize: BODY_LIMITS.api, onError: tooLarge }));

  const api = createApiV1();
  app.route(
    "/",
    docsPage(() => api.getOpenAPI31Document(OPENAPI_INFO)),
  );
  app.route("/webhooks/attio", attioWebhook);
  app.route("/webhooks/salesforce", salesforceRelay);
  app.route("/api/v1", api);
  // The console calls /api/v1 through this same app, in-process: one source of truth, one auth.
  app.route("/console", createConsole(app.fetch));

  app.notFound((c) =>
    c.json({ error: { code: "not_found", message: `No route for ${c.req.method} ${c.req.path}` } }, 404),
  );
  app.onError((err, c) => {
    const error = toSyncError(err);
    // Configuration errors name the variable but never its value; internal errors say nothing more.
    const log = c.get("log") ?? createLogger("error");
    if (error.status >= 500) log.error("request failed", { code: error.code, error: error.message, path: c.req.path });
    if (error.code === "internal") return c.json({ error: { code: "internal", message: "Internal error" } }, 500);
    return errorResponse(c, error);
  });
  return app;
}
