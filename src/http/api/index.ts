import { OpenAPIHono } from "@hono/zod-openapi";
import { VERSION } from "../../lib/version.ts";
import { requireAdmin } from "../auth.ts";
import type { AppEnv } from "../types.ts";
import { activityRoutes } from "./activity.ts";
import { configRoutes } from "./config.ts";
import { doctorRoutes } from "./doctor.ts";
import { eraseRoutes } from "./erase.ts";
import { explainRoutes } from "./explain.ts";
import { failureRoutes } from "./failures.ts";
import { historyRoutes } from "./history.ts";
import { holdRoutes } from "./holds.ts";
import { issueRoutes } from "./issues.ts";
import { jobRoutes } from "./jobs.ts";
import { metricsRoutes } from "./metrics.ts";
import { modeRoutes } from "./modes.ts";
import { statusRoutes } from "./status.ts";
import { timelineRoutes } from "./timeline.ts";
import { workRoutes } from "./work.ts";

/** The OpenAPI document's identity; the paths come from the routes' own zod schemas. */
export const OPENAPI_INFO = {
  openapi: "3.1.0",
  info: {
    title: "attio-sfdc management API",
    version: VERSION,
    description:
      "Operate the Attio <-> Salesforce sync. Every route needs `Authorization: Bearer <ADMIN_TOKEN>`; `ADMIN_READ_TOKEN`, when set, is accepted for GET routes only.",
  },
  servers: [{ url: "/api/v1" }],
};

/**
 * `/api/v1`: the management API. The admin token is checked before anything else, for every route
 * (including the OpenAPI document).
 */
export function createApiV1(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.use(requireAdmin);
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  statusRoutes(app);
  modeRoutes(app);
  configRoutes(app);
  workRoutes(app);
  holdRoutes(app);
  failureRoutes(app);
  issueRoutes(app);
  historyRoutes(app);
  explainRoutes(app);
  timelineRoutes(app);
  jobRoutes(app);
  activityRoutes(app);
  metricsRoutes(app);
  doctorRoutes(app);
  eraseRoutes(app);
  app.doc31("/openapi.json", OPENAPI_INFO);
  return app;
}
