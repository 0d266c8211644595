import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseEnvConfig } from "../../src/config/env.ts";
import worker from "../../src/index.ts";
import { createLogger } from "../../src/lib/log.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { deferredRefs, idMappings } from "../../src/store/schema.ts";
import { resendWaiting } from "../../src/sync/deferred.ts";
import { buildDeps } from "../../src/sync/deps.ts";
import { eventually } from "../helpers/eventually.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";
import { drainQueue } from "../helpers/queue-drain.ts";

const db = openDb(env.DB);
afterEach(() => drainQueue());
beforeEach(() => clearTokenCache());

/** A queue whose every send fails, counting the attempts: the fault a lost send would be. */
function failingQueue() {
  const attempts = { count: 0 };
  const fail = async (): Promise<never> => {
    attempts.count++;
    throw new Error("queue unavailable");
  };
  return { attempts, queue: { send: fail, sendBatch: fail } as unknown as Queue };
}

describe("records waiting on a reference", () => {
  it("keep their row when the re-sync cannot be sent, and the cron sends it once the target is linked", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    attio.addPerson("p-waiting", { email: "waiting@northwind.example", title: "Buyer" });
    // The person waited on its company, which is linked now; the message that should have
    // re-synced the person was never sent.
    await db.insert(idMappings).values({
      id: "m-company",
      attioObject: "companies",
      attioRecordId: "c-linked",
      sfObject: "Account",
      sfRecordId: "001000000000001AAA",
    });
    await db.insert(deferredRefs).values({
      side: "attio",
      object: "people",
      recordId: "p-waiting",
      targetObject: "companies",
      targetId: "c-linked",
    });

    const { attempts, queue } = failingQueue();
    const deps = buildDeps(env, parseEnvConfig(env), createLogger("silent"));
    await expect(resendWaiting(deps, queue)).rejects.toThrow("queue unavailable");
    expect(attempts.count).toBeGreaterThan(0);
    expect(await db.select().from(deferredRefs).all()).toHaveLength(1);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);

    expect(await db.select().from(deferredRefs).where(eq(deferredRefs.recordId, "p-waiting")).all()).toEqual([]);
    expect(JSON.parse((await env.CURSORS.get("cron:last-run")) ?? "null")).toMatchObject({
      resent_waiting_references: 1,
    });
    const contact = await eventually(async () =>
      [...sf.contacts.values()].find((c) => c["Email"] === "waiting@northwind.example"),
    );
    expect(contact).toMatchObject({ Title: "Buyer" });
  });

  it("are left alone while their target is not linked", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    await db.insert(deferredRefs).values({
      side: "salesforce",
      object: "Contact",
      recordId: "003000000000009AAA",
      targetObject: "Account",
      targetId: "001000000000009AAA",
    });
    const deps = buildDeps(env, parseEnvConfig(env), createLogger("silent"));
    const before = await db.select().from(deferredRefs).all();
    expect(await resendWaiting(deps, failingQueue().queue)).toBe(0);
    expect(await db.select().from(deferredRefs).all()).toEqual(before);
  });
});
