import { env, exports } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { HttpResponse, http } from "msw";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { failures, idMappings, mappingWarnings, syncState } from "../../src/store/schema.ts";
import { forgetRuntime } from "../../src/sync/runtime.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce, SF_INSTANCE } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

/**
 * A record's failure is its own: a permanent error of one record never fails its batch, a
 * permanent error stays failed instead of being retried, a field Salesforce refuses leaves the
 * record's other fields written, and a schema Salesforce cannot describe right now never changes
 * which fields are written.
 */

afterEach(() => drainQueue());
beforeEach(async () => {
  clearTokenCache();
  // Each test describes its own org: nothing learnt from another test's describes.
  const { keys } = await env.CURSORS.list({ prefix: "schema:" });
  await Promise.all(keys.map((key) => env.CURSORS.delete(key.name)));
  forgetRuntime();
});

const db = openDb(env.DB);

function setup(options: Parameters<typeof fakeSalesforce>[0] = {}) {
  const attio = fakeAttio();
  const sf = fakeSalesforce(options);
  server.use(...attio.handlers, ...sf.handlers);
  return { attio, sf };
}

async function failureOf(dedupeKey: string) {
  return db
    .select()
    .from(failures)
    .where(eq(failures.id, `event:${dedupeKey}`))
    .get();
}

/** An Attio location value in read form. */
function location(locality: string, countryCode: string) {
  return {
    active_from: "2026-09-12T14:03:51.204000000Z",
    active_until: null,
    created_by_actor: { type: "workspace-member", id: "9d4a1f0e-2c3b-4d5e-8f6a-7b8c9d0e1f23" },
    line_1: null,
    line_2: null,
    line_3: null,
    line_4: null,
    locality,
    region: null,
    postcode: null,
    country_code: countryCode,
    latitude: null,
    longitude: null,
    attribute_type: "location",
  };
}

describe("a record's failure is its own", () => {
  it("isolates the one record whose match query Salesforce refuses among 100 with long CJK emails; the others sync", async () => {
    const { attio, sf } = setup();
    // 30 CJK characters are 270 bytes URL-encoded: 100 such emails in one query would be ~30 KB,
    // far over Salesforce's 16 KB request line (the fake answers 414 past it).
    const local = "山田太郎花子東京大阪京都横浜名古屋札幌神戸福岡川崎広島仙台千葉埼玉静岡新潟浜松熊本相模";
    const messages = Array.from({ length: 100 }, (_, i) => {
      attio.addPerson(`p-iso-${i}`, { email: `${local}${i}@northwind.example`, last: `Tanaka ${i}` });
      return personChanged(`p-iso-${i}`);
    });
    const bad = 37;
    sf.refuseQueriesContaining(`${local}${bad}@`, {
      errorCode: "MALFORMED_QUERY",
      message: "unexpected token: the value cannot be compared",
    });

    const { ids, result } = await runQueue(messages);

    expect(sf.refusedQueries).toBeGreaterThan(0);
    expect(sf.urisTooLong).toBe(0);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual([...ids].sort());
    expect(sf.contacts.size).toBe(99);
    const emails = new Set([...sf.contacts.values()].map((c) => c["Email"]));
    expect(emails.has(`${local}${bad}@northwind.example`)).toBe(false);
    const failed = await db.select().from(failures).all();
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      id: `event:${messages[bad]?.dedupeKey}`,
      errorCode: "upstream_rejected",
      attempts: 1,
      status: "open",
    });
    expect(failed[0]?.errorMessage).toContain("MALFORMED_QUERY");
  });

  it("fails each record once, not eight times, when every query meets a permanent error (a deleted field)", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-field-1", { email: "field1@northwind.example" });
    attio.addPerson("p-field-2", { email: "field2@northwind.example" });
    // Described (and cached) while the field existed; an admin deleted it since.
    await runQueue([personChanged("p-field-1")]);
    expect(sf.contacts.size).toBe(1);
    sf.deleteField("Contact", "Title");
    attio.setJobTitle("p-field-1", "Director");
    const messages = [personChanged("p-field-1"), personChanged("p-field-2")];

    const { ids, result } = await runQueue(messages);

    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual([...ids].sort());
    for (const message of messages) {
      const row = await failureOf(message.dedupeKey);
      expect(row).toMatchObject({ errorCode: "upstream_rejected", attempts: 1, status: "open" });
      expect(row?.errorMessage).toContain("INVALID_FIELD");
    }
    expect(sf.contacts.size).toBe(1);
  });

  it("writes a record's other fields when Salesforce refuses one (a restricted picklist), and records the field as a warning", async () => {
    const { attio, sf } = setup({ countryCodes: ["GB", "US", "DE"] });
    const person = attio.addPerson("p-picklist", { email: "picklist@northwind.example", title: "Engineer" });
    (person.values as unknown as Record<string, unknown[]>)["primary_location"] = [location("Lyon", "FR")];

    const message = personChanged("p-picklist");
    const { result } = await runQueue([message]);

    expect(result.retryMessages).toEqual([]);
    // Refused once with the country, written without it.
    expect(sf.writtenRecords().map((r) => r["MailingCountryCode"])).toEqual(["FR", undefined]);
    expect(sf.contacts.size).toBe(1);
    const [contactId, contact] = [...sf.contacts.entries()][0] ?? [];
    expect(contact).toMatchObject({ Title: "Engineer", MailingCity: "Lyon", Email: "picklist@northwind.example" });
    expect(contact?.["MailingCountryCode"]).toBeUndefined();
    expect(await failureOf(message.dedupeKey)).toBeUndefined();
    const warnings = await db
      .select()
      .from(mappingWarnings)
      .where(and(eq(mappingWarnings.sourceRecordId, "p-picklist"), eq(mappingWarnings.status, "open")))
      .all();
    expect(warnings).toEqual([
      expect.objectContaining({
        direction: "attio_to_sf",
        field: "MailingCountryCode",
        attribute: "primary_location.country_code",
        code: "rejected_by_salesforce",
        value: "FR",
        sfRecordId: contactId,
      }),
    ]);
    expect(warnings[0]?.message).toContain("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    // The base does not hold the refused value as synced: the next sync tries it again.
    const pair = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, "p-picklist")).get();
    const state = await db
      .select()
      .from(syncState)
      .where(eq(syncState.mappingId, pair?.id ?? ""))
      .get();
    const base = state?.baseValues as { attio: Record<string, unknown>; salesforce: Record<string, unknown> };
    expect(base.salesforce["Title"]).toBe("Engineer");
    expect(base.salesforce["MailingCountryCode"] ?? null).toBeNull();
    expect(base.attio["MailingCountryCode"]).toBeUndefined();
    const status = await exports.default.fetch("https://worker.test/api/v1/status", {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(((await status.json()) as { open_warnings: number }).open_warnings).toBe(1);

    // A later edit is written, and the country tried again (still refused: the warning stays open).
    attio.setJobTitle("p-picklist", "Lead Engineer");
    await runQueue([personChanged("p-picklist")]);
    expect(sf.contacts.get(contactId ?? "")?.["Title"]).toBe("Lead Engineer");
    expect(sf.writtenRecords().at(-2)).toMatchObject({ Title: "Lead Engineer", MailingCountryCode: "FR" });
    const again = await db.select().from(mappingWarnings).where(eq(mappingWarnings.sourceRecordId, "p-picklist")).all();
    expect(again).toEqual([expect.objectContaining({ status: "open", occurrences: 2 })]);
  });

  it("writes the other fields through Bulk API too when a row is refused for one field", async () => {
    const { attio, sf } = setup({ countryCodes: ["GB", "US", "DE"] });
    const person = attio.addPerson("p-bulk-picklist", { email: "bulk-picklist@northwind.example", title: "Engineer" });
    (person.values as unknown as Record<string, unknown[]>)["primary_location"] = [location("Lyon", "FR")];

    const { result } = await runQueue([personChanged("p-bulk-picklist")], { vars: { SALESFORCE_BULK_THRESHOLD: "1" } });

    expect(result.retryMessages).toEqual([]);
    // Two ingest jobs: the row refused for its country, then the row without it.
    expect(sf.bulkCalls().filter((call) => call === "POST /jobs/ingest")).toHaveLength(2);
    expect([...sf.contacts.values()]).toEqual([
      expect.objectContaining({ Title: "Engineer", MailingCity: "Lyon", Email: "bulk-picklist@northwind.example" }),
    ]);
    expect([...sf.contacts.values()][0]?.["MailingCountryCode"]).toBeUndefined();
    const warnings = await db
      .select()
      .from(mappingWarnings)
      .where(eq(mappingWarnings.sourceRecordId, "p-bulk-picklist"))
      .all();
    expect(warnings.map((w) => [w.field, w.code, w.value])).toEqual([
      ["MailingCountryCode", "rejected_by_salesforce", "FR"],
    ]);
  });

  it("retries the batch when Salesforce cannot describe the org, instead of syncing a plain org's fields", async () => {
    const { attio, sf } = setup();
    let describes = 0;
    server.use(
      http.get(`${SF_INSTANCE}/services/data/v62.0/sobjects/:object/describe`, () => {
        describes += 1;
        return HttpResponse.json([{ errorCode: "SERVER_UNAVAILABLE", message: "Server unavailable" }], {
          status: 503,
        });
      }),
    );
    attio.addPerson("p-describe", { email: "describe@northwind.example", title: "CTO" });

    const message = personChanged("p-describe");
    const { ids, result } = await runQueue([message]);

    expect(describes).toBeGreaterThan(0);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(ids);
    expect(sf.writes()).toEqual([]);
    expect(await failureOf(message.dedupeKey)).toBeUndefined();
    // /status still answers, with the mappings reported unchecked.
    const status = await exports.default.fetch("https://worker.test/api/v1/status", {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(status.status).toBe(200);
    const { problems } = (await status.json()) as { problems: { code: string }[] };
    expect(problems.map((p) => p.code)).toContain("mappings_unchecked");
    expect(await env.CURSORS.get("schema:salesforce:capabilities")).toBeNull();
  });
});
