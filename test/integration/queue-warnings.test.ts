import { env, exports } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { auditLog, idMappings, mappingWarnings } from "../../src/store/schema.ts";
import { internalSalesforceMessage } from "../../src/sync/messages.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";

/**
 * Values one side holds that the other cannot take: each becomes a warning on that record (D1
 * mapping_warnings, the record's history, GET /api/v1/failures?severity=warning, /status), while the
 * rest of the record still syncs; a later sync that writes the field clears it.
 */

afterEach(() => drainQueue());
beforeEach(() => clearTokenCache());

const db = openDb(env.DB);
const ADMIN = { authorization: "Bearer test-admin-token-0123456789abcdef" };

function setup() {
  const attio = fakeAttio();
  const sf = fakeSalesforce();
  server.use(...attio.handlers, ...sf.handlers);
  return { attio, sf };
}

/** A person created in Attio and synced: its Contact id. */
async function linkedPerson(attio: ReturnType<typeof fakeAttio>, id: string, email: string) {
  const person = attio.addPerson(id, { email, title: "Analyst" });
  await runQueue([personChanged(id)]);
  const pair = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, id)).get();
  if (!pair) throw new Error(`${id} was not linked`);
  return { contactId: pair.sfRecordId, person };
}

type Person = ReturnType<ReturnType<typeof fakeAttio>["addPerson"]>;
const valuesOf = (person: Person) => person.values as unknown as Record<string, Record<string, unknown>[]>;

/** A user's edit of a Contact in Salesforce, then its change event. */
async function editContact(sf: ReturnType<typeof fakeSalesforce>, contactId: string, fields: Record<string, unknown>) {
  const contact = sf.contacts.get(contactId);
  if (!contact) throw new Error(`no Contact ${contactId}`);
  const later = new Date(Date.now() + 2000).toISOString().replace("Z", "+0000");
  sf.contacts.set(contactId, { ...contact, ...fields, LastModifiedDate: later, SystemModstamp: later });
  return runQueue([internalSalesforceMessage("Contact", contactId)]);
}

async function warningsOf(recordId: string) {
  return db
    .select()
    .from(mappingWarnings)
    .where(and(eq(mappingWarnings.sourceRecordId, recordId)))
    .all();
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await exports.default.fetch(`https://worker.test/api/v1${path}`, {
    ...init,
    headers: { ...ADMIN, "content-type": "application/json" },
  });
  return (await response.json()) as T;
}

describe("values the other side cannot take", () => {
  it("an unknown country from Salesforce is a warning on the record; its Title still syncs", async () => {
    const { attio, sf } = setup();
    const { contactId, person } = await linkedPerson(attio, "w-country", "country@northwind.example");
    const { result } = await editContact(sf, contactId, { MailingCountry: "Atlantis", Title: "VP Sales" });

    expect(result.retryMessages).toEqual([]);
    expect(valuesOf(person)["job_title"]?.[0]?.["value"]).toBe("VP Sales");
    expect(valuesOf(person)["primary_location"] ?? []).toEqual([]);
    const [warning] = await warningsOf(contactId);
    expect(warning).toMatchObject({
      mapping: "people",
      direction: "sf_to_attio",
      sourceObject: "Contact",
      sfRecordId: contactId,
      attioRecordId: "w-country",
      field: "MailingCountry",
      attribute: "primary_location.country_code",
      code: "unmapped_value",
      value: "Atlantis",
      status: "open",
    });
    expect(warning?.message).toMatch(/unknown country Atlantis/);
  });

  it("a phone with no country prefix and an email Attio refuses are warnings; the rest syncs", async () => {
    const { attio, sf } = setup();
    const { contactId, person } = await linkedPerson(attio, "w-phone", "phone@northwind.example");
    const phonesBefore = valuesOf(person)["phone_numbers"];
    await editContact(sf, contactId, { Phone: "(415) 555-0100", Email: "phone@intranet", Title: "CFO" });

    const warnings = await warningsOf(contactId);
    expect(warnings.map((w) => [w.field, w.code, w.value]).sort()).toEqual([
      ["Email", "invalid_value", "phone@intranet"],
      ["Phone", "invalid_value", "(415) 555-0100"],
    ]);
    expect(valuesOf(person)["job_title"]?.[0]?.["value"]).toBe("CFO");
    expect(valuesOf(person)["phone_numbers"]).toEqual(phonesBefore);
    expect(valuesOf(person)["email_addresses"]?.map((e) => e["email_address"])).toEqual(["phone@northwind.example"]);
  });

  it("an Attio country Salesforce has no name for is a warning going the other way", async () => {
    const { attio, sf } = setup();
    const person = attio.addPerson("w-kosovo", { email: "kosovo@northwind.example", title: "Engineer" });
    valuesOf(person)["primary_location"] = [
      {
        active_from: "2026-09-12T14:03:51.204000000Z",
        active_until: null,
        created_by_actor: { type: "workspace-member", id: "9d4a1f0e-2c3b-4d5e-8f6a-7b8c9d0e1f23" },
        line_1: null,
        line_2: null,
        line_3: null,
        line_4: null,
        locality: "Pristina",
        region: null,
        postcode: null,
        country_code: "XK",
        latitude: null,
        longitude: null,
        attribute_type: "location",
      },
    ];
    await runQueue([personChanged("w-kosovo")]);
    const contact = [...sf.contacts.values()].find((c) => c["Email"] === "kosovo@northwind.example");
    // Created with everything else, the city included; no country.
    expect(contact).toMatchObject({ Title: "Engineer", MailingCity: "Pristina" });
    expect(contact?.["MailingCountry"]).toBeUndefined();
    expect(await warningsOf("w-kosovo")).toEqual([
      expect.objectContaining({
        direction: "attio_to_sf",
        sourceObject: "people",
        field: "MailingCountry",
        code: "unmapped_value",
        value: "XK",
      }),
    ]);
  });

  it("shows a warning in the record's history, lists it by severity, counts it in /status, clears it once written", async () => {
    const { attio, sf } = setup();
    const { contactId, person } = await linkedPerson(attio, "w-clear", "clear@northwind.example");
    await editContact(sf, contactId, { MailingCountry: "Narnia" });
    const [open] = await warningsOf(contactId);
    if (!open) throw new Error("no warning");

    const history = await api<{ items: { operation: string; changes: Record<string, unknown> }[] }>(
      `/history?record_id=${contactId}&operation=skipped`,
    );
    expect(history.items).toEqual([
      expect.objectContaining({
        operation: "skipped",
        changes: { MailingCountry: expect.objectContaining({ before: "Narnia", code: "unmapped_value" }) },
      }),
    ]);
    const listed = await api<{ items: { id: string; severity: string }[] }>(
      `/failures?severity=warning&record_id=${contactId}`,
    );
    expect(listed.items).toEqual([expect.objectContaining({ id: open.id, severity: "warning" })]);
    // Failures keep their own list: a warning is not an error.
    const errors = await api<{ items: unknown[] }>("/failures");
    expect(errors.items.some((item) => JSON.stringify(item).includes(contactId))).toBe(false);
    expect((await api<{ open_warnings: number }>("/status")).open_warnings).toBeGreaterThanOrEqual(1);

    // Another field changes: the country was not checked again, its warning stays as it was.
    await editContact(sf, contactId, { Title: "Lead" });
    expect(await warningsOf(contactId)).toEqual([expect.objectContaining({ id: open.id, status: "open" })]);
    // The country changes to another value Attio cannot take: the same warning, refreshed.
    await editContact(sf, contactId, { MailingCountry: "Mordor" });
    const again = await warningsOf(contactId);
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ id: open.id, occurrences: 2, status: "open", value: "Mordor" });
    const skipped = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.sfRecordId, contactId), eq(auditLog.operation, "skipped")))
      .all();
    expect(skipped).toHaveLength(1);

    // Fixed in Salesforce: written to Attio, and the warning is cleared.
    await editContact(sf, contactId, { MailingCountry: "Germany" });
    expect(valuesOf(person)["primary_location"]?.[0]?.["country_code"]).toBe("DE");
    expect((await warningsOf(contactId))[0]).toMatchObject({ id: open.id, status: "cleared" });
    const stillOpen = await api<{ items: unknown[] }>(`/failures?severity=warning&record_id=${contactId}`);
    expect(stillOpen.items).toEqual([]);
  });

  it("an operator can dismiss a warning", async () => {
    const { attio, sf } = setup();
    const { contactId } = await linkedPerson(attio, "w-dismiss", "dismiss@northwind.example");
    await editContact(sf, contactId, { MailingCountry: "Westeros" });
    const [warning] = await warningsOf(contactId);
    const dismissed = await exports.default.fetch(`https://worker.test/api/v1/failures/${warning?.id}/dismiss`, {
      method: "POST",
      headers: ADMIN,
    });
    expect(dismissed.status).toBe(200);
    expect((await warningsOf(contactId))[0]?.status).toBe("dismissed");
    const again = await exports.default.fetch(`https://worker.test/api/v1/failures/${warning?.id}/dismiss`, {
      method: "POST",
      headers: ADMIN,
    });
    expect(again.status).toBe(404);
  });
});
