import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { HttpResponse, http } from "msw";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { conflicts, failures, idMappings } from "../../src/store/schema.ts";
import { internalSalesforceMessage } from "../../src/sync/messages.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce, SF_INSTANCE } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";

/**
 * GET /api/v1/explain/{side}/{object}/{record_id}, after real syncs through the queue with the
 * fakes: each state a record can be in answers its reason code. (`paused` and `not_started` come
 * from the deployment's mode: src/plan/explain.ts's unit tests cover them with the mode passed in.)
 */

afterEach(() => drainQueue());
beforeEach(() => clearTokenCache());

const db = openDb(env.DB);
const ADMIN = { authorization: "Bearer test-admin-token-0123456789abcdef" };

type Fakes = { attio: ReturnType<typeof fakeAttio>; sf: ReturnType<typeof fakeSalesforce> };

function setup(options: Parameters<typeof fakeSalesforce>[0] = {}): Fakes {
  const attio = fakeAttio();
  const sf = fakeSalesforce(options);
  server.use(...attio.handlers, ...sf.handlers);
  return { attio, sf };
}

interface Explanation {
  in_sync: boolean;
  reason: string;
  next_step: string;
  mapping: string | null;
  mode: string;
  counterpart: { side: string; object: string; record_id: string; linked: boolean; exists: boolean } | null;
  decision: { kind: string; detail: Record<string, unknown> } | null;
  fields: { field: string; attio?: unknown; salesforce?: unknown; in_sync: boolean; newer: string; would: string }[];
  open_items: Record<string, { id?: string; code?: string; field?: string }[]>;
  last_decision: { operation: string; actor: string | null } | null;
}

async function explain(path: string): Promise<{ status: number; body: Explanation }> {
  const response = await exports.default.fetch(`https://worker.test/api/v1/explain/${path}`, { headers: ADMIN });
  return { status: response.status, body: (await response.json()) as Explanation };
}

/**
 * A person (with no company: a reference to a company never synced waits, reference_pending)
 * created in Attio and synced to a new Contact: its Contact id.
 */
async function linkedPerson(attio: Fakes["attio"], id: string, email: string): Promise<string> {
  addPerson(attio, id, email);
  await runQueue([personChanged(id)]);
  const pair = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, id)).get();
  if (!pair) throw new Error(`${id} was not linked`);
  return pair.sfRecordId;
}

function addPerson(attio: Fakes["attio"], id: string, email: string) {
  const person = attio.addPerson(id, { email, title: "Analyst" });
  delete (person.values as Record<string, unknown>)["company"];
  return person;
}

/** A user's edit of a Contact in Salesforce (later than anything synced), without its event yet. */
function editContact(sf: Fakes["sf"], contactId: string, fields: Record<string, unknown>) {
  const contact = sf.contacts.get(contactId);
  if (!contact) throw new Error(`no Contact ${contactId}`);
  const later = new Date(Date.now() + 2000).toISOString().replace("Z", "+0000");
  sf.contacts.set(contactId, { ...contact, ...fields, LastModifiedDate: later, SystemModstamp: later });
}

describe("explain", () => {
  it("an in-sync record, from either side: in_sync, its counterpart, every field settled", async () => {
    const { attio, sf } = setup();
    const contactId = await linkedPerson(attio, "x-in-sync", "in-sync@northwind.example");
    const reads = sf.calls.length;

    const fromAttio = await explain("attio/people/x-in-sync");
    expect(fromAttio.status).toBe(200);
    expect(fromAttio.body).toMatchObject({
      in_sync: true,
      reason: "in_sync",
      mapping: "people",
      counterpart: { side: "salesforce", object: "Contact", record_id: contactId, linked: true, exists: true },
      decision: { kind: "settle", detail: { reason: "unchanged" } },
      last_decision: { operation: "create" },
    });
    expect(fromAttio.body.fields.find((f) => f.field === "Title")).toMatchObject({
      attio: "Analyst",
      salesforce: "Analyst",
      in_sync: true,
      newer: "none",
      would: "nothing",
    });
    // Read live: the Contact was read again (the explanation wrote nothing).
    expect(sf.calls.length).toBeGreaterThan(reads);
    expect(sf.writes().filter((c) => sf.calls.indexOf(c) >= reads)).toEqual([]);

    const fromSalesforce = await explain(`salesforce/Contact/${contactId}`);
    expect(fromSalesforce.body).toMatchObject({
      in_sync: true,
      reason: "in_sync",
      counterpart: { side: "attio", object: "people", record_id: "x-in-sync", linked: true },
    });
  });

  it("a change not synced yet: waiting_in_queue, with the newer side and the write it would make", async () => {
    const { attio, sf } = setup();
    const contactId = await linkedPerson(attio, "x-queued", "queued@northwind.example");
    editContact(sf, contactId, { Title: "VP Sales" });

    const { body } = await explain("attio/people/x-queued");
    expect(body).toMatchObject({ in_sync: false, reason: "waiting_in_queue", decision: { kind: "write" } });
    expect(body.fields.find((f) => f.field === "Title")).toMatchObject({
      attio: "Analyst",
      salesforce: "VP Sales",
      newer: "salesforce",
      would: "write_to_attio",
    });
    // Nothing was written by explaining it.
    expect(attio.people.get("x-queued")?.values.job_title[0]?.value).toBe("Analyst");
  });

  it("a record with no counterpart yet: no_counterpart_yet, and the create it would make", async () => {
    const { attio } = setup();
    addPerson(attio, "x-new", "new-person@northwind.example");
    const { body } = await explain("attio/people/x-new");
    expect(body).toMatchObject({
      in_sync: false,
      reason: "no_counterpart_yet",
      counterpart: null,
      decision: { kind: "write", detail: { operation: "create" } },
    });
    expect(body.fields.find((f) => f.field === "Email")).toMatchObject({
      attio: "new-person@northwind.example",
      would: "write_to_salesforce",
    });
  });

  it("a write Salesforce rejected: write_rejected, the failure listed, its replay the next step", async () => {
    const { attio } = setup({
      rejectCreateWith: { statusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", message: "Email domain is blocked" },
    });
    attio.addPerson("x-rejected", { email: "rejected@blocked.example" });
    await runQueue([personChanged("x-rejected")]);
    const [failure] = await db
      .select()
      .from(failures)
      .where(eq(failures.recordKey, failureKey("x-rejected")))
      .all();
    if (!failure) throw new Error("no failure recorded");

    const { body } = await explain("attio/people/x-rejected");
    expect(body).toMatchObject({ in_sync: false, reason: "write_rejected" });
    expect(body.open_items["failures"]).toEqual([
      expect.objectContaining({ id: failure.id, error_code: "upstream_rejected" }),
    ]);
    expect(body.next_step).toContain(`/api/v1/failures/${encodeURIComponent(failure.id)}/replay`);
  });

  it("a value the other side cannot take: value_unmappable, the warning listed", async () => {
    const { attio, sf } = setup();
    const contactId = await linkedPerson(attio, "x-unmappable", "unmappable@northwind.example");
    editContact(sf, contactId, { MailingCountry: "Atlantis" });
    await runQueue([internalSalesforceMessage("Contact", contactId)]);

    const { body } = await explain(`salesforce/Contact/${contactId}`);
    expect(body).toMatchObject({ in_sync: false, reason: "value_unmappable" });
    expect(body.open_items["warnings"]).toEqual([
      expect.objectContaining({ field: "MailingCountry", code: "unmapped_value" }),
    ]);
  });

  it("a conflict held for a person: conflict_held, the conflict listed, its resolution the next step", async () => {
    const { attio, sf } = setup();
    const contactId = await linkedPerson(attio, "x-conflict", "conflict@northwind.example");
    attio.setJobTitle("x-conflict", "Head of Data", new Date(Date.now() + 1000).toISOString());
    editContact(sf, contactId, { Title: "Chief Data Officer" });
    await runQueue([personChanged("x-conflict")], { vars: { CONFLICT_RESOLUTION: "manual" } });
    const pair = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, "x-conflict")).get();
    const open = await db
      .select()
      .from(conflicts)
      .where(eq(conflicts.mappingId, pair?.id ?? ""))
      .all();
    expect(open).toEqual([expect.objectContaining({ field: "Title", status: "open" })]);

    const { body } = await explain("attio/people/x-conflict");
    expect(body).toMatchObject({ in_sync: false, reason: "conflict_held" });
    expect(body.open_items["conflicts"]).toEqual([expect.objectContaining({ id: open[0]?.id, field: "Title" })]);
    expect(body.next_step).toContain(`/api/v1/conflicts/${open[0]?.id}`);
  });

  it("a change parked through a Salesforce outage: waiting_for_api until the drain sends it", async () => {
    const { attio } = setup();
    addPerson(attio, "x-parked", "parked@northwind.example");
    let down = true;
    server.use(
      http.all(`${SF_INSTANCE}/services/data/v62.0/*`, () =>
        down ? new HttpResponse("Service Unavailable", { status: 503 }) : undefined,
      ),
    );
    // An outage that outlived the quick retries parks the change.
    const parked = await runQueue([personChanged("x-parked")], { attempts: 4 });
    expect(parked.result.retryMessages).toEqual([]);

    // Salesforce answers again; the drain has not run yet.
    down = false;
    const { body } = await explain("attio/people/x-parked");
    expect(body).toMatchObject({ in_sync: false, reason: "waiting_for_api" });
    expect(body.open_items["parked"]).toEqual([expect.objectContaining({ reason: "upstream_unavailable" })]);
  });

  it("a change while the deployment is paused: paused, with resume the next step", async () => {
    const { attio, sf } = setup();
    const contactId = await linkedPerson(attio, "x-paused", "paused@northwind.example");
    const post = (path: string) =>
      exports.default.fetch(`https://worker.test/api/v1/${path}`, { method: "POST", headers: ADMIN });
    expect((await post("pause")).status).toBe(200);
    try {
      editContact(sf, contactId, { Title: "VP Sales" });
      const { body } = await explain("attio/people/x-paused");
      expect(body).toMatchObject({ in_sync: false, reason: "paused", mode: "paused" });
      expect(body.next_step).toContain("/api/v1/resume");
    } finally {
      expect((await post("resume")).status).toBe(200);
    }
    expect((await explain("attio/people/x-paused")).body.reason).toBe("waiting_in_queue");
  });

  it("a person whose company has no counterpart yet: reference_pending, the AccountId field waiting", async () => {
    const { attio } = setup();
    attio.addPerson("x-reference", { email: "reference@northwind.example", title: "Analyst" });
    await runQueue([personChanged("x-reference")]);
    const { body } = await explain("attio/people/x-reference");
    expect(body).toMatchObject({ in_sync: false, reason: "reference_pending" });
    expect(body.fields.find((f) => f.field === "AccountId")).toMatchObject({ would: "wait" });
  });

  it("an object no mapping syncs: not_mapped; a bad side or id: 400 naming it", async () => {
    setup();
    expect((await explain("attio/widgets/x-1")).body).toMatchObject({ in_sync: false, reason: "not_mapped" });
    expect((await explain("salesforce/Case/500000000000001AAA")).body).toMatchObject({ reason: "not_mapped" });
    const bad = await explain("hubspot/people/x-1");
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("side");
    expect((await explain("attio/people/x%25y")).status).toBe(400);
  });

  it("a record that does not exist and was never linked: not_found", async () => {
    setup();
    expect((await explain("attio/people/x-nobody")).body).toMatchObject({ in_sync: false, reason: "not_found" });
  });

  // Last: it stores a configuration document (the file's other tests run on the defaults).
  it("an object whose mapping is switched off: mapping_disabled, saying why", async () => {
    setup();
    const stored = await exports.default.fetch("https://worker.test/api/v1/config", {
      method: "PUT",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: JSON.stringify({ toml: "[mappings.deals]\nenabled = false\n" }),
    });
    expect(stored.status).toBe(200);
    const { body } = await explain("salesforce/Opportunity/006000000000001AAA");
    expect(body).toMatchObject({ in_sync: false, reason: "mapping_disabled", mapping: "deals", fields: [] });
    expect(JSON.stringify(body)).toContain("enabled = false");
  });
});

/** The failure key of an Attio person's message (src/queue/settle.ts recordKey). */
function failureKey(recordId: string): string {
  return `attio:${personChanged(recordId).objectId}:${recordId}`;
}
