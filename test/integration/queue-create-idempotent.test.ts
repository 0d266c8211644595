import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { createIntents, idMappings } from "../../src/store/schema.ts";
import type { SalesforceChangeMessage } from "../../src/sync/messages.ts";
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

const db = openDb(env.DB);

function setup() {
  const attio = fakeAttio();
  const sf = fakeSalesforce();
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

function contactCreated(contactId: string): SalesforceChangeMessage {
  const base = relayedChange("Contact", contactId);
  return {
    ...base,
    header: { ...base.header, changeType: "CREATE", changeOrigin: "com/salesforce/ui", changedFields: [] },
    fields: {},
  };
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

  it("Attio -> Salesforce: a crash between the Salesforce create and storing the pair creates no second Contact", async () => {
    const { attio, sf } = setup();
    addKeylessPerson(attio, "p-crash", "Lindqvist");
    // D1 fails the pair save (one batch: pairs, bases, audit rows), as a consumer dying there would.
    const batch = env.DB.batch.bind(env.DB);
    let failedSaves = 0;
    vi.spyOn(env.DB, "batch").mockImplementation(async (statements) => {
      if (failedSaves === 0 && sf.contacts.size === 1) {
        failedSaves += 1;
        throw new Error("D1_ERROR: simulated failure storing the pair");
      }
      return batch(statements);
    });

    const first = await runQueue([personChanged("p-crash")]);
    expect(failedSaves).toBe(1);
    expect(sf.contacts.size).toBe(1);
    expect(first.result.explicitAcks).toEqual([]);
    expect(await pairOfAttio("p-crash")).toBeUndefined();

    const second = await runQueue([personChanged("p-crash")], { attempts: 2 });
    expect(second.result.explicitAcks).toEqual(second.ids);
    expect(sf.contacts.size).toBe(1);
    const [contactId] = [...sf.contacts.keys()];
    expect(await pairOfAttio("p-crash")).toMatchObject({ sfRecordId: contactId });
  });

  it("Salesforce -> Attio: a create whose answer was lost is found on retry, not created again", async () => {
    const { attio, sf } = setup();
    const contactId = "003Hs00000LOSTAAAA";
    sf.contacts.set(contactId, {
      FirstName: "Ines",
      LastName: "Moreau",
      Title: "CFO",
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
    expect(await pairOfAttio(personId)).toMatchObject({ sfRecordId: contactId });
    expect(await openIntentOf(contactId)).toBeUndefined();
  });
});
