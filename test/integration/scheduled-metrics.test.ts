import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { BUCKETS } from "../../src/durable/limits.ts";
import worker from "../../src/index.ts";
import { openDb } from "../../src/store/db.ts";
import { metricSamples } from "../../src/store/schema.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

/**
 * Each cron run samples the readings of the console's 24-hour charts (each catch-up's lag, the
 * limiters' calls, the backlog estimate), drops samples older than 48 hours, and GET
 * /api/v1/metrics serves them as series.
 */

interface Series {
  metric: string;
  subject: string;
  points: { at: string; value: number }[];
}

const db = openDb(env.DB);

async function metrics(query: string) {
  return exports.default.fetch(`https://worker.test/api/v1/metrics${query}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
}

describe("metric samples", () => {
  beforeEach(() => server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers));

  it("samples lag, limiter calls and the backlog every run, prunes after 48 h, and serves them", async () => {
    // A whole second, after any sample another test's run took.
    const now = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    const at = new Date(now).toISOString();
    const old = new Date(now - 49 * 3_600_000).toISOString();
    const kept = new Date(now - 47 * 3_600_000).toISOString();
    await db.insert(metricSamples).values([
      { metric: "queue_backlog", subject: "all", at: old, value: 1 },
      { metric: "queue_backlog", subject: "all", at: kept, value: 2 },
    ]);
    // Two Attio writes reserved since the last run.
    const writes = env.RATE_LIMITER.getByName("attio:write");
    await writes.take(BUCKETS["attio:write"]);
    await writes.take(BUCKETS["attio:write"]);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: now, cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    await drainQueue();

    const rows = await db.select().from(metricSamples).all();
    expect(rows.filter((r) => r.at === old)).toEqual([]);
    expect(rows.filter((r) => r.at === kept)).toHaveLength(1);
    const run = rows.filter((r) => r.at === at);
    // The lag of each object the catch-up reconciled, from the watermark it stored.
    const last = (await env.CURSORS.get("catchup:last-run", "json")) as {
      objects: Record<string, { side: string; reconciledThrough: string | null }>;
    };
    const lags = Object.entries(last.objects)
      .filter(([, entry]) => entry.reconciledThrough)
      .map(([object, entry]) => ({
        subject: `${entry.side}:${object}`,
        value: Math.round((now - Date.parse(entry.reconciledThrough ?? "")) / 1000),
      }));
    expect(lags.length).toBeGreaterThan(0);
    expect(run.filter((r) => r.metric === "lag_seconds").map((r) => ({ subject: r.subject, value: r.value }))).toEqual(
      expect.arrayContaining(lags),
    );
    const calls = Object.fromEntries(run.filter((r) => r.metric === "limiter_calls").map((r) => [r.subject, r.value]));
    expect(Object.keys(calls).sort()).toEqual(["attio:read", "attio:write", "salesforce"]);
    expect(calls["attio:write"]).toBeGreaterThanOrEqual(2);
    expect(run.filter((r) => r.metric === "queue_backlog")).toHaveLength(1);
    expect(JSON.parse((await env.CURSORS.get("cron:last-run")) ?? "null")).toMatchObject({
      metrics: { sampled: run.length, pruned: expect.any(Number) },
    });

    // A second read of the limiter starts from zero: each sample is one run's calls.
    expect(await writes.takeCallCount()).toBe(0);

    const response = await metrics("?hours=48");
    expect(response.status).toBe(200);
    const body = (await response.json()) as { since: string; series: Series[] };
    const backlog = body.series.find((s) => s.metric === "queue_backlog" && s.subject === "all");
    expect(backlog?.points.map((p) => p.at)).toEqual(expect.arrayContaining([kept, at]));
    // Oldest first.
    const times = backlog?.points.map((p) => p.at) ?? [];
    expect([...times].sort()).toEqual(times);
    // 24 hours leave the sample of 47 hours ago out.
    const day = (await (await metrics("")).json()) as { series: Series[] };
    const dayBacklog = day.series.find((s) => s.metric === "queue_backlog");
    expect(dayBacklog?.points.map((p) => p.at)).not.toContain(kept);
    expect(dayBacklog?.points.map((p) => p.at)).toContain(at);
  });

  it("answers 400 naming `hours` past the samples' retention", async () => {
    const response = await metrics("?hours=49");
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain("hours");
  });
});
