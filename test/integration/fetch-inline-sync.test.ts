import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, inArray } from "drizzle-orm";
import { HttpResponse, http } from "msw";
import { afterEach, describe, expect, it, vi } from "vitest";
import webhook from "../../fixtures/attio/webhook-record-updated.json";
import cdcEvent from "../../fixtures/salesforce/cdc-contact-update-cometd.json";
import { acquireLeases, releaseLeases } from "../../src/durable/record-lock.ts";
import worker from "../../src/index.ts";
import { INLINE_BACKUP_DELAY_SECONDS, INLINE_MAX_MESSAGES } from "../../src/queue/inline-backup.ts";
import { openDb } from "../../src/store/db.ts";
import { idMappings, inboundEvents } from "../../src/store/schema.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";
import { attioWebhookRequest, relayRequest } from "../helpers/signing.ts";

const db = openDb(env.DB);
const inlineEnv = { ...env, LIVE_SYNC_INLINE: "on" } as unknown as Env;

afterEach(() => vi.restoreAllMocks());

/** What the webhook sends to the live queue, kept here instead of delivered (the tests deliver it). */
function captureQueue() {
  const sent: MessageSendRequest[] = [];
  vi.spyOn(env.SYNC_QUEUE, "sendBatch").mockImplementation(async (messages) => {
    sent.push(...messages);
    return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: new Date() } } };
  });
  return sent;
}

/** Sends a request to the Worker with the fast path on and waits for the work it left running. */
async function fetchInline(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, inlineEnv, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** Delivers bodies to the live queue's consumer; returns which were acked and retried. */
async function deliver(bodies: unknown[]) {
  const messages = bodies.map((body, i) => ({
    id: `inline-${i}-${crypto.randomUUID()}`,
    timestamp: new Date(),
    attempts: 1,
    body,
  }));
  const batch = createMessageBatch("attio-sfdc-sync", messages);
  const ctx = createExecutionContext();
  await worker.queue(batch, inlineEnv, ctx);
  const result = await getQueueResult(batch, ctx);
  return { acked: result.explicitAcks.length, retried: result.retryMessages.length };
}

function personWebhook(recordId: string) {
  const event = webhook.events[0] as (typeof webhook.events)[number];
  return { webhook_id: webhook.webhook_id, events: [{ ...event, id: { ...event.id, record_id: recordId } }] };
}

async function handledAt(keys: string[]) {
  const rows = await db.select().from(inboundEvents).where(inArray(inboundEvents.key, keys)).all();
  return new Map(rows.map((row) => [row.key, row.handledInlineAt]));
}

describe("the live fast path (a webhook syncs a person's change in its own invocation)", () => {
  it("syncs an Attio edit before the queue delivers it; the queued backup is then acked unread", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    attio.addPerson("p-inline-1", { first: "Ines", last: "Lind", email: "ines@inline.example", title: "CFO" });
    const sent = captureQueue();

    const response = await fetchInline(
      await attioWebhookRequest(personWebhook("p-inline-1"), { "idempotency-key": "inline-1" }),
    );

    expect(response.status).toBe(200);
    // Synced with no queue delivery: the Contact and the pair exist once the invocation is done.
    const pair = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, "p-inline-1")).get();
    expect(sf.contacts.get(pair?.sfRecordId ?? "")).toMatchObject({ LastName: "Lind", Title: "CFO" });
    // The backup waits in the queue, marked, and the run recorded the change as handled.
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ delaySeconds: INLINE_BACKUP_DELAY_SECONDS, body: { inlineBackup: true } });
    expect((await handledAt(["attio:inline-1:0"])).get("attio:inline-1:0")).toEqual(expect.any(String));

    const callsBefore = attio.calls.length + sf.calls.length;
    expect(await deliver(sent.map((s) => s.body))).toEqual({ acked: 1, retried: 0 });
    expect(attio.calls.length + sf.calls.length).toBe(callsBefore);
    expect(sf.contacts.size).toBe(1);
  });

  it("queues a change the inline run must retry at once, as a plain message; the backup is then dropped", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    attio.addPerson("p-inline-2", { first: "Rui", last: "Sato", email: "rui@inline.example" });
    // Attio is down: the run's read fails, and the run asks for a retry.
    let down = true;
    let refused = 0;
    server.use(
      http.post("https://api.attio.test/v2/objects/:object/records/query", () => {
        if (!down) return undefined;
        refused++;
        return HttpResponse.json(
          { status_code: 503, type: "api_error", code: "unavailable", message: "Down" },
          { status: 503 },
        );
      }),
    );
    const sent = captureQueue();

    await fetchInline(await attioWebhookRequest(personWebhook("p-inline-2"), { "idempotency-key": "inline-2" }));

    expect(refused).toBeGreaterThan(0);
    expect(sf.contacts.size).toBe(0);
    const [backup, retry] = sent;
    expect(backup).toMatchObject({ delaySeconds: INLINE_BACKUP_DELAY_SECONDS, body: { inlineBackup: true } });
    expect(retry?.body).toMatchObject({ kind: "attio.record", recordId: "p-inline-2", dedupeKey: "attio:inline-2:0" });
    expect(retry?.body).not.toHaveProperty("inlineBackup");
    // The queue's retry policy applies from its first delivery (here: Attio is still down).
    expect(retry?.delaySeconds).toBeUndefined();
    expect(await deliver([backup?.body])).toEqual({ acked: 1, retried: 0 });

    // The retry copy syncs the change once Attio answers again.
    down = false;
    expect(await deliver([retry?.body])).toEqual({ acked: 1, retried: 0 });
    expect(sf.contacts.size).toBe(1);
  });

  it("waits in place for a record another run holds, then syncs it, instead of a retry that waits out the lease", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    attio.addPerson("p-inline-5", { first: "Lea", last: "Holm", email: "lea@inline.example", title: "COO" });
    const sent = captureQueue();
    await fetchInline(await attioWebhookRequest(personWebhook("p-inline-5"), { "idempotency-key": "inline-5a" }));
    const pair = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, "p-inline-5")).get();
    const lease = `pair:${pair?.id}`;
    // Another run holds the record for 1.2 s of its 20 s lease.
    expect(await acquireLeases(env.RECORD_LOCK, "other-run", [lease], 20_000)).toMatchObject({ busy: [] });
    setTimeout(() => void releaseLeases(env.RECORD_LOCK, "other-run", [lease]), 1_200);
    attio.setJobTitle("p-inline-5", "CEO");

    await fetchInline(await attioWebhookRequest(personWebhook("p-inline-5"), { "idempotency-key": "inline-5b" }));

    expect(sf.contacts.get(pair?.sfRecordId ?? "")?.["Title"]).toBe("CEO");
    // The two backups only: no retry copy.
    expect(sent).toHaveLength(2);
    expect(sent.every((s) => (s.body as { inlineBackup?: boolean }).inlineBackup)).toBe(true);
  });

  it("syncs a backup whose inline run left no mark (the invocation died), as any queued change", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    attio.addPerson("p-inline-3", { first: "Ola", last: "Berg", email: "ola@inline.example" });
    const event = personWebhook("p-inline-3").events[0] as (typeof webhook.events)[number];
    const body = {
      kind: "attio.record",
      eventType: event.event_type,
      objectId: event.id.object_id,
      recordId: "p-inline-3",
      actor: event.actor,
      inlineBackup: true,
      dedupeKey: "attio:inline-3:0",
      correlationId: "inline-3",
      receivedAt: new Date().toISOString(),
    };

    expect(await deliver([body])).toEqual({ acked: 1, retried: 0 });
    expect(sf.contacts.size).toBe(1);
  });

  it(`leaves a delivery of more than ${INLINE_MAX_MESSAGES} changes, and integrations' changes, to the queue`, async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const sent = captureQueue();
    const event = webhook.events[0] as (typeof webhook.events)[number];
    const burst = {
      webhook_id: webhook.webhook_id,
      events: Array.from({ length: INLINE_MAX_MESSAGES + 1 }, (_, i) => ({
        ...event,
        id: { ...event.id, record_id: `p-burst-${i}` },
      })),
    };
    await fetchInline(await attioWebhookRequest(burst, { "idempotency-key": "inline-burst" }));
    const integration = {
      ...personWebhook("p-integration"),
      events: [{ ...event, actor: { type: "api-token", id: "t-1" } }],
    };
    await fetchInline(await attioWebhookRequest(integration, { "idempotency-key": "inline-integration" }));

    expect(sent).toHaveLength(INLINE_MAX_MESSAGES + 2);
    expect(sent.some((s) => (s.body as { inlineBackup?: boolean }).inlineBackup)).toBe(false);
    const marks = await handledAt(sent.map((s) => (s.body as { dedupeKey: string }).dedupeKey));
    expect([...marks.values()].every((at) => at === null)).toBe(true);
  });

  it("syncs a person's Salesforce change inline; our own change's echo waits in the queue", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    const sent = captureQueue();
    const person = structuredClone(cdcEvent);
    person.payload.ChangeEventHeader.recordIds = ["003Hs0001InLn01AAA"];
    person.payload.ChangeEventHeader.transactionKey = "tx-inline-person";
    const own = structuredClone(cdcEvent);
    own.payload.ChangeEventHeader.recordIds = ["003Hs0001InLn02AAA"];
    own.payload.ChangeEventHeader.transactionKey = "tx-inline-own";
    own.payload.ChangeEventHeader.changeOrigin = "com/salesforce/api/rest/62.0;client=attio-sfdc";
    own.event.replayId = person.event.replayId + 1;

    await fetchInline(await relayRequest({ events: [person, own] }));

    const bodies = sent.map((s) => ({ body: s.body as Record<string, unknown>, delay: s.delaySeconds }));
    const inline = bodies.filter((b) => b.body["inlineBackup"]);
    expect(inline).toHaveLength(1);
    expect(inline[0]).toMatchObject({
      delay: INLINE_BACKUP_DELAY_SECONDS,
      body: { header: { recordIds: ["003Hs0001InLn01AAA"] } },
    });
    // The run read the Contact the person changed (it is not in the fake: nothing to sync) and recorded it as handled.
    expect(sf.calls.some((c) => c.method === "GET")).toBe(true);
    const marks = await handledAt([inline[0]?.body["dedupeKey"] as string]);
    expect([...marks.values()]).toEqual([expect.any(String)]);
  });
});
