import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import webhook from "../../fixtures/attio/webhook-record-updated.json";
import { openDb } from "../../src/store/db.ts";
import { auditLog, idMappings } from "../../src/store/schema.ts";
import { eventually } from "../helpers/eventually.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { attioWebhookRequest } from "../helpers/signing.ts";

// What a test enqueues is consumed in the background: let it finish while the fakes still answer.
afterEach(() => drainQueue());

const db = openDb(env.DB);

describe("webhook -> real local queue -> consumer -> Salesforce", () => {
  it("turns a signed Attio webhook into a Contact, a D1 pair and an audit row", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    const recordId = webhook.events[0]?.id.record_id ?? "";
    attio.addPerson(recordId, {
      first: "Mira",
      last: "Okafor",
      email: "pipeline@northwind.example",
      title: "Head of RevOps",
    });

    const response = await exports.default.fetch(
      await attioWebhookRequest(webhook, { "idempotency-key": "pipeline-1" }),
    );
    expect(response.status).toBe(200);

    const mapping = await eventually(() =>
      db.select().from(idMappings).where(eq(idMappings.attioRecordId, recordId)).get(),
    );
    expect(sf.contacts.get(mapping.sfRecordId)).toMatchObject({
      LastName: "Okafor",
      Email: "pipeline@northwind.example",
    });
    const audit = await db.select().from(auditLog).where(eq(auditLog.attioRecordId, recordId)).all();
    expect(audit.map((a) => a.operation)).toEqual(["create"]);
    expect(audit[0]?.sourceEvent).toMatchObject({ dedupeKey: "attio:pipeline-1:0", eventType: "record.updated" });

    // Attio's retry of the same delivery changes nothing.
    const retry = await exports.default.fetch(await attioWebhookRequest(webhook, { "idempotency-key": "pipeline-1" }));
    expect(await retry.json()).toMatchObject({ enqueued: 0, duplicates: 1 });
    expect(sf.contacts.size).toBe(1);
  });
});
