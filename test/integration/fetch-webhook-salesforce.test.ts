import { env, exports } from "cloudflare:workers";
import { eq, inArray } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import cdcEvent from "../../fixtures/salesforce/cdc-contact-update-cometd.json";
import { OWN_CHANGE_DELAY_SECONDS } from "../../src/http/webhook-salesforce.ts";
import { openDb } from "../../src/store/db.ts";
import { failures, sfFieldTimes } from "../../src/store/schema.ts";
import type { SalesforceChangeMessage } from "../../src/sync/messages.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { relayRequest } from "../helpers/signing.ts";

const db = openDb(env.DB);

function events(count: number) {
  return Array.from({ length: count }, (_, i) => {
    const event = structuredClone(cdcEvent);
    event.payload.ChangeEventHeader.sequenceNumber = i + 1;
    event.payload.ChangeEventHeader.recordIds = [`003Hs0001Qw7R${String(i).padStart(2, "0")}AAA`];
    event.event.replayId = 48213 + i;
    return event;
  });
}

// The consumer picks up what these tests enqueue; the fakes keep it from reaching the network.
beforeEach(() => server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers));
afterEach(() => vi.restoreAllMocks());
// What a test enqueues is consumed in the background: let it finish while the fakes still answer.
afterEach(() => drainQueue());

describe("POST /webhooks/salesforce (CDC relay)", () => {
  it("accepts a signed batch and enqueues one message per change event", async () => {
    const spy = vi.spyOn(env.SYNC_QUEUE, "sendBatch");
    const response = await exports.default.fetch(await relayRequest({ events: events(2) }));

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      received: 2,
      accepted: 2,
      oversized: 0,
      rejected: 0,
      catchup_requested: [],
      enqueued: 2,
      duplicates: 0,
    });
    const bodies = spy.mock.calls.flatMap(([messages]) => [...messages].map((m) => m.body as Record<string, unknown>));
    expect(bodies[0]).toMatchObject({
      kind: "salesforce.change",
      header: { entityName: "Contact", changeType: "UPDATE", changedFields: ["Title", "LastModifiedDate"] },
      fields: { Title: "VP Revenue", LastModifiedDate: "2026-11-20T10:42:17.000Z" },
      replayId: "48213",
    });
  });

  it("delays the events of our own client's transactions and bundles them; anyone else's go alone, at once", async () => {
    const spy = vi.spyOn(env.SYNC_QUEUE, "sendBatch");
    const origins = [
      "com/salesforce/api/bulkapi/62.0;client=attio-sfdc",
      "com/salesforce/api/rest/62.0;client=attio-sfdc-other",
      "com/salesforce/api/soap/62.0;client=SfdcInternalAPI/",
      "com/salesforce/api/rest/62.0;client=attio-sfdc",
    ];
    const batch = events(4).map((event, i) => {
      event.payload.ChangeEventHeader.changeOrigin = origins[i] as string;
      event.payload.ChangeEventHeader.transactionKey = "tx-own-origins";
      return event;
    });
    const response = await exports.default.fetch(await relayRequest({ events: batch }));

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ received: 4, enqueued: 4, duplicates: 0 });
    const sent = spy.mock.calls.flatMap(([messages]) => [...messages]);
    const origin = (body: unknown) => (body as { header: { changeOrigin: string } }).header.changeOrigin;
    expect(sent).toHaveLength(3);
    expect(sent.slice(0, 2).map((m) => [origin(m.body), m.delaySeconds])).toEqual([
      [origins[1], undefined],
      [origins[2], undefined],
    ]);
    const bundle = sent[2]?.body as { kind: string; attempt: number; events: unknown[] };
    expect(sent[2]?.delaySeconds).toBe(OWN_CHANGE_DELAY_SECONDS);
    // Serialized by V8: a local queue passes it through as bytes instead of parsing it again.
    expect(sent[2]?.contentType).toBe("json");
    expect(bundle).toMatchObject({ kind: "salesforce.changes", attempt: 1 });
    expect(bundle.events.map(origin)).toEqual([origins[0], origins[3]]);
  });

  it("packs a Bulk job's echoes into bundles of at most 50 events", async () => {
    const spy = vi.spyOn(env.SYNC_QUEUE, "sendBatch");
    const batch = events(120).map((event) => {
      event.payload.ChangeEventHeader.changeOrigin = "com/salesforce/api/bulkapi/62.0;client=attio-sfdc";
      event.payload.ChangeEventHeader.transactionKey = "tx-bulk-echoes";
      return event;
    });
    const response = await exports.default.fetch(await relayRequest({ events: batch }));

    expect(await response.json()).toMatchObject({ received: 120, enqueued: 120 });
    const bodies = spy.mock.calls.flatMap(([messages]) => [...messages].map((m) => m.body as { events: unknown[] }));
    expect(bodies.map((b) => b.events.length)).toEqual([50, 50, 20]);
  });

  it("drops events already delivered (same transaction and sequence)", async () => {
    const spy = vi.spyOn(env.SYNC_QUEUE, "sendBatch");
    const batch = {
      events: events(3).map((e) => ({
        ...e,
        payload: { ...e.payload, ChangeEventHeader: { ...e.payload.ChangeEventHeader, transactionKey: "tx-dup" } },
      })),
    };
    await exports.default.fetch(await relayRequest(batch));
    const again = await exports.default.fetch(await relayRequest(batch));

    expect(await again.json()).toMatchObject({ enqueued: 0, duplicates: 3 });
    expect(spy.mock.calls.flatMap(([m]) => [...m])).toHaveLength(3);
  });

  it("turns a catch-up request from the relay into an immediate catch-up of each object", async () => {
    const spy = vi.spyOn(env.SYNC_QUEUE, "sendBatch");
    const response = await exports.default.fetch(await relayRequest({ events: [], catchup: ["Account", "Contact"] }));

    expect(await response.json()).toMatchObject({ catchup_requested: ["Account", "Contact"] });
    const bodies = spy.mock.calls.flatMap(([messages]) => [...messages].map((m) => m.body as Record<string, unknown>));
    expect(bodies.map((b) => [b["kind"], b["salesforceObject"]])).toEqual([
      ["catchup.run", "Account"],
      ["catchup.run", "Contact"],
    ]);
  });

  it.each([
    ["a wrong secret", { secret: "not-the-relay-secret" }],
    ["a timestamp 6 minutes old", { timestamp: Math.floor(Date.now() / 1000) - 360 }],
    ["a timestamp 6 minutes ahead", { timestamp: Math.floor(Date.now() / 1000) + 360 }],
  ])("answers 401 to %s and enqueues nothing", async (_name, options) => {
    const spy = vi.spyOn(env.SYNC_QUEUE, "sendBatch");
    const response = await exports.default.fetch(await relayRequest({ events: events(1) }, options));

    expect(response.status).toBe(401);
    expect(spy).not.toHaveBeenCalled();
  });

  it("answers 401 without the signature headers", async () => {
    const request = new Request("https://worker.test/webhooks/salesforce", {
      method: "POST",
      body: JSON.stringify({ events: [] }),
    });
    expect((await exports.default.fetch(request)).status).toBe(401);
  });

  it("records an event with an unknown changeType as a failure row, enqueues the others and answers 200", async () => {
    const spy = vi.spyOn(env.SYNC_QUEUE, "sendBatch");
    const batch = events(3).map((event) => {
      event.payload.ChangeEventHeader.transactionKey = "tx-one-bad";
      return event;
    });
    (batch[1]?.payload.ChangeEventHeader as Record<string, unknown>)["changeType"] = "RENAME";
    const response = await exports.default.fetch(await relayRequest({ events: batch }));

    expect(response.status).toBe(200);
    const json = (await response.json()) as Record<string, unknown>;
    expect(json).toMatchObject({ received: 3, accepted: 2, oversized: 0, rejected: 1, enqueued: 2 });
    expect(json["rejections"]).toEqual([
      { index: 1, reason: expect.stringContaining("events.1.payload.ChangeEventHeader.changeType") },
    ]);
    const bodies = spy.mock.calls.flatMap(([messages]) => [...messages].map((m) => m.body as SalesforceChangeMessage));
    expect(bodies.map((b) => b.header.sequenceNumber)).toEqual([1, 3]);
    const row = await openDb(env.DB).select().from(failures).where(eq(failures.id, "relay:tx-one-bad:2:Contact")).get();
    expect(row).toMatchObject({
      status: "open",
      messageKind: "relay.event",
      errorCode: "bad_request",
      recordKey: "salesforce:Contact:003Hs0001Qw7R01AAA",
    });
    expect(row?.errorMessage).toContain("changeType");

    // The relay sends the same request again (it never saw the answer): one row, nothing enqueued twice.
    const again = await exports.default.fetch(await relayRequest({ events: batch }));
    expect(await again.json()).toMatchObject({ rejected: 1, enqueued: 0, duplicates: 2 });
    const rows = await openDb(env.DB).select().from(failures).where(eq(failures.messageKind, "relay.event")).all();
    expect(rows.filter((r) => r.id === "relay:tx-one-bad:2:Contact")).toHaveLength(1);
  });

  it.each([
    ["events that is not a list", { events: { 0: cdcEvent } }],
    ["no events at all", { catchup: ["Account"] }],
    ["a body that is not JSON", "{events: ["],
  ])("answers 400 to %s (not a relay post at all) and enqueues nothing", async (_name, body) => {
    const spy = vi.spyOn(env.SYNC_QUEUE, "sendBatch");
    const response = await exports.default.fetch(await relayRequest(body));

    expect(response.status).toBe(400);
    expect(spy).not.toHaveBeenCalled();
  });

  it("enqueues a 200 KB change event without its values among normal ones; the consumer reads the record and syncs it", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    const person = attio.addPerson("p-long-text", { email: "long-text@northwind.example", title: "CTO" });
    await runQueue([personChanged("p-long-text")]);
    const [contactId = ""] = [...sf.contacts.keys()];
    const contact = sf.contacts.get(contactId);
    if (contact) contact["Title"] = "VP Sales";
    const spy = vi.spyOn(env.SYNC_QUEUE, "sendBatch");
    const queries = () => sf.calls.filter((c) => c.path.endsWith("/query")).length;
    const before = queries();

    const big = structuredClone(cdcEvent) as typeof cdcEvent & { payload: Record<string, unknown> };
    big.payload.ChangeEventHeader.recordIds = [contactId];
    big.payload.ChangeEventHeader.transactionKey = "tx-long-text";
    big.payload.ChangeEventHeader.changedFields = ["Title", "Description", "LastModifiedDate"];
    big.payload.Title = "VP Sales";
    // A long text area holds up to 131,072 characters; in UTF-8 that can be far more bytes.
    big.payload["Description"] = "Notes from the quarterly review. ".repeat(6_100);
    const normal = events(2).map((event) => {
      event.payload.ChangeEventHeader.transactionKey = "tx-normal-beside-long-text";
      return event;
    });
    const batch = [...normal, big];
    const response = await exports.default.fetch(await relayRequest({ events: batch }));

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ received: 3, accepted: 3, oversized: 1, rejected: 0, enqueued: 3 });
    const bodies = spy.mock.calls.flatMap(([messages]) => [...messages].map((m) => m.body as SalesforceChangeMessage));
    expect(bodies.map((b) => b.header.recordIds[0])).toEqual(["003Hs0001Qw7R00AAA", "003Hs0001Qw7R01AAA", contactId]);
    expect(bodies[0]?.fields).toMatchObject({ Title: "VP Revenue" });
    expect(bodies[2]?.fields).toEqual({});
    expect(bodies[2]?.header.changedFields).toContain("Description");

    await drainQueue();
    // Synced by reading Salesforce: the Title reached Attio although the message carried no values.
    expect(queries()).toBeGreaterThan(before);
    expect(JSON.stringify(person.values.job_title)).toContain("VP Sales");
  });

  it("a sendBatch that fails is tried again alone, and a request retried after a failed send enqueues only what was not sent", async () => {
    const batch = events(150).map((event) => {
      event.payload.ChangeEventHeader.transactionKey = "tx-send-fails";
      return event;
    });
    const sendBatch = env.SYNC_QUEUE.sendBatch.bind(env.SYNC_QUEUE);
    const sent: unknown[] = [];
    let calls = 0;
    let failing = 1;
    vi.spyOn(env.SYNC_QUEUE, "sendBatch").mockImplementation(async (messages, options) => {
      calls += 1;
      // The second part fails `failing` times in a row.
      if (calls >= 2 && failing > 0) {
        failing -= 1;
        throw new Error("Queue send failed: internal error");
      }
      sent.push(...[...messages].map((m) => m.body));
      return sendBatch(messages, options);
    });

    // A transient failure: the part is sent again, the first part is not.
    const first = await exports.default.fetch(await relayRequest({ events: batch.slice(0, 120) }));
    expect(first.status).toBe(200);
    expect(calls).toBe(3);
    expect(sent).toHaveLength(120);

    // A lasting failure: the Worker answers 503; the relay's retry enqueues only the part not sent.
    const rest = batch.slice(120).concat(
      events(150)
        .slice(0, 100)
        .map((event) => {
          event.payload.ChangeEventHeader.transactionKey = "tx-send-fails-2";
          return event;
        }),
    );
    calls = 0;
    failing = 10;
    const failed = await exports.default.fetch(await relayRequest({ events: rest }));
    expect(failed.status).toBe(503);
    expect(sent).toHaveLength(220);
    failing = 0;
    const retried = await exports.default.fetch(await relayRequest({ events: rest }));
    expect(await retried.json()).toMatchObject({ enqueued: 30, duplicates: 100 });
    expect(sent).toHaveLength(250);
  });

  it("keeps when each event set each field (our own updates too, not our own creates; not values too large), before queueing", async () => {
    const event = (
      n: number,
      origin: string,
      fields: Record<string, unknown>,
      commit: number,
      changeType = "UPDATE",
    ) => {
      const e = structuredClone(cdcEvent) as unknown as {
        payload: Record<string, unknown> & { ChangeEventHeader: Record<string, unknown> };
        event: { replayId: number };
      };
      e.payload = {
        ...fields,
        ChangeEventHeader: {
          ...e.payload.ChangeEventHeader,
          transactionKey: `tx-times-${n}`,
          changeType,
          changeOrigin: origin,
          commitTimestamp: commit,
          // Compound fields are named by component, as Change Data Capture names them.
          changedFields: Object.entries(fields).flatMap(([name, value]) =>
            value && typeof value === "object" ? Object.keys(value).map((part) => `${name}.${part}`) : [name],
          ),
          nulledFields: n === 1 ? ["Phone"] : [],
          recordIds: [`003Hs00TIMES${n}AAA`],
        },
      };
      e.event.replayId = 77000 + n;
      return e;
    };
    const response = await exports.default.fetch(
      await relayRequest({
        events: [
          event(1, "com/salesforce/ui", { Title: "VP", MailingAddress: { City: "Oslo" } }, 1_000),
          event(2, "com/salesforce/api/rest/62.0;client=attio-sfdc", { Title: "Ours" }, 2_000),
          event(3, "com/salesforce/ui", { Description: "x".repeat(2_000) }, 3_000),
          event(4, "com/salesforce/api/rest/62.0;client=attio-sfdc", { Title: "Created" }, 4_000, "CREATE"),
        ],
      }),
    );
    expect(response.status).toBe(200);
    const rows = await db
      .select()
      .from(sfFieldTimes)
      .where(
        inArray(sfFieldTimes.recordId, [
          "003Hs00TIMES1AAA",
          "003Hs00TIMES2AAA",
          "003Hs00TIMES3AAA",
          "003Hs00TIMES4AAA",
        ]),
      )
      .all();
    expect(rows.map((r) => [r.recordId, r.field, r.at, r.value]).sort()).toEqual([
      ["003Hs00TIMES1AAA", "MailingCity", 1_000, '"Oslo"'],
      ["003Hs00TIMES1AAA", "Phone", 1_000, "null"],
      ["003Hs00TIMES1AAA", "Title", 1_000, '"VP"'],
      ["003Hs00TIMES2AAA", "Title", 2_000, '"Ours"'],
      ["003Hs00TIMES3AAA", "Description", 3_000, null],
    ]);

    // An older event redelivered late changes nothing; a newer one replaces the time.
    const older = event(1, "com/salesforce/ui", { Title: "Older" }, 500);
    const newer = event(1, "com/salesforce/ui", { Title: "Newer" }, 5_000);
    newer.payload.ChangeEventHeader["transactionKey"] = "tx-times-1b";
    await exports.default.fetch(await relayRequest({ events: [older, newer] }));
    const title = await db.select().from(sfFieldTimes).where(eq(sfFieldTimes.recordId, "003Hs00TIMES1AAA")).all();
    expect(title.find((r) => r.field === "Title")).toMatchObject({ at: 5_000, value: '"Newer"' });
  });
});
