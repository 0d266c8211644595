import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import webhook from "../../fixtures/attio/webhook-record-updated.json";
import { OWN_ACTOR_KEY } from "../../src/attio/own-actor.ts";
import { INTEGRATION_EVENT_DELAY_SECONDS } from "../../src/http/webhook-attio.ts";
import { hmacSha256Hex } from "../../src/lib/hmac.ts";
import { COMPANIES_OBJECT_ID, fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ATTIO_WEBHOOK_SECRET, attioWebhookRequest } from "../helpers/signing.ts";

/** Events about companies: the consumer skips them, so these tests see only what the route did. */
function companyEvents(count: number, eventType = "record.updated") {
  return {
    webhook_id: webhook.webhook_id,
    events: Array.from({ length: count }, (_, i) => ({
      ...webhook.events[0],
      event_type: eventType,
      id: { ...webhook.events[0]?.id, object_id: COMPANIES_OBJECT_ID, record_id: `c-${i}` },
    })),
  };
}

function spyOnQueue() {
  return vi.spyOn(env.SYNC_QUEUE, "sendBatch");
}

function sentBodies(spy: ReturnType<typeof spyOnQueue>) {
  return spy.mock.calls.flatMap(([messages]) => [...messages].map((m) => m.body as Record<string, unknown>));
}

// The consumer picks up what these tests enqueue; the fakes keep it from reaching the network.
beforeEach(() => server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers));
afterEach(() => vi.restoreAllMocks());
// What a test enqueues is consumed in the background: let it finish while the fakes still answer.
afterEach(() => drainQueue());

describe("POST /webhooks/attio", () => {
  it("accepts a correctly signed delivery and enqueues one message per event", async () => {
    const spy = spyOnQueue();
    const response = await exports.default.fetch(
      await attioWebhookRequest(companyEvents(3), { "idempotency-key": "delivery-batch" }),
    );

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: 3, ignored: 0, enqueued: 3, duplicates: 0, own_echoes: 0 });
    const bodies = sentBodies(spy);
    expect(bodies.map((b) => b["recordId"])).toEqual(["c-0", "c-1", "c-2"]);
    expect(bodies.map((b) => b["dedupeKey"])).toEqual([
      "attio:delivery-batch:0",
      "attio:delivery-batch:1",
      "attio:delivery-batch:2",
    ]);
    expect(bodies[0]).toMatchObject({
      kind: "attio.record",
      eventType: "record.updated",
      objectId: COMPANIES_OBJECT_ID,
    });
  });

  it("holds events made through the API (echoes of our own writes, typically) for a few seconds; people's edits go at once", async () => {
    const spy = spyOnQueue();
    const events = companyEvents(3).events.map((event, i) => ({
      ...event,
      actor: [
        { type: "api-token", id: "7e2d4c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f" },
        { type: "app", id: "a-1" },
        { type: "workspace-member", id: "m-1" },
      ][i],
    }));
    const response = await exports.default.fetch(await attioWebhookRequest({ webhook_id: webhook.webhook_id, events }));

    expect(response.status).toBe(200);
    const sent = spy.mock.calls.flatMap(([messages]) => [...messages]);
    expect(sent.map((m) => [(m.body as { recordId: string }).recordId, m.delaySeconds])).toEqual([
      ["c-0", INTEGRATION_EVENT_DELAY_SECONDS],
      ["c-1", INTEGRATION_EVENT_DELAY_SECONDS],
      ["c-2", undefined],
    ]);
  });

  it("drops the echoes of our own writes once our actor is known, and queues everyone else's", async () => {
    const ours = { type: "api-token", id: "7e2d4c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f" };
    await env.CURSORS.put(OWN_ACTOR_KEY, JSON.stringify(ours));
    const spy = spyOnQueue();
    const events = companyEvents(5).events.map((event, i) => ({
      ...event,
      // A merge by our token is someone else's (the Worker never merges): it is followed.
      event_type: [event.event_type, event.event_type, event.event_type, "record.deleted", "record.merged"][i],
      ...(i === 4 ? { duplicate_record_id: "c-merged-away" } : {}),
      actor: [
        ours,
        { type: "api-token", id: "another-integration" },
        { type: "workspace-member", id: ours.id },
        ours,
        ours,
      ][i],
    }));
    const response = await exports.default.fetch(await attioWebhookRequest({ webhook_id: webhook.webhook_id, events }));

    expect(await response.json()).toEqual({ received: 5, ignored: 2, enqueued: 3, duplicates: 0, own_echoes: 2 });
    expect(sentBodies(spy).map((b) => b["recordId"])).toEqual(["c-1", "c-2", "c-4"]);
    await env.CURSORS.delete(OWN_ACTOR_KEY);
  });

  it("accepts the legacy X-Attio-Signature header", async () => {
    const spy = spyOnQueue();
    const request = await attioWebhookRequest(companyEvents(1), { "idempotency-key": "delivery-legacy" });
    const signature = request.headers.get("attio-signature") ?? "";
    request.headers.delete("attio-signature");
    request.headers.set("x-attio-signature", signature);

    const response = await exports.default.fetch(request);

    expect(response.status).toBe(200);
    expect(sentBodies(spy)).toHaveLength(1);
  });

  it("drops a redelivery with the same Idempotency-Key before doing any work", async () => {
    const spy = spyOnQueue();
    const body = companyEvents(2);
    await exports.default.fetch(await attioWebhookRequest(body, { "idempotency-key": "delivery-twice" }));
    const again = await exports.default.fetch(await attioWebhookRequest(body, { "idempotency-key": "delivery-twice" }));

    expect(await again.json()).toEqual({ received: 2, ignored: 0, enqueued: 0, duplicates: 2, own_echoes: 0 });
    expect(sentBodies(spy)).toHaveLength(2);
  });

  it("enqueues two identical deliveries that carry no Idempotency-Key: two genuine edits look alike", async () => {
    const spy = spyOnQueue();
    const body = companyEvents(1);
    const first = await exports.default.fetch(await attioWebhookRequest(body));
    const second = await exports.default.fetch(await attioWebhookRequest(body));

    expect(await first.json()).toMatchObject({ enqueued: 1, duplicates: 0 });
    expect(await second.json()).toMatchObject({ enqueued: 1, duplicates: 0 });
    expect(sentBodies(spy)).toHaveLength(2);
  });

  it.each([
    ["a wrong signature", { "attio-signature": "0".repeat(64) }],
    ["no signature", { "attio-signature": "" }],
  ])("answers 401 to %s and enqueues nothing", async (_name, headers) => {
    const spy = spyOnQueue();
    const request = await attioWebhookRequest(companyEvents(1));
    for (const [key, value] of Object.entries(headers)) {
      if (value) request.headers.set(key, value);
      else request.headers.delete(key);
    }
    const response = await exports.default.fetch(request);

    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: "unauthorized" } });
    expect(spy).not.toHaveBeenCalled();
  });

  it("answers 401 when the body was changed after signing", async () => {
    const spy = spyOnQueue();
    const signed = await attioWebhookRequest(companyEvents(1));
    const tampered = new Request(signed, { body: JSON.stringify(companyEvents(2)) });
    expect((await exports.default.fetch(tampered)).status).toBe(401);
    expect(spy).not.toHaveBeenCalled();
  });

  it("answers 400 naming the problem for malformed JSON, and enqueues nothing", async () => {
    const spy = spyOnQueue();
    const response = await exports.default.fetch(await attioWebhookRequest("{not json"));

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: "bad_request", message: "Invalid webhook body: body is not valid JSON" },
    });
    expect(spy).not.toHaveBeenCalled();
  });

  it("answers 400 naming the field for a body of the wrong shape, and enqueues nothing", async () => {
    const spy = spyOnQueue();
    const body = companyEvents(2);
    (body.events[1] as { id: Record<string, unknown> }).id["record_id"] = 12;
    const response = await exports.default.fetch(await attioWebhookRequest(body));

    expect(response.status).toBe(400);
    const json = (await response.json()) as { error: { message: string; details: { path: string }[] } };
    expect(json.error.message).toContain("events.1");
    expect(json.error.details.some((i) => i.path.startsWith("events.1"))).toBe(true);
    expect(spy).not.toHaveBeenCalled();
  });

  it("acknowledges events it does not sync (notes, lists) without enqueueing them", async () => {
    const spy = spyOnQueue();
    const body = {
      webhook_id: webhook.webhook_id,
      events: [
        {
          event_type: "note.created",
          id: { workspace_id: "w", note_id: "n-1" },
          actor: { type: "workspace-member", id: "m" },
        },
      ],
    };
    const response = await exports.default.fetch(await attioWebhookRequest(body));

    expect(await response.json()).toEqual({ received: 1, ignored: 1, enqueued: 0, duplicates: 0, own_echoes: 0 });
    expect(sentBodies(spy)).toHaveLength(0);
  });

  it("forgets the cached Attio schemas when an attribute changes (object-attribute.* events)", async () => {
    await env.CURSORS.put("schema:attio:people", JSON.stringify({ value: [] }));
    await env.CURSORS.put("schema:attio-titles:companies:categories", JSON.stringify({ value: ["Software"] }));
    await env.CURSORS.put("schema:salesforce:Contact", JSON.stringify({ value: null }));
    const body = {
      webhook_id: webhook.webhook_id,
      events: [
        {
          event_type: "object-attribute.updated",
          id: { workspace_id: "w", object_id: "o", attribute_id: "a" },
          actor: { type: "workspace-member", id: "m" },
        },
      ],
    };
    const response = await exports.default.fetch(await attioWebhookRequest(body));

    expect(response.status).toBe(200);
    expect(await env.CURSORS.get("schema:attio:people")).toBeNull();
    expect(await env.CURSORS.get("schema:attio-titles:companies:categories")).toBeNull();
    expect(await env.CURSORS.get("schema:salesforce:Contact")).not.toBeNull();
  });
});

describe("webhook secret rotation (ATTIO_WEBHOOK_SECRET_NEXT)", () => {
  const NEXT = "next-attio-webhook-secret";
  const OTHER = "some-other-webhook-secret";

  /** A delivery signed with `secret`, sent to the Worker with `vars` over the test env. */
  async function deliver(secret: string, vars: Record<string, string>): Promise<Response> {
    const worker = (await import("../../src/index.ts")).default;
    const { createExecutionContext, waitOnExecutionContext } = await import("cloudflare:test");
    const raw = JSON.stringify(companyEvents(1));
    const request = new Request("https://worker.test/webhooks/attio", {
      method: "POST",
      headers: { "content-type": "application/json", "attio-signature": await hmacSha256Hex(secret, raw) },
      body: raw,
    });
    const ctx = createExecutionContext();
    const response = await worker.fetch(request, { ...env, ...vars } as Env, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  }

  it("accepts deliveries signed with either secret while both are set, and no other", async () => {
    const rotating = { ATTIO_WEBHOOK_SECRET_NEXT: NEXT };
    expect((await deliver(ATTIO_WEBHOOK_SECRET, rotating)).status).toBe(200);
    expect((await deliver(NEXT, rotating)).status).toBe(200);
    expect((await deliver(OTHER, rotating)).status).toBe(401);
  });

  it("refuses the next webhook's signature until ATTIO_WEBHOOK_SECRET_NEXT is set, and the old one once it is replaced", async () => {
    expect((await deliver(NEXT, {})).status).toBe(401);
    const rotated = { ATTIO_WEBHOOK_SECRET: NEXT };
    expect((await deliver(NEXT, rotated)).status).toBe(200);
    expect((await deliver(ATTIO_WEBHOOK_SECRET, rotated)).status).toBe(401);
  });
});
