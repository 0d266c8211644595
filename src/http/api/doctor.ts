import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { evaluateDoctor, overall } from "../../doctor/checks.ts";
import { gatherRemoteFacts } from "../../doctor/gather.ts";
import { latestConfig } from "../../store/config.ts";
import { lastReceived } from "../../store/inbound-events.ts";
import type { AppEnv } from "../types.ts";
import { define, depsOf, json } from "./common.ts";

const Status = z.enum(["pass", "warn", "fail"]);

const CheckSchema = z
  .object({
    id: z.enum([
      "attio_key",
      "attio_scopes",
      "attio_webhook",
      "salesforce_token",
      "salesforce_api_version",
      "salesforce_access",
      "salesforce_cdc",
      "salesforce_external_id",
      "relay_recent",
      "cron_recent",
    ]),
    status: Status,
    message: z.string().openapi({ description: "What was found" }),
    fix: z.string().optional().openapi({ description: "What to do, when the check does not pass" }),
  })
  .openapi("DoctorCheck");

const DoctorSchema = z
  .object({
    status: Status.openapi({ description: "The worst status of any check" }),
    checked_at: z.string(),
    worker_url: z
      .string()
      .openapi({ description: "The URL the Attio webhook must deliver to, under `/webhooks/attio`" }),
    checks: z.array(CheckSchema),
  })
  .openapi("Doctor");

/**
 * `GET /doctor`: every part of a deployment checked against both CRMs and the Worker's own records,
 * each with its fix (doctor/checks.ts). Reads only; `npm run doctor` runs the same checks locally.
 */
export function doctorRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "get",
      path: "/doctor",
      summary: "Check the deployment: Attio key, scopes and webhook; Salesforce access, CDC, External IDs; relay; cron",
      description:
        "Reads only. Each check answers `pass`, `warn` or `fail` with the fix in plain words. The Attio webhook must deliver to this request's origin + `/webhooks/attio`. The same checks, except the relay's and the cron's, run locally with `npm run doctor`.",
      responses: { 200: json(DoctorSchema, "One answer per check") },
    },
    doctor,
  );
}

async function doctor(c: Context<AppEnv>): Promise<Response> {
  const deps = depsOf(c);
  const now = new Date();
  const workerUrl = new URL(c.req.url).origin;
  const [latest, lastRun, lastRelayEvent] = await Promise.all([
    latestConfig(deps.db),
    c.env.CURSORS.get<{ at?: unknown }>("cron:last-run", "json"),
    lastReceived(deps.db, "salesforce"),
  ]);
  const facts = await gatherRemoteFacts(
    {
      attio: deps.attio,
      salesforce: deps.salesforce,
      apiVersion: deps.config.SALESFORCE_API_VERSION,
      direction: deps.config.SYNC_DIRECTION,
      configToml: latest?.toml ?? "",
      workerUrl,
    },
    now,
  );
  const checks = evaluateDoctor({
    ...facts,
    worker: { lastCronRun: typeof lastRun?.at === "string" ? lastRun.at : null, lastRelayEvent },
  });
  return c.json({ status: overall(checks), checked_at: now.toISOString(), worker_url: workerUrl, checks }, 200);
}
