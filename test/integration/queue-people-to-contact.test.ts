import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { http } from "msw";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { acquireLeases, lockShard, releaseLeases } from "../../src/durable/record-lock.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { recordFieldTimes } from "../../src/store/field-times.ts";
import { auditLog, failures, idMappings, pendingDeletes, syncState } from "../../src/store/schema.ts";
import { internalSalesforceMessage, type SalesforceChangeMessage } from "../../src/sync/messages.ts";
import { ATTIO, fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce, SF_INSTANCE } from "../helpers/fake-salesforce.ts";
import { personChanged, relayedChange } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { relayRequest } from "../helpers/signing.ts";

// What a test enqueues is consumed in the background: let it finish while the fakes still answer.
afterEach(() => drainQueue());
afterEach(() => vi.restoreAllMocks());

const db = openDb(env.DB);

function setup(options: Parameters<typeof fakeSalesforce>[0] = {}) {
  const attio = fakeAttio();
  const sf = fakeSalesforce(options);
  server.use(...attio.handlers, ...sf.handlers);
  return { attio, sf };
}

async function mappingOf(recordId: string) {
  return db.select().from(idMappings).where(eq(idMappings.attioRecordId, recordId)).get();
}

beforeEach(() => clearTokenCache());

let lastReplayId = 2000;

/**
 * The change event of our own client's write to a Contact the fake holds, as the relay sends it:
 * a CREATE carries every field (the name compound nested, as Change Data Capture sends it), an
 * UPDATE the Title it changed.
 */
function ownContactEvent(
  sf: ReturnType<typeof fakeSalesforce>,
  contactId: string,
  changeType: "CREATE" | "UPDATE",
  transactionKey: string,
  api: "rest" | "bulkapi",
): SalesforceChangeMessage {
  const { FirstName, LastName, ...rest } = sf.contacts.get(contactId) ?? {};
  const base = relayedChange("Contact", contactId);
  return {
    ...base,
    header: {
      ...base.header,
      changeType,
      changeOrigin: `com/salesforce/api/${api}/62.0;client=attio-sfdc`,
      transactionKey,
      changedFields: changeType === "UPDATE" ? ["Title"] : [],
    },
    fields: changeType === "CREATE" ? { Name: { FirstName, LastName }, ...rest } : { Title: rest["Title"] },
    replayId: String(++lastReplayId),
    dedupeKey: `sf:${transactionKey}:0`,
  };
}

describe("queue handler: Attio person -> Salesforce Contact", () => {
  it("creates a Contact with the mapped fields and stores the pair, base and audit row", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-create", {
      first: "Mira",
      last: "Okafor",
      email: "mira@northwind.example",
      title: "Head of RevOps",
    });

    const { ids, result } = await runQueue([personChanged("p-create")]);

    expect(result.explicitAcks).toEqual(ids);
    expect(result.retryMessages).toEqual([]);
    expect(sf.contacts.size).toBe(1);
    expect([...sf.contacts.values()][0]).toMatchObject({
      FirstName: "Mira",
      LastName: "Okafor",
      Email: "mira@northwind.example",
      Phone: "+442079460321",
      Title: "Head of RevOps",
    });
    // The person's company is not synced yet: AccountId is left out, never written wrong.
    expect(sf.writtenRecords()[0]).not.toHaveProperty("AccountId");
    const [contactId] = [...sf.contacts.keys()];
    const mapping = await mappingOf("p-create");
    expect(mapping).toMatchObject({ attioObject: "people", sfObject: "Contact", sfRecordId: contactId });
    const state = await db
      .select()
      .from(syncState)
      .where(eq(syncState.mappingId, mapping?.id ?? ""))
      .get();
    expect(state?.baseValues).toMatchObject({
      attio: { LastName: "Okafor", Title: "Head of RevOps" },
      salesforce: { LastName: "Okafor", Title: "Head of RevOps" },
    });
    expect(state?.baseHash).toMatch(/^[0-9a-f]{64}$/);
    const audit = await db.select().from(auditLog).where(eq(auditLog.attioRecordId, "p-create")).all();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ operation: "create", direction: "attio_to_sf", sfRecordId: contactId });
    expect(audit[0]?.changes["Title"]).toEqual({ before: null, after: "Head of RevOps" });
    // Every Salesforce call names our client so change events of our writes can be recognised.
    expect(sf.calls.every((c) => c.callOptions === "client=attio-sfdc")).toBe(true);
  });

  it("updates the same Contact on a second event and writes only the changed field", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-update", { email: "update@northwind.example", title: "Analyst" });
    await runQueue([personChanged("p-update")]);
    const [contactId] = [...sf.contacts.keys()];

    attio.setJobTitle("p-update", "Director");
    const { result } = await runQueue([personChanged("p-update")]);

    expect(result.retryMessages).toEqual([]);
    expect(sf.contacts.size).toBe(1);
    expect(sf.contacts.get(contactId ?? "")?.["Title"]).toBe("Director");
    const patches = sf.writes().filter((c) => c.method === "PATCH");
    expect(patches).toHaveLength(1);
    expect(sf.writtenRecords().at(-1)).toEqual({ id: contactId, Title: "Director" });
    const audit = await db.select().from(auditLog).where(eq(auditLog.attioRecordId, "p-update")).all();
    expect(audit.map((a) => a.operation)).toEqual(["create", "update"]);
    expect(audit[1]?.changes).toEqual({ Title: { before: "Analyst", after: "Director" } });
  });

  it("retries only the record whose Attio merge is still being applied; the batch's others sync", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-merging", { email: "merging@northwind.example", title: "CTO" });
    attio.addPerson("p-bystander", { email: "bystander@northwind.example", title: "Analyst" });
    await runQueue([personChanged("p-merging"), personChanged("p-bystander")]);
    expect(sf.contacts.size).toBe(2);

    const finishMerge = attio.startMerge("p-merging");
    attio.setJobTitle("p-bystander", "Director");
    const { ids, result } = await runQueue([personChanged("p-merging"), personChanged("p-bystander")]);

    // The fault fired: the merging record was read by id and answered merge_in_progress.
    expect(attio.calls.some((c) => c.method === "GET" && c.path === "/v2/objects/people/records/p-merging")).toBe(true);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual([ids[0]]);
    expect(result.explicitAcks).toEqual([ids[1]]);
    expect([...sf.contacts.values()].find((c) => c["Email"] === "bystander@northwind.example")?.["Title"]).toBe(
      "Director",
    );
    // Not taken for a delete: nothing held, the pair still there.
    expect(await db.select().from(pendingDeletes).all()).toEqual([]);
    finishMerge();
  });

  it("writes nothing when the mapped values equal the base (an echo or a system recompute)", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-same", { email: "same@northwind.example" });
    await runQueue([personChanged("p-same")]);
    const writesAfterCreate = sf.writes().length;

    const { result } = await runQueue([personChanged("p-same", { actor: { type: "system", id: null } })]);

    expect(result.retryMessages).toEqual([]);
    expect(sf.writes().length).toBe(writesAfterCreate);
    const audit = await db.select().from(auditLog).where(eq(auditLog.attioRecordId, "p-same")).all();
    expect(audit).toHaveLength(1);
  });

  it("settles an Attio event whose values equal the base without a write, and syncs one that changed in one read of each side", async () => {
    const { attio, sf } = setup();
    const created = attio.addPerson("p-api-echo", { email: "api-echo@northwind.example", title: "CTO" });
    // No company: a reference still waiting for its company to sync would need Salesforce read.
    created.values.company = [];
    await runQueue([personChanged("p-api-echo")]);
    const sfCallsAfterCreate = sf.calls.length;
    const echo = { actor: { type: "api-token" as const, id: "7e2d4c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f" } };

    const settled = await runQueue([personChanged("p-api-echo", echo)]);
    expect(settled.result.explicitAcks).toEqual(settled.ids);
    // Salesforce is read beside Attio (one round trip for a person's edit), and nothing is written.
    expect(sf.calls.slice(sfCallsAfterCreate).map((c) => c.path.endsWith("/query"))).toEqual([true]);

    attio.setJobTitle("p-api-echo", "CEO");
    const queries = () => attio.calls.filter((c) => c.path === "/v2/objects/people/records/query").length;
    const queriesBefore = queries();
    const sfQueriesBefore = sf.calls.filter((c) => c.path.endsWith("/query")).length;
    const changed = await runQueue([personChanged("p-api-echo", echo)]);
    expect(changed.result.explicitAcks).toEqual(changed.ids);
    // The records read for the comparison are the ones synced: each side is read once.
    expect(queries() - queriesBefore).toBe(1);
    expect(sf.calls.filter((c) => c.path.endsWith("/query")).length - sfQueriesBefore).toBe(1);
    expect([...sf.contacts.values()].find((c) => c["Email"] === "api-echo@northwind.example")?.["Title"]).toBe("CEO");
  });

  it("coalesces several events of one person in a batch into one read and one write", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-burst", { email: "burst@northwind.example" });

    const { ids, result } = await runQueue([
      personChanged("p-burst"),
      personChanged("p-burst"),
      personChanged("p-burst"),
    ]);

    expect(result.explicitAcks.sort()).toEqual([...ids].sort());
    expect(attio.calls.filter((c) => c.method === "POST" && c.path.endsWith("/people/records/query"))).toHaveLength(1);
    expect(sf.writes()).toHaveLength(1);
  });

  it("last_write: an Attio edit newer than Salesforce's change of the field wins, though a later edit of another field moved LastModifiedDate", async () => {
    const { attio, sf } = setup();
    const person = attio.addPerson("p-field-time", { email: "field-time@northwind.example", title: "Analyst" });
    await runQueue([personChanged("p-field-time")]);
    const [contactId = ""] =
      [...sf.contacts.entries()].find(([, c]) => c["Email"] === "field-time@northwind.example") ?? [];
    const now = Date.now();
    const at = (secondsAgo: number) => now - secondsAgo * 1000;
    const event = (n: number, commit: number, fields: Record<string, unknown>) => ({
      payload: {
        ...fields,
        ChangeEventHeader: {
          entityName: "Contact",
          recordIds: [contactId],
          changeType: "UPDATE",
          changeOrigin: "com/salesforce/ui",
          transactionKey: `tx-field-time-${n}`,
          sequenceNumber: 1,
          commitTimestamp: commit,
          commitUser: "005Hs00000B2cDeIAF",
          changedFields: Object.keys(fields),
        },
      },
      event: { replayId: 3000 + n },
    });
    // Salesforce: Title at -30 s; Attio: title at -20 s; Salesforce: Phone at -10 s, which moves the
    // Contact's LastModifiedDate past the Attio edit. Both change events reach the Worker only now.
    sf.contacts.set(contactId, {
      ...sf.contacts.get(contactId),
      Title: "Sales Title",
      Phone: "+1 555 0100",
      LastModifiedDate: new Date(at(10)).toISOString().replace("Z", "+0000"),
    });
    attio.setJobTitle("p-field-time", "Attio Title", new Date(at(20)).toISOString());

    const response = await exports.default.fetch(
      await relayRequest({
        events: [event(1, at(30), { Title: "Sales Title" }), event(2, at(10), { Phone: "+1 555 0100" })],
      }),
    );
    expect(response.status).toBe(200);
    await drainQueue();

    expect(sf.contacts.get(contactId)?.["Title"]).toBe("Attio Title");
    expect(person.values.job_title[0]?.value).toBe("Attio Title");
  });

  it("last_write: a run the change event did not start (here the Attio webhook's) still takes the field's event time", async () => {
    const { attio, sf } = setup();
    const person = attio.addPerson("p-field-time-2", { email: "field-time-2@northwind.example", title: "Analyst" });
    await runQueue([personChanged("p-field-time-2")]);
    const [contactId = ""] =
      [...sf.contacts.entries()].find(([, c]) => c["Email"] === "field-time-2@northwind.example") ?? [];
    const now = Date.now();
    sf.contacts.set(contactId, {
      ...sf.contacts.get(contactId),
      Title: "Sales Title",
      LastModifiedDate: new Date(now - 10_000).toISOString().replace("Z", "+0000"),
    });
    attio.setJobTitle("p-field-time-2", "Attio Title", new Date(now - 20_000).toISOString());
    // As /webhooks/salesforce stored it when the Title's event arrived (its message still queued).
    await recordFieldTimes(openDb(env.DB), [
      { entity: "Contact", recordId: contactId, field: "Title", at: now - 30_000, value: '"Sales Title"' },
    ]);

    await runQueue([personChanged("p-field-time-2")]);

    expect(sf.contacts.get(contactId)?.["Title"]).toBe("Attio Title");
    expect(person.values.job_title[0]?.value).toBe("Attio Title");
  });

  it("settles the echo of its own write without a read, but never lets it hide a change in the same batch", async () => {
    const { attio, sf } = setup();
    const person = attio.addPerson("p-echo", { email: "echo@northwind.example", title: "CTO" });
    await runQueue([personChanged("p-echo")]);
    const [contactId = ""] = [...sf.contacts.keys()];
    const change = (title: string, origin: string, n: number): SalesforceChangeMessage => ({
      ...relayedChange("Contact", contactId),
      header: {
        ...relayedChange("Contact", contactId).header,
        changeOrigin: origin,
        transactionKey: `tx-echo-${n}`,
        changedFields: ["Title", "LastModifiedDate"],
      },
      fields: { Title: title, LastModifiedDate: new Date().toISOString() },
      replayId: String(1000 + n),
      dedupeKey: `sf:tx-echo-${n}:0`,
    });
    const queries = () => sf.calls.filter((c) => c.path.endsWith("/query")).length;

    // The echo of our create's Title, alone: nothing to do, nothing read.
    const before = queries();
    await runQueue([change("CTO", "com/salesforce/api/rest/62.0;client=attio-sfdc", 1)]);
    expect(queries()).toBe(before);

    // A person edits the Title in Salesforce; its event and an older echo arrive in one batch.
    const contact = sf.contacts.get(contactId);
    if (contact) contact["Title"] = "VP Sales";
    await runQueue([
      change("VP Sales", "com/salesforce/ui", 2),
      change("CTO", "com/salesforce/api/rest/62.0;client=attio-sfdc", 3),
    ]);
    expect(queries()).toBeGreaterThan(before);
    expect(JSON.stringify(person.values.job_title)).toContain("VP Sales");
  });

  it("settles a create event equal to the base while another consumer holds the pair; an update event waits", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-held", { first: "Ada", last: "Osei", email: "held@northwind.example", title: "CTO" });
    await runQueue([personChanged("p-held")]);
    const [contactId = ""] = [...sf.contacts.keys()];
    const mapping = await mappingOf("p-held");
    const event = (changeType: "CREATE" | "UPDATE", n: number) =>
      ownContactEvent(sf, contactId, changeType, `tx-held-${n}`, "rest");
    const names = [`pair:${mapping?.id}`];
    await acquireLeases(env.RECORD_LOCK, "another-batch", names, 20_000);
    const queries = sf.calls.filter((c) => c.path.endsWith("/query")).length;

    const created = await runQueue([event("CREATE", 1)]);
    const updated = await runQueue([event("UPDATE", 2)]);
    await releaseLeases(env.RECORD_LOCK, "another-batch", names);

    // The create shows the record as first committed, which the base already holds: done, unread.
    expect(created.result.explicitAcks).toEqual(created.ids);
    expect(sf.calls.filter((c) => c.path.endsWith("/query")).length).toBe(queries);
    // An update equal to the base may be a revert racing the holder's sync: only the lease orders them.
    expect(updated.result.retryMessages.map((m) => m.msgId)).toEqual(updated.ids);
  });

  it("writes nothing for a pair whose lease another consumer took mid-run (after it expired), and retries it", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-fenced", { email: "fenced@northwind.example", title: "Analyst" });
    await runQueue([personChanged("p-fenced")]);
    const [contactId = ""] = [...sf.contacts.keys()];
    const name = `pair:${(await mappingOf("p-fenced"))?.id}`;
    const writesBefore = sf.writes().length;
    attio.setJobTitle("p-fenced", "Director");
    // While the run reads Attio, its lease expires and another consumer takes the pair.
    let stolen: Awaited<ReturnType<typeof acquireLeases>> | undefined;
    server.use(
      http.post(`${ATTIO}/v2/objects/people/records/query`, async () => {
        if (stolen) return undefined;
        await runInDurableObject(env.RECORD_LOCK.getByName(lockShard(name)), (_lock, state) => {
          state.storage.sql.exec("UPDATE leases SET expires_at = 0 WHERE name = ?", name);
        });
        stolen = await acquireLeases(env.RECORD_LOCK, "the-other-consumer", [name], 60_000);
        return undefined;
      }),
    );

    const { ids, result } = await runQueue([personChanged("p-fenced")]);

    expect(stolen?.acquired).toEqual([name]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(ids);
    expect(sf.writes().length).toBe(writesBefore);
    expect(sf.contacts.get(contactId)?.["Title"]).toBe("Analyst");
    const probe = await acquireLeases(env.RECORD_LOCK, "a-third-consumer", [name], 1_000);
    expect(probe.busy.map((b) => b.heldBy)).toEqual(["the-other-consumer"]);
    await releaseLeases(env.RECORD_LOCK, "the-other-consumer", [name]);

    // Once the other consumer is done, the retry writes it.
    const retried = await runQueue([personChanged("p-fenced")]);
    expect(retried.result.explicitAcks).toEqual(retried.ids);
    expect(sf.contacts.get(contactId)?.["Title"]).toBe("Director");
  });

  it("does not overwrite a Salesforce edit made between its read and its write (412): retried, it keeps the person's value", async () => {
    const { attio, sf } = setup();
    const person = attio.addPerson("p-race-sf", { email: "race-sf@northwind.example", title: "Analyst" });
    await runQueue([personChanged("p-race-sf")]);
    const [contactId = ""] = [...sf.contacts.keys()];
    sf.contacts.set(contactId, { ...sf.contacts.get(contactId), LastModifiedDate: "2026-01-01T00:00:00.000+0000" });
    attio.setJobTitle("p-race-sf", "Director");
    let edited = false;
    sf.afterQuery(new RegExp(`FROM Contact WHERE Id IN \\('${contactId}'\\)`), () => {
      // A person edits the Contact in Salesforce right after the engine read it.
      const now = new Date().toISOString().replace("Z", "+0000");
      sf.contacts.set(contactId, { ...sf.contacts.get(contactId), Title: "Human Title", LastModifiedDate: now });
      edited = true;
    });

    const first = await runQueue([personChanged("p-race-sf")]);

    expect(edited).toBe(true);
    expect(first.result.retryMessages.map((m) => m.msgId)).toEqual(first.ids);
    expect(sf.contacts.get(contactId)?.["Title"]).toBe("Human Title");
    // The retry reads both sides again: both changed, and the person's Salesforce edit is the later one.
    const retried = await runQueue([personChanged("p-race-sf")]);
    expect(retried.result.explicitAcks).toEqual(retried.ids);
    expect(sf.contacts.get(contactId)?.["Title"]).toBe("Human Title");
    expect(person.values.job_title[0]?.value).toBe("Human Title");
  });

  it("writes a run's first Attio update without reading the record again", async () => {
    const { attio, sf } = setup();
    const person = attio.addPerson("p-fresh", { email: "fresh@northwind.example", title: "Analyst" });
    await runQueue([personChanged("p-fresh")]);
    const [contactId = ""] = [...sf.contacts.keys()];
    const aMinuteAgo = new Date(Date.now() - 60_000).toISOString().replace("Z", "+0000");
    sf.contacts.set(contactId, { ...sf.contacts.get(contactId), Title: "Director", LastModifiedDate: aMinuteAgo });
    // This person only: what the background queue does for other records (a deferred company) is not counted.
    const readsById = () => attio.calls.filter((c) => c.method === "GET" && c.path.endsWith("/records/p-fresh")).length;
    const before = readsById();

    await runQueue([internalSalesforceMessage("Contact", contactId, "UPDATE")]);

    expect(person.values.job_title[0]?.value).toBe("Director");
    expect(readsById()).toBe(before);
  });

  it("does not overwrite an Attio edit made between its read and a later write of the run (re-read first): retried, it keeps the person's value", async () => {
    const { attio, sf } = setup();
    const other = attio.addPerson("p-race-first", { email: "race-first@northwind.example", title: "Analyst" });
    const person = attio.addPerson("p-race-at", { email: "race-at@northwind.example", title: "Analyst" });
    await runQueue([personChanged("p-race-first"), personChanged("p-race-at")]);
    const contactOf = (email: string) => [...sf.contacts.entries()].find(([, c]) => c["Email"] === email)?.[0] ?? "";
    const firstId = contactOf("race-first@northwind.example");
    const contactId = contactOf("race-at@northwind.example");
    const aMinuteAgo = new Date(Date.now() - 60_000).toISOString().replace("Z", "+0000");
    for (const id of [firstId, contactId])
      sf.contacts.set(id, { ...sf.contacts.get(id), Title: "Sales Value", LastModifiedDate: aMinuteAgo });
    let edited = false;
    attio.afterQuery(() => {
      // A person edits the title in Attio right after the engine read it.
      attio.setJobTitle("p-race-at", "Human Title", new Date().toISOString());
      edited = true;
    });

    // The other record's update is the run's first write; the raced one comes after it.
    const first = await runQueue([
      internalSalesforceMessage("Contact", firstId, "UPDATE"),
      internalSalesforceMessage("Contact", contactId, "UPDATE"),
    ]);

    expect(edited).toBe(true);
    expect(other.values.job_title[0]?.value).toBe("Sales Value");
    expect(first.result.retryMessages.map((m) => m.msgId)).toEqual([first.ids[1]]);
    expect(person.values.job_title[0]?.value).toBe("Human Title");
    const retried = await runQueue([internalSalesforceMessage("Contact", contactId, "UPDATE")]);
    expect(retried.result.explicitAcks).toEqual(retried.ids);
    expect(person.values.job_title[0]?.value).toBe("Human Title");
    expect(sf.contacts.get(contactId)?.["Title"]).toBe("Human Title");
  });

  it("settles a bundle of echoes event by event, sends again only what must wait, records what is invalid", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-bundle-1", { first: "Ada", last: "Osei", email: "bundle1@northwind.example" });
    attio.addPerson("p-bundle-2", { first: "Bo", last: "Lind", email: "bundle2@northwind.example" });
    await runQueue([personChanged("p-bundle-1"), personChanged("p-bundle-2")]);
    const created = (n: number, contactId: string) =>
      ownContactEvent(sf, contactId, "CREATE", `tx-bundle-${n}`, "bulkapi");
    const [first = "", second = ""] = [...sf.contacts.keys()];
    // A Contact we created whose pair is not stored yet: its echo must wait for the pair.
    sf.contacts.set("003Hs0000BNDL03AAA", {
      FirstName: "Cy",
      LastName: "Moss",
      Email: null,
      Phone: null,
      Title: null,
    });
    const waiting = created(3, "003Hs0000BNDL03AAA");
    const bundle = {
      kind: "salesforce.changes",
      attempt: 1,
      events: [created(1, first), created(2, second), waiting, { kind: "salesforce.change", header: {} }],
    };
    const send = vi.spyOn(env.SYNC_QUEUE, "send");
    const queries = sf.calls.filter((c) => c.path.endsWith("/query")).length;

    const { ids, result } = await runQueue([bundle]);

    expect(result.explicitAcks).toEqual(ids);
    expect(result.retryMessages).toEqual([]);
    // The two echoes settled without reading Salesforce; the third goes back alone, 5 s later.
    expect(sf.calls.filter((c) => c.path.endsWith("/query")).length).toBe(queries);
    expect(send.mock.calls).toEqual([
      [
        { kind: "salesforce.changes", attempt: 2, events: [waiting] },
        { contentType: "json", delaySeconds: expect.any(Number) },
      ],
    ]);
    expect(send.mock.calls[0]?.[1]?.delaySeconds).toBeGreaterThanOrEqual(5);
    const invalid = await db
      .select()
      .from(failures)
      .where(eq(failures.id, `msg:${ids[0]}:3`))
      .get();
    expect(invalid).toMatchObject({ messageKind: "invalid" });
  });

  it("records a bundled event that is still waiting when its deliveries are spent, once, as a failure", async () => {
    setup();
    const event: SalesforceChangeMessage = {
      ...relayedChange("Contact", "003Hs0000BNDL09AAA"),
      header: {
        ...relayedChange("Contact", "003Hs0000BNDL09AAA").header,
        changeType: "CREATE",
        changeOrigin: "com/salesforce/api/bulkapi/62.0;client=attio-sfdc",
        transactionKey: "tx-bundle-9",
      },
      fields: { Name: { FirstName: "Di", LastName: "Roe" } },
      replayId: "3009",
      dedupeKey: "sf:tx-bundle-9:0",
    };
    const send = vi.spyOn(env.SYNC_QUEUE, "send");
    // Another consumer holds the Contact through the last delivery: the event can only wait.
    const names = ["salesforce:people:003Hs0000BNDL09AAA"];
    await acquireLeases(env.RECORD_LOCK, "another-batch", names, 20_000);

    const { ids, result } = await runQueue([{ kind: "salesforce.changes", attempt: 9, events: [event] }]);
    await releaseLeases(env.RECORD_LOCK, "another-batch", names);

    expect(result.explicitAcks).toEqual(ids);
    expect(send).not.toHaveBeenCalled();
    const failure = await db.select().from(failures).where(eq(failures.id, "event:sf:tx-bundle-9:0")).get();
    expect(failure).toMatchObject({ messageKind: "salesforce.change", errorCode: "record_busy" });
  });

  it("links to an existing Contact with the same email instead of creating a second one", async () => {
    const { attio, sf } = setup();
    sf.contacts.set("003Hs0000EXIST1AAA", {
      FirstName: "Mira",
      LastName: "Okafor",
      Email: "link@northwind.example",
      Phone: null,
      Title: null,
    });
    attio.addPerson("p-link", { first: "Mira", last: "Okafor", email: "link@northwind.example", title: "CFO" });

    await runQueue([personChanged("p-link")]);

    expect(sf.contacts.size).toBe(1);
    expect(sf.contacts.get("003Hs0000EXIST1AAA")).toMatchObject({ Title: "CFO", Phone: "+442079460321" });
    expect(await mappingOf("p-link")).toMatchObject({ sfRecordId: "003Hs0000EXIST1AAA" });
  });

  it("waits instead of linking when the Contact it matches is held by another consumer (the echo of a job's create)", async () => {
    const { attio, sf } = setup();
    sf.contacts.set("003Hs0000BUSY01AAA", {
      FirstName: "Ada",
      LastName: "Osei",
      Email: "busy@northwind.example",
      Phone: null,
      Title: null,
    });
    attio.addPerson("p-busy", { first: "Ada", last: "Osei", email: "busy@northwind.example" });
    // A job batch syncing that Contact holds its lease while it creates the Attio person.
    const names = ["salesforce:people:003Hs0000BUSY01AAA"];
    await acquireLeases(env.RECORD_LOCK, "job-batch", names, 20_000);

    const first = await runQueue([personChanged("p-busy")]);
    expect(first.result.retryMessages.map((m) => m.msgId)).toEqual(first.ids);
    expect(await mappingOf("p-busy")).toBeUndefined();
    expect(sf.contacts.size).toBe(1);

    await releaseLeases(env.RECORD_LOCK, "job-batch", names);
    const second = await runQueue([personChanged("p-busy")], { attempts: 2 });
    expect(second.result.explicitAcks).toEqual(second.ids);
    expect(await mappingOf("p-busy")).toMatchObject({ sfRecordId: "003Hs0000BUSY01AAA" });
    expect(sf.contacts.size).toBe(1);
  });

  it("re-reads instead of creating a second Contact when its match got linked to it meanwhile", async () => {
    const { attio, sf } = setup();
    sf.contacts.set("003Hs0000RACE01AAA", {
      FirstName: "Lin",
      LastName: "Park",
      Email: "race@northwind.example",
      Phone: null,
      Title: null,
    });
    attio.addPerson("p-race", { first: "Lin", last: "Park", email: "race@northwind.example" });
    // Another consumer stores the pair while this one is asking Salesforce for candidates.
    server.use(
      http.get(
        `${SF_INSTANCE}/services/data/v62.0/query`,
        async ({ request }) => {
          if (!new URL(request.url).searchParams.get("q")?.includes("Email IN")) return undefined;
          await db.insert(idMappings).values({
            id: "pair-race",
            attioObject: "people",
            attioRecordId: "p-race",
            sfObject: "Contact",
            sfRecordId: "003Hs0000RACE01AAA",
          });
          return undefined;
        },
        { once: true },
      ),
    );

    const first = await runQueue([personChanged("p-race")]);
    expect(first.result.retryMessages.map((m) => m.msgId)).toEqual(first.ids);
    expect(sf.contacts.size).toBe(1);

    const second = await runQueue([personChanged("p-race")], { attempts: 2 });
    expect(second.result.explicitAcks).toEqual(second.ids);
    expect(sf.contacts.size).toBe(1);
    expect(await mappingOf("p-race")).toMatchObject({ id: "pair-race", sfRecordId: "003Hs0000RACE01AAA" });
  });

  it("sends a request again after Attio answers 429, once Retry-After has passed, within the same message", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-429", { email: "429@northwind.example" });
    attio.queue429(1);

    const { ids, result } = await runQueue([personChanged("p-429")]);

    expect(result.explicitAcks).toEqual(ids);
    expect(sf.contacts.size).toBe(1);
    // The refused read and its second send: Attio did not process the first.
    const reads = attio.calls.filter((c) => c.path.endsWith("/records/query"));
    expect(reads.length).toBeGreaterThanOrEqual(2);
  });

  it("retries the message when Attio keeps answering 429, then succeeds", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-429-again", { email: "429-again@northwind.example" });
    attio.queue429(3);

    const first = await runQueue([personChanged("p-429-again")]);
    expect(first.result.retryMessages.map((m) => m.msgId)).toEqual(first.ids);
    expect(first.result.explicitAcks).toEqual([]);
    expect(sf.contacts.size).toBe(0);

    const second = await runQueue([personChanged("p-429-again")], { attempts: 2 });
    expect(second.result.explicitAcks).toEqual(second.ids);
    expect(sf.contacts.size).toBe(1);
  });

  it("gives up on an Attio read that never answers and retries the message, instead of holding the batch", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-hung", { email: "hung@northwind.example" });
    attio.hangReads(1);

    const first = await runQueue([personChanged("p-hung")], { vars: { UPSTREAM_TIMEOUT_SECONDS: "1" } });
    expect(first.result.retryMessages.map((m) => m.msgId)).toEqual(first.ids);
    expect(sf.contacts.size).toBe(0);

    const second = await runQueue([personChanged("p-hung")], { attempts: 2 });
    expect(second.result.explicitAcks).toEqual(second.ids);
    expect(sf.contacts.size).toBe(1);
  });

  it("gives up on a Salesforce query that never answers and retries the message, instead of holding the batch", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-sf-hang", { first: "Ines", last: "Duarte", email: "sf-hang@northwind.example" });
    // The query that looks for a Contact to link to by email never answers.
    sf.hangQueries(1);
    const vars = { SALESFORCE_TIMEOUT_SECONDS: "1" };

    const first = await runQueue([personChanged("p-sf-hang")], { vars });
    expect(first.result.retryMessages.map((m) => m.msgId)).toEqual(first.ids);
    expect(sf.contacts.size).toBe(0);
    expect(await mappingOf("p-sf-hang")).toBeUndefined();

    const second = await runQueue([personChanged("p-sf-hang")], { attempts: 2, vars });
    expect(second.result.explicitAcks).toEqual(second.ids);
    expect(sf.contacts.size).toBe(1);
    expect(await mappingOf("p-sf-hang")).toMatchObject({ sfObject: "Contact" });
  });

  it("gets a new token and retries once when Salesforce answers 401 INVALID_SESSION_ID", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-token", { email: "token@northwind.example", title: "Engineer" });
    await runQueue([personChanged("p-token")]);
    expect(sf.tokensIssued).toBe(1);

    sf.expireTokens();
    attio.setJobTitle("p-token", "Staff Engineer");
    const { ids, result } = await runQueue([personChanged("p-token")]);

    expect(result.explicitAcks).toEqual(ids);
    expect(sf.tokensIssued).toBe(2);
    expect([...sf.contacts.values()][0]?.["Title"]).toBe("Staff Engineer");
  });

  it("records a permanent Salesforce rejection as a failure and does not retry it", async () => {
    const { attio } = setup({
      rejectCreateWith: { statusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", message: "Title is locked" },
    });
    attio.addPerson("p-reject", { email: "reject@northwind.example" });
    const message = personChanged("p-reject");

    const { ids, result } = await runQueue([message]);

    expect(result.explicitAcks).toEqual(ids);
    expect(result.retryMessages).toEqual([]);
    const row = await db
      .select()
      .from(failures)
      .where(eq(failures.id, `event:${message.dedupeKey}`))
      .get();
    expect(row).toMatchObject({ status: "open", errorCode: "upstream_rejected", messageKind: "attio.record" });
    expect(row?.errorMessage).toContain("FIELD_CUSTOM_VALIDATION_EXCEPTION");
    // The values we tried to write are kept for the operator.
    expect(row?.attempted).toMatchObject({ LastName: "Okafor", Email: "reject@northwind.example" });
    expect(await mappingOf("p-reject")).toBeUndefined();
  });

  it("records an invalid message as a failure without losing the valid message beside it", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-valid", { email: "valid@northwind.example" });

    const { ids, result } = await runQueue([{ kind: "attio.record", recordId: 42 }, personChanged("p-valid")]);

    expect(result.explicitAcks.sort()).toEqual([...ids].sort());
    expect(sf.contacts.size).toBe(1);
    const row = await db
      .select()
      .from(failures)
      .where(eq(failures.id, `msg:${ids[0]}`))
      .get();
    expect(row).toMatchObject({ messageKind: "invalid", errorCode: "internal" });
  });

  it("records dead letters as failures", async () => {
    const message = personChanged("p-dead");
    const { ids, result } = await runQueue([message], { queue: "attio-sfdc-sync-dlq", attempts: 8 });

    expect(result.explicitAcks).toEqual(ids);
    const row = await db
      .select()
      .from(failures)
      .where(eq(failures.id, `event:${message.dedupeKey}`))
      .get();
    expect(row).toMatchObject({ status: "open", attempts: 8, recordKey: `attio:${message.objectId}:p-dead` });
  });
});

describe("queue handler: Salesforce merges", () => {
  it("moves the pair to the surviving Contact when its Contact lost a merge, instead of deleting", async () => {
    const { attio, sf } = setup();
    attio.addPerson("p-merge", { email: "merge@northwind.example", title: "Analyst" });
    await runQueue([personChanged("p-merge")]);
    const loser = (await mappingOf("p-merge"))?.sfRecordId ?? "";
    const master = "003Hs000MASTER01AA";
    sf.contacts.set(master, { LastName: "Okafor", Email: "merge@northwind.example", Title: "Lead Analyst" });
    sf.merge(master, loser);
    const deleted = internalSalesforceMessage("Contact", loser, "DELETE");

    const { ids, result } = await runQueue([deleted]);

    expect(result.explicitAcks).toEqual(ids);
    expect(await mappingOf("p-merge")).toMatchObject({ sfRecordId: master });
    const held = await db.select().from(pendingDeletes).all();
    expect(held.filter((d) => d.deletedOn === "salesforce")).toEqual([]);
    const audit = await db.select().from(auditLog).where(eq(auditLog.attioRecordId, "p-merge")).all();
    expect(audit.at(-1)).toMatchObject({ operation: "link", sfRecordId: master });
  });
});
