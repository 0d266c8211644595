import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import webhook from "../../fixtures/attio/webhook-record-updated.json";
import { OWN_ACTOR_KEY } from "../../src/attio/own-actor.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { attioWebhookRequest, relayRequest } from "../helpers/signing.ts";

afterEach(() => drainQueue());
beforeEach(() => clearTokenCache());

/** The API token the fake Attio stamps on the values our writes store. */
const FAKE_TOKEN_ACTOR = { type: "api-token", id: "7e2d4c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f" };

describe("our own Attio actor, learned from updates", () => {
  it("a sync that only updates people in Attio learns it after two records, and drops the echoes from then on", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    const ids = ["p-own-1", "p-own-2"];
    for (const id of ids) attio.addPerson(id, { email: `${id}@northwind.example`, title: "Analyst" });
    await runQueue(ids.map((id) => personChanged(id)));
    // Linked by creating Contacts: no Attio record was created, so nothing taught the actor yet.
    expect(await env.CURSORS.get(OWN_ACTOR_KEY)).toBeNull();

    const contactOf = (id: string) =>
      [...sf.contacts.entries()].find(([, c]) => c["Email"] === `${id}@northwind.example`)?.[0] ?? "";
    const events = ids.map((id, n) => {
      const contactId = contactOf(id);
      sf.contacts.set(contactId, { ...sf.contacts.get(contactId), Title: `Director ${n}` });
      return {
        payload: {
          Title: `Director ${n}`,
          ChangeEventHeader: {
            entityName: "Contact",
            recordIds: [contactId],
            changeType: "UPDATE",
            changeOrigin: "com/salesforce/ui",
            transactionKey: `tx-own-actor-${n}`,
            sequenceNumber: 1,
            commitTimestamp: Date.now(),
            commitUser: "005Hs00000B2cDeIAF",
            changedFields: ["Title"],
          },
        },
        event: { replayId: 4000 + n },
      };
    });
    const response = await exports.default.fetch(await relayRequest({ events }));
    expect(response.status).toBe(200);
    await drainQueue();

    expect(ids.map((id) => attio.people.get(id)?.values.job_title[0]?.value)).toEqual(["Director 0", "Director 1"]);
    expect(JSON.parse((await env.CURSORS.get(OWN_ACTOR_KEY)) ?? "null")).toEqual(FAKE_TOKEN_ACTOR);

    // The echo of one of those writes now stops at the webhook.
    const echo = { ...webhook.events[0], actor: FAKE_TOKEN_ACTOR };
    const answer = await exports.default.fetch(
      await attioWebhookRequest({ webhook_id: webhook.webhook_id, events: [echo] }),
    );
    expect(await answer.json()).toMatchObject({ received: 1, own_echoes: 1, enqueued: 0 });
  });
});
