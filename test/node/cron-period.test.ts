import { readFileSync } from "node:fs";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
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
