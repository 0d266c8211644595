import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { HttpResponse, http } from "msw";
import { beforeEach, describe, expect, it } from "vitest";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../../src/cron/alerts.ts";
import worker from "../../src/index.ts";
import { hmacSha256Hex } from "../../src/lib/hmac.ts";
import { openDb } from "../../src/store/db.ts";
import { alerts, updateHolds } from "../../src/store/schema.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";

const HOOK = "https://alerts.example.test/hook";
const SECRET = "alert-secret-0123456789abcdef0123456789";
const db = openDb(env.DB);

interface Posted {
  body: string;
  timestamp: string | null;
  signature: string | null;
}

/** The alert endpoint: records each post; answers `status` (200 unless a test says otherwise). */
function alertEndpoint() {
  const posted: Posted[] = [];
  let status = 200;
  server.use(
    http.post(HOOK, async ({ request }) => {
      posted.push({
        body: await request.text(),
        timestamp: request.headers.get(TIMESTAMP_HEADER),
        signature: request.headers.get(SIGNATURE_HEADER),
      });
      return new HttpResponse(status === 200 ? "ok" : "down", { status });
    }),
  );
  return {
    posted,
    answer(next: number) {
      status = next;
    },
    /** The posts about one problem, parsed. */
    about(affects: string) {
      return posted
        .map((p) => ({ ...p, json: JSON.parse(p.body) as Record<string, unknown> }))
        .filter((p) => p.json["affects"] === affects);
    },
  };
}

let minute = 0;
async function cron(vars: Record<string, string> = { ALERT_WEBHOOK_URL: HOOK, ALERT_WEBHOOK_SECRET: SECRET }) {
  minute += 5;
  const controller = createScheduledController({
    scheduledTime: Date.parse("2026-12-07T12:00:00Z") + minute * 60_000,
    cron: "*/5 * * * *",
  });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
}

/** A problem of our own: a mass-update hold of a mapping only this test names. */
async function openHoldProblem(mapping: string) {
  const id = crypto.randomUUID();
  await db
    .insert(updateHolds)
    .values({ id, mapping, side: "salesforce", count: 900, threshold: 500, windowMinutes: 10 });
  return id;
}

describe("alerts", () => {
  beforeEach(() => server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers));

  it("posts a signed alert once when a problem opens, nothing while it stays open, and one when it clears", async () => {
    const endpoint = alertEndpoint();
    const holdId = await openHoldProblem("alerts-once");

    await cron();
    const [opened, ...more] = endpoint.about("mapping alerts-once");
    expect(more).toEqual([]);
    expect(opened?.json).toMatchObject({
      state: "opened",
      code: "mass_update_held",
      affects: "mapping alerts-once",
      source: "attio-sfdc",
      since: expect.any(String),
    });
    expect(String(opened?.json["text"])).toContain("mass_update_held");
    // Signed: HMAC-SHA256 of "timestamp.body" with the secret, and the timestamp is the run's.
    expect(opened?.timestamp).toMatch(/^\d+$/);
    const expected = await hmacSha256Hex(SECRET, `${opened?.timestamp}.${opened?.body}`);
    expect(opened?.signature).toBe(`sha256=${expected}`);
    const forged = await hmacSha256Hex("another-secret-0123456789abcdef01234", `${opened?.timestamp}.${opened?.body}`);
    expect(opened?.signature).not.toBe(`sha256=${forged}`);

    // Still open on the next runs: nothing more is posted about it.
    await cron();
    await cron();
    expect(endpoint.about("mapping alerts-once")).toHaveLength(1);

    // The hold is decided: the problem clears, and one cleared alert follows.
    await db.update(updateHolds).set({ status: "approved" }).where(eq(updateHolds.id, holdId));
    await cron();
    const posts = endpoint.about("mapping alerts-once");
    expect(posts.map((p) => p.json["state"])).toEqual(["opened", "cleared"]);
    expect(posts[1]?.json).toMatchObject({ code: "mass_update_held", cleared_at: expect.any(String) });
    expect(posts[1]?.signature).toBe(
      `sha256=${await hmacSha256Hex(SECRET, `${posts[1]?.timestamp}.${posts[1]?.body}`)}`,
    );
    await cron();
    expect(endpoint.about("mapping alerts-once")).toHaveLength(2);
    expect(await db.select().from(alerts).where(eq(alerts.affects, "mapping alerts-once"))).toEqual([]);
  }, 30_000);

  it("a post the endpoint refuses is tried again by the next run, and posted once", async () => {
    const endpoint = alertEndpoint();
    endpoint.answer(500);
    await openHoldProblem("alerts-retry");
    await cron();
    expect(endpoint.about("mapping alerts-retry")).toHaveLength(1);
    const [row] = await db.select().from(alerts).where(eq(alerts.affects, "mapping alerts-retry"));
    expect(row).toMatchObject({ code: "mass_update_held", openSentAt: null });

    endpoint.answer(200);
    await cron();
    await cron();
    const posts = endpoint.about("mapping alerts-retry");
    expect(posts.map((p) => p.json["state"])).toEqual(["opened", "opened"]);
    const [sent] = await db.select().from(alerts).where(eq(alerts.affects, "mapping alerts-retry"));
    expect(sent?.openSentAt).not.toBeNull();
  }, 30_000);

  it("posts nothing and stores nothing without ALERT_WEBHOOK_URL", async () => {
    const endpoint = alertEndpoint();
    await openHoldProblem("alerts-off");
    await cron({});
    expect(endpoint.posted).toEqual([]);
    expect(await db.select().from(alerts).where(eq(alerts.affects, "mapping alerts-off"))).toEqual([]);
  });
});
