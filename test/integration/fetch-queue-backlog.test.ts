import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { HttpResponse, http } from "msw";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import webhook from "../../fixtures/attio/webhook-record-updated.json";
import worker from "../../src/index.ts";
import { forgetRuntime } from "../../src/sync/runtime.ts";
import { COMPANIES_OBJECT_ID, fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce, SF_INSTANCE } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN, attioWebhookRequest } from "../helpers/signing.ts";

/**
 * The queue backlog estimate of GET /api/v1/status through the Worker's own handlers: a webhook's
 * messages raise it, the consumer's acks lower it, a retry (or an invocation that throws) leaves
 * it, and a message delivered again is settled once per delivery it is acked on.
 */

const RUN = crypto.randomUUID().slice(0, 8);

beforeEach(() => server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers));
afterEach(() => drainQueue());

interface Backlog {
  estimate: number;
  sent: number;
  settled: number;
}

async function backlog(): Promise<Backlog> {
  const response = await exports.default.fetch("https://worker.test/api/v1/status", {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { queue_backlog: Backlog };
  expect(body.queue_backlog.estimate).toBe(Math.max(0, body.queue_backlog.sent - body.queue_backlog.settled));
  return body.queue_backlog;
}

/** Messages waiting by the counters, before the clamp at zero: what a change moves. */
const waiting = (b: Backlog) => b.sent - b.settled;

/** A queue that keeps what is sent to it instead of delivering it, so the test consumes it itself. */
function holdingQueue() {
  const held: unknown[] = [];
  const metadata = { metrics: { backlogCount: 0, backlogBytes: 0 } };
  const queue: Queue = {
    metrics: async () => metadata.metrics,
    send: async (body) => {
      held.push(body);
      return { metadata };
    },
    sendBatch: async (messages) => {
      for (const m of messages) held.push(m.body);
      return { metadata };
    },
  };
  return { queue, held };
}

/** Events about companies: the consumer acks them without syncing (no company mapping). */
function companyEvents(count: number) {
  return {
    webhook_id: webhook.webhook_id,
    events: Array.from({ length: count }, (_, i) => ({
      ...webhook.events[0],
      id: { ...webhook.events[0]?.id, object_id: COMPANIES_OBJECT_ID, record_id: `backlog-${RUN}-${i}` },
    })),
  };
}

let sequence = 0;
/** Delivers `bodies` to the Worker's queue handler as one batch; `vars` overrides the env. */
async function deliver(bodies: unknown[], options: { attempts?: number; vars?: Record<string, string> } = {}) {
  const batch = createMessageBatch(
    "attio-sfdc-sync",
    bodies.map((body) => ({
      id: `backlog-${RUN}-${++sequence}`,
      timestamp: new Date(),
      attempts: options.attempts ?? 1,
      body,
    })),
  );
  const ctx = createExecutionContext();
  const threw = await worker.queue(batch, { ...env, ...options.vars }, ctx).then(
    () => false,
    () => true,
  );
  return { threw, result: await getQueueResult(batch, ctx) };
}

describe("the queue backlog estimate", () => {
  it("rises by each message a webhook enqueues and falls as the consumer acks them", async () => {
    const { queue, held } = holdingQueue();
    const before = await backlog();
    const response = await worker.fetch(
      await attioWebhookRequest(companyEvents(3), { "idempotency-key": `backlog-${RUN}` }),
      { ...env, SYNC_QUEUE: queue },
      createExecutionContext(),
    );
    expect(response.status).toBe(200);
    expect(held).toHaveLength(3);
    const queued = await backlog();
    expect(queued.sent - before.sent).toBe(3);
    expect(waiting(queued) - waiting(before)).toBe(3);

    // The same delivery again: deduplicated, nothing sent, the estimate does not move.
    await worker.fetch(
      await attioWebhookRequest(companyEvents(3), { "idempotency-key": `backlog-${RUN}` }),
      { ...env, SYNC_QUEUE: queue },
      createExecutionContext(),
    );
    expect(held).toHaveLength(3);
    expect(waiting(await backlog())).toBe(waiting(queued));

    // An invocation that throws (here: an invalid configuration) settles nothing: Queues retries it.
    const failed = await deliver(held, { vars: { SYNC_DIRECTION: "sideways" } });
    expect(failed.threw).toBe(true);
    expect(waiting(await backlog())).toBe(waiting(queued));

    // Consumed: each acked message is settled.
    const consumed = await deliver(held);
    expect(consumed.threw).toBe(false);
    expect(consumed.result.explicitAcks).toHaveLength(3);
    const after = await backlog();
    expect(after.settled - queued.settled).toBe(3);
    expect(waiting(after)).toBe(waiting(before));
  });

  it("leaves a message the consumer retries in the estimate", async () => {
    // Each test describes its own org: nothing learnt from another test's describes.
    const { keys } = await env.CURSORS.list({ prefix: "schema:" });
    await Promise.all(keys.map((key) => env.CURSORS.delete(key.name)));
    forgetRuntime();
    const attio = fakeAttio();
    server.use(
      ...attio.handlers,
      http.get(`${SF_INSTANCE}/services/data/v62.0/sobjects/:object/describe`, () =>
        HttpResponse.json([{ errorCode: "SERVER_UNAVAILABLE", message: "Server unavailable" }], { status: 503 }),
      ),
    );
    attio.addPerson(`backlog-${RUN}-p`, { email: `backlog-${RUN}@northwind.example` });
    const before = await backlog();
    // A message no consumer can parse is recorded as a failure and acked; a change that meets a
    // Salesforce that cannot describe the org is retried.
    const { result } = await deliver([{ kind: "not a message", run: RUN }, personChanged(`backlog-${RUN}-p`)]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(1);
    const after = await backlog();
    expect(after.settled - before.settled).toBe(1);
    expect(after.sent).toBe(before.sent);
  });
});
