import { env, exports } from "cloudflare:workers";
import { eq, inArray, like, or } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import {
  ambiguousMatches,
  auditLog,
  conflicts,
  createIntents,
  deferredRefs,
  failures,
  heldUpdates,
  idMappings,
  issueDismissals,
  jobMatchKeys,
  jobRecords,
  mappingWarnings,
  parkedChanges,
  pendingDeletes,
  recentUpdates,
  sfFieldTimes,
  syncJobs,
  syncState,
  updateHolds,
} from "../../src/store/schema.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

// What a test enqueues is consumed in the background: let it finish while the fakes still answer.
afterEach(() => drainQueue());
beforeEach(() => clearTokenCache());

const db = openDb(env.DB);

function erase(body: unknown) {
  return exports.default.fetch("https://worker.test/api/v1/erase", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

interface EraseAnswer {
  erase_id: string;
  key: string;
  record_ids: string[];
  link: string;
  removed: Record<string, number>;
  total: number;
}

const hex = () => crypto.randomUUID().replace(/-/g, "");

/**
 * Everything the sync can store about one person: a linked person/Contact pair with its base, its
 * audit trail (and an older Attio record of the same person, deleted and unlinked, whose audit
 * still holds the email), a failure and a parked change, a conflict, a held delete, an ambiguous
 * match, a warning and its dismissal, field times, a create intent, a job's rows, plan, match key
 * and error entry, a deferred reference, the breaker's window and a held update.
 */
async function seedPerson(name: string, job: string, hold: string) {
  const s = hex().slice(0, 8);
  // An underscore: a LIKE wildcard, matched literally.
  const email = `${name}_${s}@northwind.example`;
  const attio = `p-${name}-${s}`;
  const attioOld = `p-${name}-old-${s}`;
  const sf = `003${hex().slice(0, 15)}`;
  const pair = crypto.randomUUID();
  const values = { Email: email, LastName: name };
  await db
    .insert(idMappings)
    .values({ id: pair, attioObject: "people", attioRecordId: attio, sfObject: "Contact", sfRecordId: sf });
  await db.insert(syncState).values({
    mappingId: pair,
    baseValues: { attio: values, salesforce: values },
    baseHash: "x",
    lastDirection: "attio_to_sf",
  });
  const audit = {
    correlationId: `c-${s}`,
    direction: "attio_to_sf" as const,
    attioObject: "people",
    sfObject: "Contact",
    sourceEvent: { kind: "attio.record" },
  };
  await db.insert(auditLog).values([
    {
      ...audit,
      mappingId: pair,
      operation: "create",
      attioRecordId: attio,
      sfRecordId: sf,
      changes: { Email: { before: null, after: email } },
    },
    {
      ...audit,
      mappingId: pair,
      operation: "update",
      attioRecordId: attio,
      sfRecordId: sf,
      changes: { Title: { before: "A", after: "B" } },
    },
    // An earlier record of the same person, deleted and unlinked: only its values say whose it was.
    {
      ...audit,
      operation: "delete",
      attioRecordId: attioOld,
      changes: { Email: { before: email.toUpperCase(), after: null } },
    },
  ]);
  const failureId = `f-${name}-${s}`;
  const failure = { messageKind: "attio.record", errorCode: "x", errorMessage: "x", attempts: 1, correlationId: "c" };
  await db.insert(failures).values([
    { ...failure, id: failureId, message: { recordId: attio }, recordKey: `attio:people:${attio}` },
    // Stored without a record key: only the email in its message says whose it is.
    { ...failure, id: `f-${name}-nokey-${s}`, message: { fields: { Email: email } } },
    // A key naming no record (`*`: a whole object): found by the email alone too.
    { ...failure, id: `f-${name}-star-${s}`, message: { fields: { Email: email } }, recordKey: "salesforce:Contact:*" },
  ]);
  await db
    .insert(issueDismissals)
    .values({ kind: "failure", itemId: failureId, reason: "x", dismissedBy: "operator:admin-token" });
  await db.insert(parkedChanges).values({
    key: `salesforce:Contact:${sf}`,
    queue: "sync",
    message: { fields: { Email: email } },
    reason: "upstream_unavailable",
    errorMessage: "x",
  });
  await db
    .insert(conflicts)
    .values({ id: `k-${name}-${s}`, mappingId: pair, field: "Title", attioValue: "A", sfValue: "B" });
  await db.insert(pendingDeletes).values({ id: `d-${name}-${s}`, mappingId: pair, deletedOn: "attio" });
  await db
    .insert(ambiguousMatches)
    .values({ id: `m-${name}-${s}`, side: "attio", object: "people", recordId: attio, candidates: [sf] });
  await db.insert(mappingWarnings).values({
    id: `w-${name}-${s}`,
    mapping: "people",
    direction: "attio_to_sf",
    sourceObject: "people",
    sourceRecordId: attio,
    attioObject: "people",
    attioRecordId: attio,
    sfObject: "Contact",
    field: "Phone",
    attribute: "phone_numbers",
    code: "invalid_phone",
    message: "x",
    value: "+0",
    correlationId: "c",
  });
  await db
    .insert(sfFieldTimes)
    .values({ entity: "Contact", recordId: sf, field: "Email", at: Date.now(), value: JSON.stringify(email) });
  await db.insert(createIntents).values({
    sourceSide: "attio",
    sourceObject: "people",
    sourceRecordId: attio,
    targetSide: "salesforce",
    targetObject: "Contact",
    marker: values,
  });
  await db.insert(jobRecords).values({
    jobId: job,
    mapping: "people",
    side: "attio",
    recordId: attio,
    outcome: "created",
    action: "create",
    detail: values,
  });
  await db.insert(jobMatchKeys).values({ jobId: job, mapping: "people", key: email, sfId: sf });
  await db
    .insert(deferredRefs)
    .values({ side: "attio", object: "people", recordId: attio, targetObject: "companies", targetId: `co-${s}` });
  await db
    .insert(recentUpdates)
    .values({ mapping: "people", side: "salesforce", recordId: attio, at: new Date().toISOString() });
  await db.insert(heldUpdates).values({ holdId: hold, side: "attio", recordId: attio });
  return { email, attio, attioOld, sf, pair, failureId, s };
}

type Person = Awaited<ReturnType<typeof seedPerson>>;

async function seedTwo() {
  const job = crypto.randomUUID();
  const hold = crypto.randomUUID();
  await db.insert(syncJobs).values({
    id: job,
    kind: "full",
    state: "done",
    params: { direction: "both", mode: "full", dry_run: true, steps: [] },
    progress: {},
    errorSample: [],
  });
  await db
    .insert(updateHolds)
    .values({ id: hold, mapping: `people-${hold}`, side: "salesforce", count: 9, threshold: 5, windowMinutes: 60 });
  const ana = await seedPerson("ana", job, hold);
  const ben = await seedPerson("ben", job, hold);
  const sample = [
    { record: ana.attio, code: "x", message: "refused" },
    { page: true, code: "y", message: `a page failed near ${ana.email}` },
    { record: ben.attio, code: "x", message: "refused" },
  ];
  await db.update(syncJobs).set({ errorSample: sample }).where(eq(syncJobs.id, job));
  return { ana, ben, job, hold };
}

/** How many rows of each table are about the person (by their ids, pair and email). */
async function rowsOf(p: Person, job: string) {
  const ids = [p.attio, p.attioOld, p.sf];
  const count = async (rows: Promise<unknown[]>) => (await rows).length;
  const jobRow = await db.select().from(syncJobs).where(eq(syncJobs.id, job)).get();
  return {
    id_mappings: await count(db.select().from(idMappings).where(eq(idMappings.id, p.pair))),
    sync_state: await count(db.select().from(syncState).where(eq(syncState.mappingId, p.pair))),
    audit_log: await count(
      db
        .select()
        .from(auditLog)
        .where(
          or(inArray(auditLog.attioRecordId, ids), inArray(auditLog.sfRecordId, ids), eq(auditLog.mappingId, p.pair)),
        ),
    ),
    failures: await count(
      db
        .select()
        .from(failures)
        .where(like(failures.id, `f-%-${p.s}`)),
    ),
    issue_dismissals: await count(db.select().from(issueDismissals).where(eq(issueDismissals.itemId, p.failureId))),
    parked_changes: await count(
      db
        .select()
        .from(parkedChanges)
        .where(eq(parkedChanges.key, `salesforce:Contact:${p.sf}`)),
    ),
    conflicts: await count(db.select().from(conflicts).where(eq(conflicts.mappingId, p.pair))),
    pending_deletes: await count(db.select().from(pendingDeletes).where(eq(pendingDeletes.mappingId, p.pair))),
    ambiguous_matches: await count(db.select().from(ambiguousMatches).where(inArray(ambiguousMatches.recordId, ids))),
    mapping_warnings: await count(
      db.select().from(mappingWarnings).where(inArray(mappingWarnings.sourceRecordId, ids)),
    ),
    sf_field_times: await count(db.select().from(sfFieldTimes).where(inArray(sfFieldTimes.recordId, ids))),
    create_intents: await count(db.select().from(createIntents).where(inArray(createIntents.sourceRecordId, ids))),
    job_records: await count(db.select().from(jobRecords).where(inArray(jobRecords.recordId, ids))),
    job_match_keys: await count(db.select().from(jobMatchKeys).where(inArray(jobMatchKeys.sfId, ids))),
    job_errors: (jobRow?.errorSample ?? []).filter(
      (e) => JSON.stringify(e).includes(p.attio) || JSON.stringify(e).includes(p.email),
    ).length,
    deferred_refs: await count(db.select().from(deferredRefs).where(inArray(deferredRefs.recordId, ids))),
    recent_updates: await count(db.select().from(recentUpdates).where(inArray(recentUpdates.recordId, ids))),
    held_updates: await count(db.select().from(heldUpdates).where(inArray(heldUpdates.recordId, ids))),
  };
}

const EVERYTHING = {
  id_mappings: 1,
  sync_state: 1,
  audit_log: 3,
  failures: 3,
  issue_dismissals: 1,
  parked_changes: 1,
  conflicts: 1,
  pending_deletes: 1,
  ambiguous_matches: 1,
  mapping_warnings: 1,
  sf_field_times: 1,
  create_intents: 1,
  job_records: 1,
  job_match_keys: 1,
  job_errors: 2,
  deferred_refs: 1,
  recent_updates: 1,
  held_updates: 1,
};

/** The erase's own audit row: who and which kind of key, never the key. */
async function eraseAudit(answer: EraseAnswer) {
  return db
    .select()
    .from(auditLog)
    .where(eq(auditLog.correlationId, `erase:${answer.erase_id}`))
    .all();
}

describe("POST /api/v1/erase", () => {
  it("by email: removes every row about the person, keeps the pair without its base, audits without the email", async () => {
    const { ana, ben, job } = await seedTwo();
    expect(await rowsOf(ana, job)).toEqual(EVERYTHING);

    // Someone else whose email ends with Ana's: a whole value must match, not a part of one.
    const jo = `p-jo-${ana.s}`;
    await db.insert(auditLog).values({
      correlationId: `c-jo-${ana.s}`,
      direction: "attio_to_sf",
      operation: "update",
      attioObject: "people",
      attioRecordId: jo,
      changes: { Email: { before: null, after: `jo${ana.email}` } },
      sourceEvent: {},
    });

    // Compared without regard to case.
    const response = await erase({ email: ana.email.toUpperCase() });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as EraseAnswer;
    expect(answer).toMatchObject({ key: "email", link: "kept" });
    expect(answer.record_ids.sort()).toEqual([ana.attio, ana.attioOld, ana.sf].sort());
    expect(answer.removed).toEqual({ ...EVERYTHING, id_mappings: 0 });
    expect(answer.total).toBe(Object.values(EVERYTHING).reduce((a, b) => a + b, 0) - 1);

    expect(await rowsOf(ana, job)).toEqual({
      ...Object.fromEntries(Object.keys(EVERYTHING).map((k) => [k, 0])),
      id_mappings: 1,
    });
    // Ben's rows are all there, his error entry and the job itself too.
    expect(await rowsOf(ben, job)).toEqual({ ...EVERYTHING, job_errors: 1 });
    expect((await db.select().from(syncJobs).where(eq(syncJobs.id, job)).get())?.errorSample).toEqual([
      { record: ben.attio, code: "x", message: "refused" },
    ]);

    const [row, ...more] = await eraseAudit(answer);
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      operation: "operator",
      actor: "operator:admin-token",
      attioRecordId: null,
      sfRecordId: null,
      mappingId: null,
      sourceEvent: { kind: "person.erased", key: "email", records: 3, pairs: 1, link: "kept" },
    });
    expect(JSON.stringify(row)).not.toContain(ana.email.split("@")[0]);
    expect(JSON.stringify(row)).not.toContain(ana.attio);
    const mentions = await db
      .select()
      .from(auditLog)
      .where(or(like(auditLog.changes, `%${ana.email}%`), like(auditLog.sourceEvent, `%${ana.email}%`)));
    expect(mentions.map((m) => m.attioRecordId)).toEqual([jo]);

    // Nothing is left to find: a second call removes nothing (and is audited all the same).
    const again = (await (await erase({ email: ana.email })).json()) as EraseAnswer;
    expect(again.record_ids).toEqual([]);
    expect(again.total).toBe(0);
    expect(Object.values(again.removed).every((n) => n === 0)).toBe(true);
    expect(await eraseAudit(again)).toHaveLength(1);
  });

  it("by Attio record id with forget_link: the pair goes too, the counterpart's rows with it", async () => {
    const { ana, ben, job } = await seedTwo();

    const answer = (await (await erase({ attio_record_id: ana.attio, forget_link: true })).json()) as EraseAnswer;

    expect(answer).toMatchObject({ key: "attio_record_id", link: "forgotten" });
    expect(answer.record_ids.sort()).toEqual([ana.attio, ana.sf].sort());
    // Found by ids, not by value: the older record (its audit row) and the failures without its id are
    // not tied to these ids, and stay.
    expect(answer.removed).toMatchObject({ id_mappings: 1, sync_state: 1, audit_log: 2, failures: 1, job_errors: 1 });
    expect(await rowsOf(ana, job)).toMatchObject({
      id_mappings: 0,
      sync_state: 0,
      audit_log: 1,
      failures: 2,
      parked_changes: 0,
    });
    expect(await rowsOf(ben, job)).toEqual({ ...EVERYTHING, job_errors: 1 });
    const [row] = await eraseAudit(answer);
    expect(row?.sourceEvent).toEqual({
      kind: "person.erased",
      key: "attio_record_id",
      records: 2,
      pairs: 1,
      link: "forgotten",
    });

    const again = (await (await erase({ attio_record_id: ana.attio })).json()) as EraseAnswer;
    expect(again.total).toBe(0);
  });

  it("by Salesforce Id: the pair stays, a second call removes nothing", async () => {
    const { ana, ben, job } = await seedTwo();

    const answer = (await (await erase({ salesforce_id: ben.sf })).json()) as EraseAnswer;

    expect(answer).toMatchObject({ key: "salesforce_id", link: "kept" });
    expect(answer.record_ids.sort()).toEqual([ben.attio, ben.sf].sort());
    expect(answer.removed).toMatchObject({
      sync_state: 1,
      id_mappings: 0,
      parked_changes: 1,
      sf_field_times: 1,
      job_match_keys: 1,
    });
    expect(await rowsOf(ben, job)).toMatchObject({ id_mappings: 1, sync_state: 0, audit_log: 1, parked_changes: 0 });
    expect(await rowsOf(ana, job)).toEqual(EVERYTHING);
    const [row] = await eraseAudit(answer);
    expect(row?.direction).toBe("sf_to_attio");

    const again = (await (await erase({ salesforce_id: ben.sf })).json()) as EraseAnswer;
    expect(again.record_ids.sort()).toEqual([ben.attio, ben.sf].sort());
    expect(again.total).toBe(0);
  });

  it("answers 400 naming the field unless exactly one valid key is given", async () => {
    const cases: [unknown, string][] = [
      [{}, "email"],
      [{ email: "a@b.example", salesforce_id: "003000000000000AAA" }, "salesforce_id"],
      [{ email: "not an email" }, "email"],
      [{ salesforce_id: "003000000000000" }, "salesforce_id"],
      [{ attio_record_id: "has spaces" }, "attio_record_id"],
      [{ email: "a@b.example", forget_link: "yes" }, "forget_link"],
      [{ email: "a@b.example", name: "Ana" }, "(root)"],
    ];
    for (const [body, field] of cases) {
      const response = await erase(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const error = (await response.json()) as { error: { details: { path: string }[] } };
      expect(error.error.details.map((d) => d.path)).toContain(field);
    }
  });

  it("keeps the link: the next sync of the erased person links the same records again as a first link, no duplicate", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    const s = hex().slice(0, 8);
    const person = `p-erased-${s}`;
    const email = `erased-${s}@northwind.example`;
    attio.addPerson(person, { email, title: "Analyst" });
    await runQueue([personChanged(person)]);
    const [contactId] = [...sf.contacts.keys()];
    const pair = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, person)).get();
    expect(pair?.sfRecordId).toBe(contactId);

    const answer = (await (await erase({ email })).json()) as EraseAnswer;
    expect(answer.record_ids.sort()).toEqual([person, contactId].sort());
    expect(answer.removed).toMatchObject({ sync_state: 1, audit_log: 1, id_mappings: 0 });
    expect(
      await db
        .select()
        .from(syncState)
        .where(eq(syncState.mappingId, pair?.id ?? ""))
        .all(),
    ).toEqual([]);

    // With no base, which side changed is unknown: a difference is settled by the conflict strategy
    // (last_write: the later edit), as on a first link. This edit is the later one.
    attio.setJobTitle(person, "Director", new Date(Date.now() + 60_000).toISOString());
    const { result } = await runQueue([personChanged(person)]);

    expect(result.retryMessages).toEqual([]);
    expect(sf.contacts.size).toBe(1);
    expect(sf.contacts.get(contactId ?? "")?.["Title"]).toBe("Director");
    expect(
      (await db.select().from(idMappings).where(eq(idMappings.attioRecordId, person)).all()).map((p) => p.id),
    ).toEqual([pair?.id]);
    // The base is stored again: the sync goes on from here as before the erase.
    expect(
      await db
        .select()
        .from(syncState)
        .where(eq(syncState.mappingId, pair?.id ?? ""))
        .all(),
    ).toHaveLength(1);
  });
});
