import { Hono } from "hono";
import { parseEnvConfig } from "../config/env.ts";
import { toSyncError } from "../lib/errors.ts";
import { createLogger } from "../lib/log.ts";
import { apiV1 } from "./api-v1.ts";
import { errorResponse } from "./errors.ts";
import { health } from "./health.ts";
import type { AppEnv } from "./types.ts";
import { attioWebhook } from "./webhook-attio.ts";
import { salesforceRelay } from "./webhook-salesforce.ts";

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
    const config = parseEnvConfig(c.env);
    c.set("config", config);
    c.set("correlationId", correlationId);
    c.set("log", createLogger(config.LOG_LEVEL, { correlation_id: correlationId }));
    await next();
  });

  app.route("/", health);
  app.route("/webhooks/attio", attioWebhook);
  app.route("/webhooks/salesforce", salesforceRelay);
  app.route("/api/v1", apiV1);

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
