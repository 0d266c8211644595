import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { openDb } from "../../store/db.ts";
import { samplesSince } from "../../store/metrics.ts";
import { METRIC_RETENTION_HOURS, METRICS, seriesOf } from "../../sync/metrics.ts";
import type { AppEnv } from "../types.ts";
import { define, json } from "./common.ts";

const MetricsQuery = z.strictObject({
  hours: z.coerce
    .number()
    .int()
    .min(1)
    .max(METRIC_RETENTION_HOURS)
    .default(24)
    .openapi({ description: `How far back (1-${METRIC_RETENTION_HOURS} hours: samples are kept that long)` }),
});

const SeriesSchema = z.object({
  metric: z.enum(METRICS).openapi({
    description:
      "`lag_seconds`: how far a catch-up's watermark (reconciled through) was behind; `salesforce_api_used` and `salesforce_api_limit`: Salesforce's daily API use and allocation as last reported; `limiter_calls`: calls a limiter reserved since the run before (about 5 minutes); `queue_backlog`: the backlog estimate (GET /status `queue_backlog`)",
  }),
  subject: z.string().openapi({
    description:
      "Of what: `salesforce:<object>` or `attio:<object>` for a lag, the limiter (`attio:read`, `attio:write`, `salesforce`), `salesforce` for its API use, `all` for the backlog",
    example: "salesforce:Contact",
  }),
  points: z.array(z.object({ at: z.string(), value: z.number() })).openapi({ description: "Oldest first" }),
});

/** The cron's samples over time: what the console's 24-hour lag, budget and backlog charts draw. */
export function metricsRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "get",
      path: "/metrics",
      summary: "Sync lag, API budget use and the queue backlog estimate, sampled by the cron every run",
      description:
        "One sample per cron run (every 5 minutes), kept 48 hours. Writes each way and failures are not sampled: GET /activity counts them from the audit trail and the failures.",
      query: MetricsQuery,
      responses: {
        200: json(
          z.object({ since: z.string(), series: z.array(SeriesSchema) }).openapi("Metrics"),
          "One series per metric and subject",
        ),
      },
    },
    async (c, { query }) => {
      const since = new Date(Date.now() - query.hours * 3_600_000).toISOString();
      const samples = await samplesSince(openDb(c.env.DB), since);
      const known = new Set<string>(METRICS);
      return c.json(
        {
          since,
          series: seriesOf(samples.filter((s) => known.has(s.metric))) as z.infer<typeof SeriesSchema>[],
        },
        200,
      );
    },
  );
}
