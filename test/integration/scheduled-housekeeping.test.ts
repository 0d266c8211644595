import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import { openDb } from "../../src/store/db.ts";
import { inboundEvents } from "../../src/store/schema.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";

describe("scheduled handler", () => {
  beforeEach(() => server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers));

  it("prunes delivery keys older than the retention and records the run in KV", async () => {
    const db = openDb(env.DB);
    await db.insert(inboundEvents).values([
      { key: "attio:old:0", source: "attio", receivedAt: "2026-11-01T00:00:00.000Z" },
      { key: "attio:recent:0", source: "attio", receivedAt: "2026-11-20T00:00:00.000Z" },
    ]);
    const controller = createScheduledController({
      scheduledTime: Date.parse("2026-11-23T12:00:00Z"),
      cron: "*/5 * * * *",
    });
    const ctx = createExecutionContext();

    await worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);

    const keys = (await db.select().from(inboundEvents).all()).map((r) => r.key);
    expect(keys).toEqual(["attio:recent:0"]);
    expect(JSON.parse((await env.CURSORS.get("cron:last-run")) ?? "null")).toMatchObject({
      at: "2026-11-23T12:00:00.000Z",
      pruned_dedupe_keys: 1,
      pruned_audit_rows: 0,
      resumed_jobs: [],
      catchup: { Contact: { enqueued: 0 }, people: { enqueued: 0 } },
    });
  });
});
