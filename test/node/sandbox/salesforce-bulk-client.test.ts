import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCustomField } from "../../../scripts/sandbox/salesforce/provision.ts";
import { type SalesforceEmulator, startSalesforceEmulator } from "../../../scripts/sandbox/salesforce/server.ts";
import { type Limiter, noLimiter } from "../../../src/durable/limiter.ts";
import { SalesforceClient } from "../../../src/salesforce/client.ts";
import { clearTokenCache } from "../../../src/salesforce/token.ts";
import { json, salesforceTokenResponse } from "./helpers.ts";

/**
 * SalesforceClient's Bulk API 2.0 writes against the sandbox emulator (a real HTTP server that
 * follows the documented API): records written, ids in record order, per-record errors, one API
 * call and one rate-limiter token per HTTP request, and change events that name our client.
 */

let sf: SalesforceEmulator;
/** Tokens taken from the stand-in rate limiter (the real one is a Durable Object). */
let tokensTaken: number;

const limiter: Limiter = {
  acquire: async (bucket) => {
    tokensTaken += 1;
    return noLimiter.acquire(bucket);
  },
};

const client = () =>
  new SalesforceClient({
    token: { loginUrl: sf.url, clientId: sf.clientId, clientSecret: sf.clientSecret },
    apiVersion: "62.0",
    clientName: "attio-sfdc",
    limiter,
  });
// biome-ignore lint/suspicious/noExplicitAny: emulator control answers are asserted on freely.
const stats = async (): Promise<any> => json(await fetch(`${sf.url}/__control/stats`));

beforeEach(async () => {
  clearTokenCache();
  tokensTaken = 0;
  sf = await startSalesforceEmulator({ seed: 7, retryBaseMs: 5, dailyApiLimit: 1_000_000 });
});
afterEach(async () => {
  await sf.close();
});

describe("SalesforceClient bulk writes against the emulator", () => {
  it("inserts 2,500 Accounts in one job (2 polls; 7 calls with failed results), ids in order, a rejected row on its own", async () => {
    const records: Record<string, string | null>[] = Array.from({ length: 2500 }, (_, i) => ({
      Name: `Bulk, "Account" ${i}`,
      Website: `https://bulk-${i}.example`,
      Description: i % 2 === 0 ? `line one\nline two ${i}` : null,
    }));
    records[1234] = { Name: null, Website: "https://nameless.example" };

    const outcomes = await client().createMany("Account", records);

    // create, upload, close, 2 polls, successfulResults, failedResults: one API call and one token each.
    const after = await stats();
    expect(after.api_usage).toBe(7);
    expect(tokensTaken).toBe(7);
    expect(after.syncWrites.Account.created).toBe(2499);

    expect(outcomes).toHaveLength(2500);
    const rejected = outcomes[1234];
    expect(rejected).toMatchObject({
      ok: false,
      error: { code: "upstream_rejected", detail: { salesforce_code: "REQUIRED_FIELD_MISSING", fields: ["Name"] } },
    });
    // Spot checks read back by id: each id is the record at its index.
    for (const index of [0, 1, 1233, 1235, 2499]) {
      const outcome = outcomes[index];
      if (!outcome?.ok) throw new Error(`record ${index} failed`);
      const response = await fetch(`${sf.url}/services/data/v62.0/sobjects/Account/${outcome.id}`, {
        headers: { authorization: `Bearer ${(await json(await salesforceTokenResponse(sf))).access_token}` },
      });
      const account = await json(response);
      expect(account.Name).toBe(`Bulk, "Account" ${index}`);
      expect(account.Description).toBe(index % 2 === 0 ? `line one\nline two ${index}` : null);
    }
    const ids = outcomes.filter((o) => o.ok).map((o) => (o.ok ? o.id : ""));
    expect(new Set(ids).size).toBe(2499);

    // Our client id reaches the change events, as Bulk API changes.
    const { events } = await json(await fetch(`${sf.url}/__control/events`));
    expect(events.length).toBeGreaterThan(0);
    expect(events[0].payload.ChangeEventHeader.changeOrigin).toBe("com/salesforce/api/bulkapi/62.0;client=attio-sfdc");
  });

  it("upserts by external id and updates by Id in bulk, nulls cleared and missing fields kept", async () => {
    // The External ID an integration adds to a new org (one Tooling API call).
    await createCustomField(sf, "Account.Attio_Id__c", { type: "Text", length: 36, externalId: true, unique: true });
    const before = (await stats()).api_usage;
    const sfClient = client();
    const first = Array.from({ length: 2000 }, (_, i) => ({
      Attio_Id__c: `acc-${i}`,
      Name: `Acct ${i}`,
      Industry: "Banking",
    }));
    const created = await sfClient.upsertMany("Account", "Attio_Id__c", first);
    expect(created.every((o) => o.ok)).toBe(true);
    const ids = created.map((o) => (o.ok ? o.id : ""));

    const again = await sfClient.upsertMany(
      "Account",
      "Attio_Id__c",
      first.map((r, i) => ({ Attio_Id__c: r.Attio_Id__c, Name: `Renamed ${i}` })),
    );
    expect(again.map((o) => (o.ok ? o.id : ""))).toEqual(ids);

    const updated = await sfClient.updateMany(
      "Account",
      ids.map((Id, i) => (i === 5 ? { Id, Industry: null } : { Id, Website: `https://u${i}.example` })),
    );
    expect(updated.map((o) => (o.ok ? o.id : ""))).toEqual(ids);
    const usage = await stats();
    // Three jobs of 6 calls each: no failed or unprocessed results to read.
    expect(usage.api_usage - before).toBe(18);
    expect(usage.syncWrites.Account).toMatchObject({ created: 2000 });
    const token = (await json(await salesforceTokenResponse(sf))).access_token;
    const read = async (id: string) =>
      json(
        await fetch(`${sf.url}/services/data/v62.0/sobjects/Account/${id}`, {
          headers: { authorization: `Bearer ${token}` },
        }),
      );
    expect(await read(ids[5] as string)).toMatchObject({ Name: "Renamed 5", Industry: null });
    expect(await read(ids[6] as string)).toMatchObject({
      Name: "Renamed 6",
      Industry: "Banking",
      Website: "https://u6.example",
    });
  });
});
