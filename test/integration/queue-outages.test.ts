import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { HttpResponse, http } from "msw";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { acquireLeases, releaseLeases } from "../../src/durable/record-lock.ts";
import worker from "../../src/index.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { failures, idMappings, parkedChanges } from "../../src/store/schema.ts";
import { DEAD_LETTERS_KEY } from "../../src/sync/health-marks.ts";
import { drainMessage, recordsMessages } from "../../src/sync/messages.ts";
import { DRAIN_DUE_KEY } from "../../src/sync/parked.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce, SF_INSTANCE } from "../helpers/fake-salesforce.ts";
import { personChanged, relayedChange } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

/**
 * Issue 23, H3 and M5: dead letters are never dropped and name the last real error; an outage or a
 * spent daily budget parks changes (not failed) and they drain on their own once the API answers.
 */

afterEach(() => drainQueue());
afterEach(() => vi.restoreAllMocks());
beforeEach(() => clearTokenCache());

const db = openDb(env.DB);
const API = `${SF_INSTANCE}/services/data/v62.0`;

function setup() {
  const attio = fakeAttio();
  const sf = fakeSalesforce();
  server.use(...attio.handlers, ...sf.handlers);
  return { attio, sf };
}

/** Salesforce's REST API answers `reply` to every call while `down()` says so (the token endpoint still answers). */
function salesforceOutage(reply: () => Response) {
  const state = { down: true, refused: 0 };
  server.use(
    http.all(`${API}/*`, () => {
      if (!state.down) return undefined;
      state.refused += 1;
      return reply();
    }),
  );
  return state;
}

async function failureOf(dedupeKey: string) {
  return db
    .select()
    .from(failures)
    .where(eq(failures.id, `event:${dedupeKey}`))
    .get();
}

async function status() {
  const response = await exports.default.fetch("https://worker.test/api/v1/status", {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  return (await response.json()) as {
    problems: { code: string; message: string; affects: string; since?: string }[];
    parked: { reason: string; count: number; since: string; last_error: string }[] | null;
  };
}

async function cron() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

describe("dead letters (H3)", () => {
  it("retries a dead letter D1 cannot take, with a delay, instead of dropping it; records it once D1 answers", async () => {
    setup();
    const message = personChanged("p-dlq-d1");
    // D1 cannot take failure rows: the table is away for the first delivery.
    await env.DB.exec("ALTER TABLE failures RENAME TO failures_away");
    let first: Awaited<ReturnType<typeof runQueue>>;
    try {
      first = await runQueue([message], { queue: "attio-sfdc-sync-dlq", attempts: 3 });
    } finally {
      await env.DB.exec("ALTER TABLE failures_away RENAME TO failures");
    }
    // The fault fired: nothing recorded, the stuck mark names D1's error.
    expect(await failureOf(message.dedupeKey)).toBeUndefined();
    expect(await env.CURSORS.get(DEAD_LETTERS_KEY, "json")).toMatchObject({
      error: expect.stringContaining("failures"),
    });
    expect(first.result.explicitAcks).toEqual([]);
    expect(first.result.retryMessages.map((m) => m.msgId)).toEqual(first.ids);
    expect(first.result.outcome).toBe("ok");

    const again = await runQueue([message], { queue: "attio-sfdc-sync-dlq", attempts: 4 });
    expect(again.result.explicitAcks).toEqual(again.ids);
    expect(await failureOf(message.dedupeKey)).toMatchObject({ status: "open", attempts: 4 });
    expect(await env.CURSORS.get(DEAD_LETTERS_KEY)).toBeNull();
  });

  it("sends a change back to its queue when D1 cannot take it on its last delivery (mode unreadable, or the park refused), instead of the dead-letter queue", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-d1-last", { first: "Liv", last: "Dahl", email: "d1-last@northwind.example" });
    const message = personChanged("p-d1-last");
    const send = vi.spyOn(env.SYNC_QUEUE, "sendBatch");
    const resent = () =>
      send.mock.calls
        .flatMap(([batch]) => [...batch])
        .filter((m) => (m.body as { dedupeKey?: string }).dedupeKey === message.dedupeKey);
    const lastDelivery = 9; // QUEUE_MAX_RETRIES (8) + 1

    // The mode cannot be read (D1 out): an earlier delivery is retried, the last one sent again.
    await env.DB.exec("ALTER TABLE deployment_mode RENAME TO deployment_mode_away");
    let early: Awaited<ReturnType<typeof runQueue>>;
    let last: Awaited<ReturnType<typeof runQueue>>;
    try {
      early = await runQueue([message], { attempts: 2 });
      last = await runQueue([message], { attempts: lastDelivery });
    } finally {
      await env.DB.exec("ALTER TABLE deployment_mode_away RENAME TO deployment_mode");
    }
    expect(early.result.retryMessages.map((m) => m.msgId)).toEqual(early.ids);
    expect(last.result.explicitAcks).toEqual(last.ids);
    expect(last.result.retryMessages).toEqual([]);
    expect(resent()).toEqual([expect.objectContaining({ delaySeconds: 60 })]);

    // Salesforce out and D1 refusing the park on the last delivery: sent again too, nothing recorded.
    const outage = salesforceOutage(() => new HttpResponse("Service Unavailable", { status: 503 }));
    await env.DB.exec("ALTER TABLE parked_changes RENAME TO parked_changes_away");
    let refused: Awaited<ReturnType<typeof runQueue>>;
    try {
      refused = await runQueue([message], { attempts: lastDelivery });
    } finally {
      await env.DB.exec("ALTER TABLE parked_changes_away RENAME TO parked_changes");
    }
    expect(outage.refused).toBeGreaterThan(0);
    expect(refused.result.explicitAcks).toEqual(refused.ids);
    expect(resent()).toHaveLength(2);
    expect(await failureOf(message.dedupeKey)).toBeUndefined();

    // Once both answer, the change sent again syncs.
    outage.down = false;
    await runQueue([message]);
    expect([...sf.contacts.values()].some((c) => c["Email"] === "d1-last@northwind.example")).toBe(true);
  });

  it("records a change still failing on its last delivery with its own error, not 'retries exhausted'", async () => {
    const { attio } = setup();
    attio.addPerson("p-last", { first: "Lea", last: "Moro", email: "last@northwind.example" });
    await runQueue([personChanged("p-last")]);
    const pair = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, "p-last")).get();
    const names = [`pair:${pair?.id}`];
    // Another writer holds the record on every delivery: record_busy until the last one.
    await acquireLeases(env.RECORD_LOCK, "another-batch", names, 60_000);
    const message = personChanged("p-last");
    try {
      const early = await runQueue([message], { attempts: 8 });
      expect(early.result.retryMessages.map((m) => m.msgId)).toEqual(early.ids);
      const last = await runQueue([message], { attempts: 9 });
      expect(last.result.explicitAcks).toEqual(last.ids);
    } finally {
      await releaseLeases(env.RECORD_LOCK, "another-batch", names);
    }
    expect(await failureOf(message.dedupeKey)).toMatchObject({ errorCode: "record_busy", attempts: 9 });
  });
});

describe("outages park changes and drain them on their own (M5)", () => {
  it("parks a change through a Salesforce outage longer than its retries, shows it waiting, syncs it once Salesforce answers", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-outage", { first: "Ida", last: "Berg", email: "outage@northwind.example" });
    const outage = salesforceOutage(() => new HttpResponse("Service Unavailable", { status: 503 }));
    const message = personChanged("p-outage");

    // A blip is retried as usual; an outage that outlived the quick retries parks the change.
    const blip = await runQueue([message], { attempts: 1 });
    expect(blip.result.retryMessages.map((m) => m.msgId)).toEqual(blip.ids);
    const parkedRun = await runQueue([message], { attempts: 4 });
    expect(outage.refused).toBeGreaterThan(0);
    expect(parkedRun.result.explicitAcks).toEqual(parkedRun.ids);
    expect(parkedRun.result.retryMessages).toEqual([]);
    // Parked again (a second delivery of the same event): still one row.
    await runQueue([message], { attempts: 5 });
    const rows = await db.select().from(parkedChanges).all();
    expect(rows).toEqual([
      expect.objectContaining({ reason: "upstream_unavailable", times: 2, queue: "sync", message: message }),
    ]);
    expect(await failureOf(message.dedupeKey)).toBeUndefined();
    expect(await env.CURSORS.get(DRAIN_DUE_KEY)).not.toBeNull();

    const waiting = await status();
    expect(waiting.parked).toEqual([expect.objectContaining({ reason: "upstream_unavailable", count: 1 })]);
    const problem = waiting.problems.find((p) => p.code === "changes_waiting");
    expect(problem?.message).toContain("upstream_unavailable");
    expect(problem?.message).toContain("503");

    // Still down: the cron's drain probes and leaves it parked.
    await cron();
    expect(await db.select().from(parkedChanges).all()).toHaveLength(1);

    outage.down = false;
    await cron();
    await drainQueue();
    expect(await db.select().from(parkedChanges).all()).toEqual([]);
    expect([...sf.contacts.values()]).toEqual([expect.objectContaining({ Email: "outage@northwind.example" })]);
    expect(await failureOf(message.dedupeKey)).toBeUndefined();
    expect((await status()).problems.map((p) => p.code)).not.toContain("changes_waiting");
  });

  it("parks changes at once when Salesforce's daily request limit is spent, and drains them when it allows calls again", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-budget", { first: "Tor", last: "Lund", email: "budget@northwind.example" });
    // Salesforce answers 403 REQUEST_LIMIT_EXCEEDED once the org's rolling 24-hour allocation is spent.
    const spent = salesforceOutage(() =>
      HttpResponse.json([{ message: "TotalRequests Limit exceeded.", errorCode: "REQUEST_LIMIT_EXCEEDED" }], {
        status: 403,
      }),
    );
    const message = personChanged("p-budget");

    const run = await runQueue([message], { attempts: 1 });
    expect(spent.refused).toBeGreaterThan(0);
    expect(run.result.explicitAcks).toEqual(run.ids);
    expect(await db.select().from(parkedChanges).all()).toEqual([
      expect.objectContaining({
        reason: "daily_limit",
        errorMessage: expect.stringContaining("REQUEST_LIMIT_EXCEEDED"),
      }),
    ]);
    const waiting = await status();
    expect(waiting.problems.find((p) => p.code === "changes_waiting")?.message).toContain(
      "Salesforce's daily API request limit",
    );

    // While it is spent, the drain message (every minute) probes, leaves it parked and hands on its turn.
    const still = drainMessage();
    await env.CURSORS.put(DRAIN_DUE_KEY, JSON.stringify({ due: new Date().toISOString(), id: still.dedupeKey }));
    expect((await runQueue([still])).result.retryMessages).toEqual([]);
    expect(await db.select().from(parkedChanges).all()).toHaveLength(1);
    const next = (await env.CURSORS.get<{ id: string }>(DRAIN_DUE_KEY, "json"))?.id;
    expect(next).toMatch(/^internal:/);
    expect(next).not.toBe(still.dedupeKey);

    spent.down = false;
    await runQueue([{ ...drainMessage(), dedupeKey: next }]);
    await drainQueue();
    expect(await db.select().from(parkedChanges).all()).toEqual([]);
    expect([...sf.contacts.values()]).toEqual([expect.objectContaining({ Email: "budget@northwind.example" })]);
    expect(await failureOf(message.dedupeKey)).toBeUndefined();
  });

  it("parks a records.sync message record by record and sends them again together", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-many-1", { first: "Ana", last: "Sol", email: "many1@northwind.example" });
    attio.addPerson("p-many-2", { first: "Ben", last: "Sol", email: "many2@northwind.example" });
    const outage = salesforceOutage(() => new HttpResponse("Service Unavailable", { status: 503 }));
    const [message] = recordsMessages("people", "attio", ["p-many-1", "p-many-2"], "catch-up", { attempt: 4 });

    const run = await runQueue([message]);
    expect(outage.refused).toBeGreaterThan(0);
    expect(run.result.explicitAcks).toEqual(run.ids);
    const rows = await db.select().from(parkedChanges).all();
    expect(rows.map((r) => [r.key, r.reason]).sort()).toEqual([
      ["attio:people:p-many-1", "upstream_unavailable"],
      ["attio:people:p-many-2", "upstream_unavailable"],
    ]);
    expect(rows[0]?.message).toMatchObject({ kind: "records.sync", attempt: 1 });

    outage.down = false;
    const send = vi.spyOn(env.SYNC_QUEUE, "sendBatch");
    await cron();
    await drainQueue();
    // One message carries both records again.
    const resent = send.mock.calls.flatMap(([batch]) => [...batch].map((m) => m.body as { kind: string }));
    expect(resent.filter((m) => m.kind === "records.sync")).toEqual([
      expect.objectContaining({ recordIds: ["p-many-1", "p-many-2"], attempt: 1 }),
    ]);
    expect(await db.select().from(parkedChanges).all()).toEqual([]);
    expect([...sf.contacts.values()].map((c) => c["Email"]).sort()).toEqual([
      "many1@northwind.example",
      "many2@northwind.example",
    ]);
  });

  it("a change event parked over another about the same record stands for both: it loses its values, so it is read", async () => {
    const { attio, sf } = setup();
    const person = attio.addPerson("p-parked-over", { email: "parked-over@northwind.example", title: "Analyst" });
    await runQueue([personChanged("p-parked-over")]);
    const [contactId = ""] =
      [...sf.contacts.entries()].find(([, c]) => c["Email"] === "parked-over@northwind.example") ?? [];
    const event = (n: number, fields: Record<string, unknown>) => {
      const base = relayedChange("Contact", contactId);
      return {
        ...base,
        header: {
          ...base.header,
          changeOrigin: "com/salesforce/ui",
          transactionKey: `tx-parked-over-${n}`,
          changedFields: Object.keys(fields),
        },
        fields,
        replayId: String(4100 + n),
        dedupeKey: `sf:tx-parked-over-${n}:0`,
      };
    };
    // Two edits in Salesforce while its daily limit is spent: the second is parked in the first's
    // place. Its values say nothing of the Title, so it must not be settled by them once sent again.
    sf.contacts.set(contactId, { ...sf.contacts.get(contactId), Title: "Sales Title", Phone: "+1 555 0101" });
    const spent = salesforceOutage(() =>
      HttpResponse.json([{ message: "TotalRequests Limit exceeded.", errorCode: "REQUEST_LIMIT_EXCEEDED" }], {
        status: 403,
      }),
    );
    const first = event(1, { Title: "Sales Title" });
    const second = event(2, { Phone: "+1 555 0101" });
    await runQueue([first]);
    await runQueue([second]);
    // The same event parked again keeps its values.
    await runQueue([second]);
    expect(spent.refused).toBeGreaterThan(0);
    const key = `salesforce:Contact:${contactId}`;
    const rows = await db.select().from(parkedChanges).where(eq(parkedChanges.key, key));
    expect(rows.map((r) => r.message)).toEqual([expect.objectContaining({ dedupeKey: second.dedupeKey, fields: {} })]);

    spent.down = false;
    await runQueue([drainMessage()]);
    await drainQueue();
    expect(await db.select().from(parkedChanges).where(eq(parkedChanges.key, key))).toEqual([]);
    expect(person.values.job_title[0]?.value).toBe("Sales Title");
  });
});
