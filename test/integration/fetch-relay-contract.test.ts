import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import create from "../../fixtures/relay/pubsub-account-create.json";
import remove from "../../fixtures/relay/pubsub-account-delete.json";
import gapOverflow from "../../fixtures/relay/pubsub-account-gap-overflow.json";
import gapUpdate from "../../fixtures/relay/pubsub-account-gap-update.json";
import update from "../../fixtures/relay/pubsub-account-update.json";
import { type PubSubChangeEvent, toContractEvent } from "../../scripts/relay/convert.ts";
import { signRelayRequest } from "../../scripts/relay/signing.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { RELAY_SECRET } from "../helpers/signing.ts";

// What a test enqueues is consumed in the background: let it finish while the fakes still answer.
afterEach(() => drainQueue());

/** What the relay program itself sends (its converter and its signer), posted to the Worker's real route. */
async function postAsRelay(events: PubSubChangeEvent[], nowMs = Date.now()) {
  const raw = JSON.stringify({ events: events.map(toContractEvent) });
  return exports.default.fetch("https://worker.test/webhooks/salesforce", {
    method: "POST",
    headers: { "content-type": "application/json", ...signRelayRequest(RELAY_SECRET, raw, nowMs) },
    body: raw,
  });
}

beforeEach(() => server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers));
afterEach(() => vi.restoreAllMocks());

describe("the CDC relay's output against the Worker's real route", () => {
  it("accepts converted Pub/Sub events (create, update, delete, gap) signed by the relay's signer", async () => {
    const spy = vi.spyOn(env.SYNC_QUEUE, "sendBatch");
    const events = [create, update, remove, gapUpdate] as unknown as PubSubChangeEvent[];

    const response = await postAsRelay(events);

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ received: 4, enqueued: 4, duplicates: 0 });
    const bodies = spy.mock.calls.flatMap(([messages]) =>
      [...messages].map((m) => m.body as { header: { changeType: string } }),
    );
    expect(bodies.map((b) => b.header.changeType)).toEqual(["CREATE", "UPDATE", "DELETE", "GAP_UPDATE"]);
  });

  it("accepts an overflow event that names no records", async () => {
    const response = await postAsRelay([gapOverflow as unknown as PubSubChangeEvent]);
    expect(response.status).toBe(200);
  });

  it("refuses the relay's request once its timestamp is more than 5 minutes old", async () => {
    const response = await postAsRelay([update as unknown as PubSubChangeEvent], Date.now() - 6 * 60_000);
    expect(response.status).toBe(401);
  });
});
