import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import webhook from "../../fixtures/attio/webhook-record-updated.json";
import { OWN_ACTOR_KEY } from "../../src/attio/own-actor.ts";
import worker from "../../src/index.ts";
import { ECHO_FILTER_KEY } from "../../src/sync/echo-filter.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN, attioWebhookRequest } from "../helpers/signing.ts";

const OURS = { type: "api-token", id: "7e2d4c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f" } as const;
const RECORD_EVENTS = ["record.created", "record.updated", "record.deleted", "record.merged"];
const notOurs = { field: "actor.id", operator: "not_equals", value: OURS.id };

// A person's change is consumed in the background: let it finish while the fakes still answer.
afterEach(() => drainQueue());
afterEach(async () => {
  await env.CURSORS.delete(OWN_ACTOR_KEY);
  await env.CURSORS.delete(ECHO_FILTER_KEY);
});

/** Attio with one webhook (`webhookId`) pointing at the Worker, and our actor already learned. */
async function setUp(webhookId: string, options: { scope?: string } = {}) {
  const attio = fakeAttio({
    ...options,
    webhooks: [
      {
        id: webhookId,
        target_url: "https://worker.test/webhooks/attio",
        status: "active",
        event_types: [...RECORD_EVENTS, "object-attribute.updated"],
      },
    ],
  });
  server.use(...attio.handlers, ...fakeSalesforce().handlers);
  await env.CURSORS.put(OWN_ACTOR_KEY, JSON.stringify(OURS));
  return attio;
}

/** A delivery through `webhookId` of one event of `actor` (a company's, which the consumer skips). */
async function deliver(webhookId: string, actor: { type: string; id: string }, vars: Record<string, string> = {}) {
  const event = webhook.events[0] as (typeof webhook.events)[number];
  const body = { webhook_id: webhookId, events: [{ ...event, event_type: "record.created", actor }] };
  const ctx = createExecutionContext();
  const response = await worker.fetch(await attioWebhookRequest(body), { ...env, ...vars } as Env, ctx);
  // The filter is set in the background (waitUntil): wait for it.
  await waitOnExecutionContext(ctx);
  return (await response.json()) as { own_echoes: number };
}

function webhookCalls(attio: ReturnType<typeof fakeAttio>) {
  return attio.calls.filter((c) => c.path.startsWith("/v2/webhooks/")).map((c) => `${c.method} ${c.path}`);
}

async function echoFilterStatus() {
  const response = await exports.default.fetch("https://worker.test/api/v1/status", {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { attio_echo_filter: unknown[] | null }).attio_echo_filter;
}

describe("the Attio webhook leaves out the echoes of our own writes", () => {
  it("adds actor.id not_equals <our actor> to the record subscriptions once, on the first echo", async () => {
    const attio = await setUp("0a1b2c3d-0000-4000-8000-000000000001");

    expect((await deliver("0a1b2c3d-0000-4000-8000-000000000001", OURS)).own_echoes).toBe(1);
    // A second echo (delivered before Attio applied the change) starts no second check.
    await deliver("0a1b2c3d-0000-4000-8000-000000000001", OURS);

    expect(webhookCalls(attio)).toEqual([
      "GET /v2/webhooks/0a1b2c3d-0000-4000-8000-000000000001",
      "PATCH /v2/webhooks/0a1b2c3d-0000-4000-8000-000000000001",
    ]);
    expect(attio.webhooks[0]?.subscriptions).toEqual([
      // Merges keep every actor: the Worker never merges, so one by our token is someone else's.
      ...RECORD_EVENTS.map((event_type) => ({
        event_type,
        filter: event_type === "record.merged" ? null : { $and: [notOurs] },
      })),
      { event_type: "object-attribute.updated", filter: null },
    ]);
    expect(await echoFilterStatus()).toEqual([
      expect.objectContaining({
        webhook_id: "0a1b2c3d-0000-4000-8000-000000000001",
        state: "filtered",
        unfiltered_events: [],
        reason: null,
      }),
    ]);
  });

  it("touches no webhook for other people's changes", async () => {
    const attio = await setUp("0a1b2c3d-0000-4000-8000-000000000002");

    const answer = await deliver("0a1b2c3d-0000-4000-8000-000000000002", {
      type: "workspace-member",
      id: "9d4a1f0e-2c3b-4d5e-8f6a-7b8c9d0e1f23",
    });

    expect(answer.own_echoes).toBe(0);
    expect(webhookCalls(attio)).toEqual([]);
    expect(attio.webhooks[0]?.subscriptions.every((s) => s.filter === null)).toBe(true);
  });

  it("leaves the webhook alone with ATTIO_ECHO_FILTER=off", async () => {
    const attio = await setUp("0a1b2c3d-0000-4000-8000-000000000004");

    const answer = await deliver("0a1b2c3d-0000-4000-8000-000000000004", OURS, { ATTIO_ECHO_FILTER: "off" });

    expect(answer.own_echoes).toBe(1);
    expect(webhookCalls(attio)).toEqual([]);
    expect(attio.webhooks[0]?.subscriptions.every((s) => s.filter === null)).toBe(true);
  });

  it("says why on /api/v1/status when the key may not change the webhook; the echoes are still dropped", async () => {
    const attio = await setUp("0a1b2c3d-0000-4000-8000-000000000003", {
      scope: "record_permission:read-write object_configuration:read user_management:read webhook:read",
    });

    expect((await deliver("0a1b2c3d-0000-4000-8000-000000000003", OURS)).own_echoes).toBe(1);

    expect(webhookCalls(attio)).toEqual([
      "GET /v2/webhooks/0a1b2c3d-0000-4000-8000-000000000003",
      "PATCH /v2/webhooks/0a1b2c3d-0000-4000-8000-000000000003",
    ]);
    expect(attio.webhooks[0]?.subscriptions.every((s) => s.filter === null)).toBe(true);
    expect(await echoFilterStatus()).toEqual([
      expect.objectContaining({
        webhook_id: "0a1b2c3d-0000-4000-8000-000000000003",
        state: "failed",
        reason: expect.stringContaining("webhook:read-write"),
      }),
    ]);
  });
});
