import { readFileSync } from "node:fs";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { parseEnvConfig } from "../../src/config/env.ts";
import { CRON_PERIOD_MS } from "../../src/sync/health.ts";

/**
 * /api/v1/status judges a stale cron and a catch-up that falls behind in cron periods, and a Worker
 * cannot read its own triggers: the constant must match wrangler.toml's crons.
 */
describe("the cron period /api/v1/status assumes", () => {
  it("is the period of wrangler.toml's Cron Trigger", () => {
    const config = parse(readFileSync("wrangler.toml", "utf8")) as { triggers?: { crons?: string[] } };
    const crons = config.triggers?.crons ?? [];
    expect(crons).toHaveLength(1);
    const minutes = /^\*\/(\d+) \* \* \* \*$/.exec(crons[0] ?? "")?.[1];
    expect(Number(minutes) * 60_000).toBe(CRON_PERIOD_MS);
  });
});

/** The Worker cannot read its queues' settings either: QUEUE_MAX_RETRIES' default must be theirs. */
describe("the queues' max_retries the Worker assumes", () => {
  it("is wrangler.toml's max_retries of the live and job queues", () => {
    const config = parse(readFileSync("wrangler.toml", "utf8")) as {
      queues?: { consumers?: { queue: string; max_retries?: number }[] };
    };
    const consumers = config.queues?.consumers ?? [];
    const retries = ["attio-sfdc-sync", "attio-sfdc-jobs"].map(
      (queue) => consumers.find((c) => c.queue === queue)?.max_retries,
    );
    const secret = "s".repeat(32);
    const assumed = parseEnvConfig({
      ATTIO_API_KEY: "k",
      ATTIO_WEBHOOK_SECRET: "w",
      SALESFORCE_LOGIN_URL: "https://acme.my.salesforce.com",
      SALESFORCE_CLIENT_ID: "i",
      SALESFORCE_CLIENT_SECRET: "c",
      RELAY_SECRET: secret,
      ADMIN_TOKEN: secret,
    } as unknown as Env).QUEUE_MAX_RETRIES;
    expect(retries).toEqual([assumed, assumed]);
  });
});
