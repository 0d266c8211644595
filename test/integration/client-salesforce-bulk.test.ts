import { env } from "cloudflare:workers";
import { HttpResponse, http } from "msw";
import { beforeEach, describe, expect, it } from "vitest";
import invalidSession from "../../fixtures/salesforce/error-invalid-session-401.json";
import { parseEnvConfig } from "../../src/config/env.ts";
import { sharedLimiter } from "../../src/durable/limiter.ts";
import { createLogger } from "../../src/lib/log.ts";
import { SalesforceClient, type SalesforceClientOptions } from "../../src/salesforce/client.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { configVersions } from "../../src/store/schema.ts";
import { buildDeps } from "../../src/sync/deps.ts";
import { loadRuntime } from "../../src/sync/runtime.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce, SF_INSTANCE, SF_LOGIN } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";

/**
 * SalesforceClient's bulk writes against the msw fake: which calls a bulk job makes, that results
 * come back in record order though the fake lists them last first, and that smaller writes stay on
 * sObject Collections.
 */

beforeEach(() => clearTokenCache());

function setup(options: Partial<SalesforceClientOptions> = {}) {
  const sf = fakeSalesforce();
  server.use(...sf.handlers);
  const client = new SalesforceClient({
    token: { loginUrl: SF_LOGIN, clientId: "test-client-id", clientSecret: "test-client-secret" },
    apiVersion: "62.0",
    clientName: "attio-sfdc",
    limiter: sharedLimiter(env.RATE_LIMITER),
    ...options,
  });
  return { sf, client };
}

const contacts = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => ({
    FirstName: `First ${from + i}`,
    LastName: `Last, "${from + i}"`,
    Email: `person${from + i}@example.com`,
  }));

const JOB_CALLS = [
  "POST /jobs/ingest",
  "PUT /jobs/ingest/{id}/batches",
  "PATCH /jobs/ingest/{id}",
  "GET /jobs/ingest/{id}",
  "GET /jobs/ingest/{id}",
  "GET /jobs/ingest/{id}/successfulResults",
];

describe("SalesforceClient bulk writes (Bulk API 2.0)", () => {
  it("creates 2,000 records (the default threshold) in one job; ids come back in record order", async () => {
    const { sf, client } = setup();
    const records = contacts(2000);
    const outcomes = await client.createMany("Contact", records);

    // One job: create, upload, close, two polls, the successful results. Nothing else.
    expect(sf.bulkCalls()).toEqual(JOB_CALLS);
    expect(sf.calls).toHaveLength(JOB_CALLS.length);
    expect(sf.calls.every((call) => call.callOptions === "client=attio-sfdc")).toBe(true);
    expect(sf.calls[0]?.body).toEqual({
      object: "Contact",
      operation: "insert",
      contentType: "CSV",
      columnDelimiter: "COMMA",
      lineEnding: "LF",
    });
    expect(String(sf.calls[1]?.body).split("\n").slice(0, 2)).toEqual([
      "FirstName,LastName,Email",
      'First 0,"Last, ""0""",person0@example.com',
    ]);

    expect(outcomes).toHaveLength(2000);
    expect(sf.contacts.size).toBe(2000);
    for (const [index, outcome] of outcomes.entries()) {
      if (!outcome.ok) throw new Error(`record ${index} failed`);
      expect(sf.contacts.get(outcome.id)?.["Email"]).toBe(`person${index}@example.com`);
    }
    expect(new Set(outcomes.map((o) => (o.ok ? o.id : ""))).size).toBe(2000);
  });

  it("maps a failed row to its own record with Salesforce's error, and reads failed results only then", async () => {
    const { sf, client } = setup({ bulkThreshold: 10 });
    const records: Record<string, string | null>[] = contacts(12);
    records[7] = { FirstName: "No", LastName: null, Email: "nolast@example.com" };
    const outcomes = await client.createMany("Contact", records);

    expect(sf.bulkCalls()).toEqual([...JOB_CALLS, "GET /jobs/ingest/{id}/failedResults"]);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(11);
    const failed = outcomes[7];
    if (!failed || failed.ok) throw new Error("record 7 should have failed");
    expect(failed.error).toMatchObject({
      code: "upstream_rejected",
      retryable: false,
      message: "Salesforce rejected Contact: REQUIRED_FIELD_MISSING Required fields are missing: [LastName]",
      detail: { salesforce_code: "REQUIRED_FIELD_MISSING", fields: ["LastName"] },
    });
    expect(outcomes[8]).toMatchObject({ ok: true });
    const eighth = outcomes[8];
    expect(eighth?.ok && sf.contacts.get(eighth.id)?.["Email"]).toBe("person8@example.com");
  });

  it("updates by Id (null clears, a missing field stays) and upserts by external id in bulk", async () => {
    const { sf, client } = setup({ bulkThreshold: 3 });
    const created = await client.createMany(
      "Contact",
      contacts(3).map((c, i) => ({ ...c, Title: "Before", Attio_Id__c: `rec-${i}` })),
    );
    const ids = created.map((o) => (o.ok ? o.id : ""));
    sf.calls.length = 0;

    const updated = await client.updateMany("Contact", [
      { Id: ids[2] as string, Title: null },
      { Id: ids[0] as string, Title: "Chief" },
      { Id: "003000000000000AAA", Title: "Nobody" },
    ]);
    expect(sf.bulkCalls()).toEqual([...JOB_CALLS, "GET /jobs/ingest/{id}/failedResults"]);
    expect(updated.slice(0, 2)).toEqual([
      { ok: true, id: ids[2] },
      { ok: true, id: ids[0] },
    ]);
    expect(updated[2]).toMatchObject({ ok: false, error: { code: "not_found" } });
    expect(sf.contacts.get(ids[2] as string)?.["Title"]).toBeNull();
    expect(sf.contacts.get(ids[0] as string)?.["Title"]).toBe("Chief");
    expect(sf.contacts.get(ids[1] as string)?.["Title"]).toBe("Before");

    sf.calls.length = 0;
    const upserted = await client.upsertMany("Contact", "Attio_Id__c", [
      { Attio_Id__c: "rec-new", LastName: "Fresh" },
      { Attio_Id__c: "rec-1", LastName: "Renamed" },
      { Attio_Id__c: "rec-0", LastName: "Again" },
    ]);
    expect(sf.calls[0]?.body).toMatchObject({ operation: "upsert", externalIdFieldName: "Attio_Id__c" });
    expect(upserted.slice(1)).toEqual([
      { ok: true, id: ids[1] },
      { ok: true, id: ids[0] },
    ]);
    expect(upserted[0]?.ok && sf.contacts.get(upserted[0].id)?.["LastName"]).toBe("Fresh");
    expect(sf.contacts.size).toBe(4);
  });

  it("gets a new token and goes on when Salesforce answers INVALID_SESSION_ID mid-job", async () => {
    const { sf, client } = setup({ bulkThreshold: 5 });
    let answered = false;
    server.use(
      http.get(`${SF_INSTANCE}/services/data/v62.0/jobs/ingest/:id`, () => {
        if (answered) return undefined;
        answered = true;
        return HttpResponse.json(invalidSession, { status: 401 });
      }),
    );
    const outcomes = await client.createMany("Contact", contacts(5));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(sf.tokensIssued).toBe(2);
    expect(sf.contacts.size).toBe(5);
  });

  it("gives every record of a failed job a result, not processed, and says why", async () => {
    const { sf, client } = setup({ bulkThreshold: 2 });
    const outcomes = await client.createMany("Contact", [
      { LastName: "A", Nope__c: "x" },
      { LastName: "B", Nope__c: "y" },
    ]);
    expect(sf.bulkCalls()).toEqual([...JOB_CALLS.slice(0, 5), "GET /jobs/ingest/{id}/unprocessedrecords"]);
    expect(sf.contacts.size).toBe(0);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({
        ok: false,
        error: {
          code: "upstream_rejected",
          message: expect.stringMatching(
            /job 7505f\w+ ended Failed before processing .*Field name not found : Nope__c$/,
          ),
          detail: { job_state: "Failed" },
        },
      });
    }
  });

  it("takes the threshold from SALESFORCE_BULK_THRESHOLD, and from a stored config document once loaded", async () => {
    const { sf } = setup();
    server.use(...fakeAttio().handlers);
    const deps = buildDeps(env, parseEnvConfig({ ...env, SALESFORCE_BULK_THRESHOLD: "4" }), createLogger("silent"));
    await deps.salesforce.createMany("Contact", contacts(3));
    expect(sf.bulkCalls()).toEqual([]);
    await deps.salesforce.createMany("Contact", contacts(4));
    expect(sf.bulkCalls()).toHaveLength(JOB_CALLS.length);

    await openDb(env.DB)
      .insert(configVersions)
      .values({ kind: "config", document: { toml: "[salesforce]\nbulk_threshold = 2\n" } });
    await loadRuntime(deps, env.CURSORS);
    sf.calls.length = 0;
    await deps.salesforce.createMany("Contact", contacts(2));
    expect(sf.bulkCalls()).toEqual(JOB_CALLS);
  });

  it("stays on sObject Collections below the threshold", async () => {
    const { sf, client } = setup({ bulkThreshold: 300 });
    const outcomes = await client.createMany("Contact", contacts(299));
    expect(sf.bulkCalls()).toEqual([]);
    expect(sf.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "POST /services/data/v62.0/composite/sobjects",
      "POST /services/data/v62.0/composite/sobjects",
    ]);
    expect(outcomes.every((o) => o.ok)).toBe(true);
  });
});
