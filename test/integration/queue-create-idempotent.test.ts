import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { insertPair } from "../../src/store/pairs.ts";
import { createIntents, idMappings } from "../../src/store/schema.ts";
import { internalSalesforceMessage, type SalesforceChangeMessage } from "../../src/sync/messages.ts";
import { ORG_CAPABILITIES_KEY } from "../../src/sync/runtime.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged, relayedChange } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";

// Creates without a match key (a person without an email): nothing but the values written tells the
// record an earlier attempt created. A lost answer or a crash before the pair is stored must not
// make a retry create a second record (docs/SYNC_SEMANTICS.md, "Creates are idempotent").

afterEach(() => drainQueue());
afterEach(() => vi.restoreAllMocks());
beforeEach(() => clearTokenCache());
// Each test's org is described anew (some have the Attio_Record_Id__c field, some not).
beforeEach(async () => {
  for (const key of [ORG_CAPABILITIES_KEY, "schema:salesforce:Contact"]) await env.CURSORS.delete(key);
});

const db = openDb(env.DB);

function setup(options: Parameters<typeof fakeSalesforce>[0] = {}) {
  const attio = fakeAttio();
  const sf = fakeSalesforce(options);
  server.use(...attio.handlers, ...sf.handlers);
  return { attio, sf };
}

/** An Attio person with no email: no key to match or assert on. */
function addKeylessPerson(attio: ReturnType<typeof fakeAttio>, recordId: string, last: string) {
  const person = attio.addPerson(recordId, { first: "Noor", last, title: "Founder" });
  person.values.email_addresses = [];
  person.values.phone_numbers = [];
  person.values.primary_location = [];
  return person;
}

async function pairOfAttio(recordId: string) {
  return db.select().from(idMappings).where(eq(idMappings.attioRecordId, recordId)).get();
}

async function openIntentOf(sourceRecordId: string) {
  return db
    .select()
    .from(createIntents)
    .where(and(eq(createIntents.sourceRecordId, sourceRecordId), eq(createIntents.state, "open")))
    .get();
}

/** A Contact's CREATE event as the relay posts it (every field set, the name compound nested). */
function contactCreated(
  contactId: string,
  fields: Record<string, unknown> = {},
  origin = "com/salesforce/ui",
): SalesforceChangeMessage {
  const base = relayedChange("Contact", contactId);
  const { FirstName, LastName, ...rest } = fields;
  return {
    ...base,
    header: { ...base.header, changeType: "CREATE", changeOrigin: origin, changedFields: [] },
    fields: Object.keys(fields).length > 0 ? { Name: { FirstName, LastName }, ...rest } : {},
  };
}

/**
 * D1 fails the first pair save once the Contact exists (one batch: pairs, bases, audit rows), as a
 * consumer dying there would.
 */
function failFirstPairSave(sf: ReturnType<typeof fakeSalesforce>): { failed: number } {
  const saves = { failed: 0 };
  const batch = env.DB.batch.bind(env.DB);
  vi.spyOn(env.DB, "batch").mockImplementation(async (statements) => {
    if (saves.failed === 0 && sf.contacts.size === 1) {
      saves.failed += 1;
      throw new Error("D1_ERROR: simulated failure storing the pair");
    }
    return batch(statements);
  });
  return saves;
}

describe("queue handler: keyless creates are idempotent", () => {
  it("Attio -> Salesforce: a Collections create whose answer was lost is found on retry, not created again", async () => {
    const { attio, sf } = setup();
    addKeylessPerson(attio, "p-lost-sf", "Haddad");
    sf.loseCreateAnswers(1);

    const first = await runQueue([personChanged("p-lost-sf")], { vars: { SALESFORCE_TIMEOUT_SECONDS: "1" } });
    // The fault fired: Salesforce committed the Contact, the answer never came, the touch is retried.
    expect(sf.contacts.size).toBe(1);
    expect(first.result.retryMessages.map((m) => m.msgId)).toEqual(first.ids);
    expect(await pairOfAttio("p-lost-sf")).toBeUndefined();
    expect(await openIntentOf("p-lost-sf")).toMatchObject({ targetSide: "salesforce", targetObject: "Contact" });

    const second = await runQueue([personChanged("p-lost-sf")], { attempts: 2 });
    expect(second.result.explicitAcks).toEqual(second.ids);
    expect(sf.contacts.size).toBe(1);
    const [contactId] = [...sf.contacts.keys()];
    expect(await pairOfAttio("p-lost-sf")).toMatchObject({ sfObject: "Contact", sfRecordId: contactId });
    expect(await openIntentOf("p-lost-sf")).toBeUndefined();
  });

  it("Attio -> Salesforce: a Bulk insert whose results were lost is found on retry, not inserted again", async () => {
    const { attio, sf } = setup();
    addKeylessPerson(attio, "p-lost-bulk", "Achterberg");
    // Every read of the job's results in this run is lost (the client reads them again in place).
    sf.loseCreateAnswers(10);
    const vars = { SALESFORCE_TIMEOUT_SECONDS: "1", SALESFORCE_BULK_THRESHOLD: "1" };

    const first = await runQueue([personChanged("p-lost-bulk")], { vars });
    // The fault fired: the job inserted the Contact, its results never came, the touch is retried.
    expect(sf.bulkCalls().filter((c) => c.endsWith("/successfulResults")).length).toBeGreaterThan(0);
    expect(sf.contacts.size).toBe(1);
    expect(first.result.retryMessages.map((m) => m.msgId)).toEqual(first.ids);
    sf.loseCreateAnswers(0);

    const second = await runQueue([personChanged("p-lost-bulk")], { attempts: 2, vars });
    expect(second.result.explicitAcks).toEqual(second.ids);
    expect(sf.contacts.size).toBe(1);
    const [contactId] = [...sf.contacts.keys()];
    expect(await pairOfAttio("p-lost-bulk")).toMatchObject({ sfRecordId: contactId });
    // The client reads a job's results 5 times, each given up after SALESFORCE_TIMEOUT_SECONDS.
  }, 30_000);

  it("Attio -> Salesforce: with Attio_Record_Id__c on Contact, creates are upserts on the Attio id and need no intent", async () => {
    const { attio, sf } = setup({ attioRecordIdField: true });
    addKeylessPerson(attio, "p-upsert", "Okonkwo");
    sf.loseCreateAnswers(1);
    const vars = { SALESFORCE_TIMEOUT_SECONDS: "1" };

    const first = await runQueue([personChanged("p-upsert")], { vars });
    expect(first.result.retryMessages.map((m) => m.msgId)).toEqual(first.ids);
    expect(sf.contacts.size).toBe(1);
    const second = await runQueue([personChanged("p-upsert")], { attempts: 2, vars });

    expect(second.result.explicitAcks).toEqual(second.ids);
    expect(sf.contacts.size).toBe(1);
    const [[contactId, contact] = []] = [...sf.contacts.entries()];
    expect(contact?.["Attio_Record_Id__c"]).toBe("p-upsert");
    const upserts = sf.writes().filter((c) => c.path.endsWith("/composite/sobjects/Contact/Attio_Record_Id__c"));
    expect(upserts).toHaveLength(2);
    expect(await pairOfAttio("p-upsert")).toMatchObject({ sfRecordId: contactId });
    expect(await db.select().from(createIntents).where(eq(createIntents.sourceRecordId, "p-upsert")).all()).toEqual([]);
  });

  it("Attio -> Salesforce: a crash between the Salesforce create and storing the pair creates no second Contact", async () => {
    const { attio, sf } = setup();
    addKeylessPerson(attio, "p-crash", "Lindqvist");
    const saves = failFirstPairSave(sf);

    const first = await runQueue([personChanged("p-crash")]);
    expect(saves.failed).toBe(1);
    expect(sf.contacts.size).toBe(1);
    expect(first.result.explicitAcks).toEqual([]);
    expect(await pairOfAttio("p-crash")).toBeUndefined();

    const second = await runQueue([personChanged("p-crash")], { attempts: 2 });
    expect(second.result.explicitAcks).toEqual(second.ids);
    expect(sf.contacts.size).toBe(1);
    const [contactId] = [...sf.contacts.keys()];
    expect(await pairOfAttio("p-crash")).toMatchObject({ sfRecordId: contactId });
  });

  it("a crash before the pair was stored, then the Salesforce record's own sync (a catch-up) before the retry: linked to its Attio source, nothing created twice", async () => {
    const { attio, sf } = setup();
    addKeylessPerson(attio, "p-crash-catchup", "Okafor");
    const saves = failFirstPairSave(sf);
    await runQueue([personChanged("p-crash-catchup")]);
    expect(saves.failed).toBe(1);
    const [contactId = ""] = [...sf.contacts.keys()];
    expect(await pairOfAttio("p-crash-catchup")).toBeUndefined();
    const people = attio.people.size;

    // The catch-up finds the Contact (changed in Salesforce, no pair) before the person's retry.
    await runQueue([internalSalesforceMessage("Contact", contactId, "UPDATE")]);
    expect(attio.people.size).toBe(people);
    expect(await pairOfAttio("p-crash-catchup")).toMatchObject({ sfRecordId: contactId });

    // The person's retry finds its pair: no second Contact.
    await runQueue([personChanged("p-crash-catchup")], { attempts: 2 });
    expect(sf.contacts.size).toBe(1);
  });

  it("Salesforce -> Attio: a create whose answer was lost is found on retry, not created again", async () => {
    const { attio, sf } = setup();
    const contactId = "003Hs00000LOSTAAAA";
    sf.contacts.set(contactId, {
      FirstName: "Ines",
      LastName: "Moreau",
      Title: "CFO",
      Phone: "+44 20 7946 0321",
      Email: null,
      LastModifiedDate: "2026-11-01T10:00:00.000+0000",
      SystemModstamp: "2026-11-01T10:00:00.000+0000",
    });
    attio.loseCreateAnswers(1);

    const first = await runQueue([contactCreated(contactId)]);
    // The fault fired: Attio committed the person, the answer never came, the touch is retried.
    expect(attio.people.size).toBe(1);
    expect(first.result.retryMessages.map((m) => m.msgId)).toEqual(first.ids);
    expect(await openIntentOf(contactId)).toMatchObject({ targetSide: "attio", targetObject: "people" });

    const second = await runQueue([contactCreated(contactId)], { attempts: 2 });
    expect(second.result.explicitAcks).toEqual(second.ids);
    expect(attio.people.size).toBe(1);
    const [personId = ""] = [...attio.people.keys()];
    // Found although Attio holds the phone in another form than Salesforce (E.164, no spaces).
    expect(attio.people.get(personId)?.values.phone_numbers[0]?.phone_number).toBe("+442079460321");
    expect(await pairOfAttio(personId)).toMatchObject({ sfRecordId: contactId });
    expect(await openIntentOf(contactId)).toBeUndefined();
  });

  it("the echo of a job's keyless create waits while the job runs, then finds the pair the job stored", async () => {
    const { attio, sf } = setup();
    const contactId = "003Hs00000JOBSAAAA";
    sf.contacts.set(contactId, {
      FirstName: "Ada",
      LastName: "Brennan",
      Title: "COO",
      Email: null,
      LastModifiedDate: "2026-11-01T10:00:00.000+0000",
      SystemModstamp: "2026-11-01T10:00:00.000+0000",
    });
    // A full sync job of ours is writing a page: its Bulk creates' pairs are stored once the page is written.
    await env.DB.prepare(
      `insert into sync_jobs (id, kind, state, params, progress, error_sample)
       values ('job-echo', 'full', 'running', '{"steps":[]}', '{}', '[]')`,
    ).run();
    const { LastModifiedDate: _, SystemModstamp: __, ...fields } = sf.contacts.get(contactId) ?? {};
    const echo = contactCreated(contactId, fields, "com/salesforce/api/bulkapi/62.0;client=attio-sfdc");

    // Past the two waits every own-create echo gets, it still waits: the job may have made it.
    for (const attempts of [3, 6]) {
      const waiting = await runQueue([echo], { attempts });
      expect(waiting.result.retryMessages.map((m) => m.msgId)).toEqual(waiting.ids);
    }
    expect(attio.calls.filter((c) => c.method === "POST" && c.path === "/v2/objects/people/records")).toEqual([]);

    // The job stores the pair of the person it created, and ends: the echo finds the pair.
    attio.addPerson("p-job", { first: "Ada", last: "Brennan", title: "COO" });
    await insertPair(db, { attioObject: "people", attioRecordId: "p-job", sfObject: "Contact", sfRecordId: contactId });
    await env.DB.prepare("update sync_jobs set state = 'done' where id = 'job-echo'").run();
    const settled = await runQueue([echo], { attempts: 7 });
    expect(settled.result.explicitAcks).toEqual(settled.ids);
    expect(attio.people.size).toBe(1);
    expect(attio.calls.filter((c) => c.method === "POST" && c.path === "/v2/objects/people/records")).toEqual([]);
  });
});
