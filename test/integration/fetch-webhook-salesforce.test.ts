import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import cdcEvent from "../../fixtures/salesforce/cdc-contact-update-cometd.json";
import { OWN_CHANGE_DELAY_SECONDS } from "../../src/http/webhook-salesforce.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { relayRequest } from "../helpers/signing.ts";

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
    expect(await response.json()).toEqual({ received: 2, catchup_requested: [], enqueued: 2, duplicates: 0 });
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

  it("answers 400 naming the field when a change event is malformed", async () => {
    const spy = vi.spyOn(env.SYNC_QUEUE, "sendBatch");
    const bad = events(2);
    (bad[1]?.payload.ChangeEventHeader as Record<string, unknown>)["changeType"] = "RENAME";
    const response = await exports.default.fetch(await relayRequest({ events: bad }));

    expect(response.status).toBe(400);
    const json = (await response.json()) as { error: { message: string } };
    expect(json.error.message).toContain("events.1.payload.ChangeEventHeader.changeType");
    expect(spy).not.toHaveBeenCalled();
  });
});
