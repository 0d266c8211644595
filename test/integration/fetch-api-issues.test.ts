import { env, exports } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { insertConfig } from "../../src/store/config.ts";
import { openDb } from "../../src/store/db.ts";
import {
  ambiguousMatches,
  auditLog,
  conflicts,
  failures,
  idMappings,
  issueDismissals,
  mappingWarnings,
  pendingDeletes,
} from "../../src/store/schema.ts";
import { REASONS } from "../../src/sync/issue-reasons.ts";
import { internalSalesforceMessage } from "../../src/sync/messages.ts";
import { forgetRuntime } from "../../src/sync/runtime.ts";
import { eventually } from "../helpers/eventually.ts";
import { fakeAttio, PEOPLE_OBJECT_ID } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

/**
 * GET /api/v1/issues and POST /issues/retry, /issues/dismiss, on issues the queue really produced
 * against the fakes: a write Salesforce rejects, a value it cannot take, a conflict held for a
 * person, a held delete and an ambiguous match. Storage is shared by this file's tests: each test
 * looks at its own items, and at counts before and after what it does.
 */

// What a retry enqueues is consumed in the background: let it finish while the fakes still answer.
afterEach(() => drainQueue());
beforeEach(() => clearTokenCache());
beforeAll(async () => {
  // Conflicts are held for a person instead of settled by the last write.
  await insertConfig(db, '[sync]\nconflict_resolution = "manual"\n');
  forgetRuntime();
});

const db = openDb(env.DB);

interface Item {
  kind: string;
  id: string;
  reason: string;
  summary: string;
  records: { side: string; object: string | null; record_id: string }[];
  detail: Record<string, unknown>;
}
interface Group {
  reason: string;
  kind: string;
  count: number;
  explanation: string;
  action: string;
  retry: { kind: string; route?: string };
  items: Item[];
  next_cursor: string | null;
}
interface Issues {
  total: number;
  groups: Group[];
}

async function call(method: string, path: string, body?: unknown) {
  const response = await exports.default.fetch(`https://worker.test/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function issues(query = ""): Promise<Issues> {
  const { status, body } = await call("GET", `/issues${query}`);
  expect(status).toBe(200);
  return body as unknown as Issues;
}

async function group(reason: string): Promise<Group> {
  const found = (await issues(`?reason=${reason}&limit=200`)).groups[0];
  if (!found) throw new Error(`no group ${reason}`);
  return found;
}

async function status() {
  return (await call("GET", "/status")).body as {
    open_failures: number;
    open_warnings: number;
    open_conflicts: number;
    ambiguous_matches: number;
    problems: { code: string; message: string }[];
  };
}

function setup() {
  const attio = fakeAttio();
  const sf = fakeSalesforce();
  server.use(...attio.handlers, ...sf.handlers);
  return { attio, sf };
}
type Fakes = ReturnType<typeof setup>;

/** A person created in Attio and synced: its Contact id. */
async function linkedPerson({ attio }: Fakes, id: string) {
  attio.addPerson(id, { email: `${id}@northwind.example`, title: "Analyst" });
  await runQueue([personChanged(id)]);
  const pair = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, id)).get();
  if (!pair) throw new Error(`${id} was not linked`);
  return pair.sfRecordId;
}

/** A user's edit of a Contact in Salesforce, then its change event. */
async function editContact({ sf }: Fakes, contactId: string, fields: Record<string, unknown>, event = true) {
  const contact = sf.contacts.get(contactId);
  if (!contact) throw new Error(`no Contact ${contactId}`);
  const later = new Date(Date.now() + 2000).toISOString().replace("Z", "+0000");
  sf.contacts.set(contactId, { ...contact, ...fields, LastModifiedDate: later, SystemModstamp: later });
  if (event) await runQueue([internalSalesforceMessage("Contact", contactId)]);
}

/** A person whose create Salesforce rejects: an open failure (write_rejected). */
async function rejectedPerson(fakes: Fakes, id: string) {
  fakes.sf.rejectCreates({ statusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", message: "Title is locked" });
  fakes.attio.addPerson(id, { email: `${id}@northwind.example` });
  await runQueue([personChanged(id)]);
  fakes.sf.rejectCreates(undefined);
  const row = await db
    .select()
    .from(failures)
    .where(eq(failures.recordKey, `attio:${PEOPLE_OBJECT_ID}:${id}`))
    .get();
  if (!row) throw new Error(`no failure for ${id}`);
  return row.id;
}

/** A linked person whose Title changed to different values on both sides: an open conflict. */
async function conflictingPerson(fakes: Fakes, id: string) {
  const contactId = await linkedPerson(fakes, id);
  await editContact(fakes, contactId, { Title: "CEO" }, false);
  fakes.attio.setJobTitle(id, "CTO", new Date(Date.now() + 1000).toISOString());
  await runQueue([personChanged(id)]);
  const pair = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, id)).get();
  const row = await db
    .select()
    .from(conflicts)
    .where(and(eq(conflicts.mappingId, pair?.id ?? ""), eq(conflicts.status, "open")))
    .get();
  if (!row) throw new Error(`no conflict for ${id}`);
  return { conflictId: row.id, contactId };
}

let twins = 0;

/** A person matching two Contacts with its email: an open ambiguous match. */
async function ambiguousPerson(fakes: Fakes, id: string) {
  const email = `${id}@northwind.example`;
  twins += 1;
  const duplicates = [`003Hs0000TWIN${twins}AAA`, `003Hs0000TWIN${twins}BAA`];
  for (const contactId of duplicates) fakes.sf.contacts.set(contactId, { LastName: "Twin", Email: email });
  fakes.attio.addPerson(id, { email });
  await runQueue([personChanged(id)]);
  const row = await db.select().from(ambiguousMatches).where(eq(ambiguousMatches.recordId, id)).get();
  if (!row) throw new Error(`no ambiguous match for ${id}`);
  return { matchId: row.id, duplicates };
}

describe("GET /api/v1/issues", () => {
  it("groups every kind of open issue the queue produced by its reason, with a count, what happened and what to do", async () => {
    const fakes = setup();
    const failureId = await rejectedPerson(fakes, "is-reject");
    const contactId = await linkedPerson(fakes, "is-warn");
    await editContact(fakes, contactId, { MailingCountry: "Atlantis" });
    const { conflictId } = await conflictingPerson(fakes, "is-conflict");
    const { matchId } = await ambiguousPerson(fakes, "is-ambig");
    const heldContact = await linkedPerson(fakes, "is-held");
    fakes.sf.userDelete(heldContact);
    await runQueue([internalSalesforceMessage("Contact", heldContact, "DELETE")]);

    const all = await issues();
    const byReason = new Map(all.groups.map((g) => [g.reason, g]));
    const mine = (reason: string, kind: string) =>
      byReason.get(reason)?.items.find((item) => item.kind === kind && item.records.length > 0);

    expect(byReason.get("write_rejected")?.items.map((i) => i.id)).toContain(failureId);
    expect(byReason.get("write_rejected")).toMatchObject({
      kind: "failure",
      explanation: REASONS.write_rejected.explanation,
      action: REASONS.write_rejected.action,
      retry: { kind: "replay" },
    });
    const failure = byReason.get("write_rejected")?.items.find((i) => i.id === failureId);
    expect(failure?.summary).toContain("FIELD_CUSTOM_VALIDATION_EXCEPTION");
    // The webhook's message names the object by id; the item names it by slug, as the others do.
    expect(failure?.records).toEqual([{ side: "attio", object: "people", record_id: "is-reject" }]);

    const warning = byReason.get("unmapped_value")?.items.find((i) => i.detail["source_record_id"] === contactId);
    expect(warning).toMatchObject({ kind: "warning", detail: { field: "MailingCountry", value: "Atlantis" } });
    expect(warning?.records).toEqual([
      { side: "attio", object: "people", record_id: "is-warn" },
      { side: "salesforce", object: "Contact", record_id: contactId },
    ]);

    expect(byReason.get("conflict_held")?.items.find((i) => i.id === conflictId)).toMatchObject({
      kind: "conflict",
      summary: 'Title: Attio "CTO", Salesforce "CEO" (was "Analyst")',
    });
    expect(byReason.get("conflict_held")?.retry).toMatchObject({
      kind: "refused",
      route: "POST /api/v1/conflicts/{id}",
    });
    expect(byReason.get("ambiguous_match")?.items.map((i) => i.id)).toContain(matchId);
    const held = byReason.get("delete_held")?.items.find((i) => i.records.some((r) => r.record_id === heldContact));
    expect(held).toMatchObject({ kind: "held_delete", detail: { deleted_on: "salesforce", hold: "policy" } });
    expect(mine("delete_held", "held_delete")).toBeDefined();

    // Each count is its group's items, and the total their sum.
    for (const g of all.groups) expect(g.count, g.reason).toBe((await group(g.reason)).items.length);
    expect(all.total).toBe(all.groups.reduce((sum, g) => sum + g.count, 0));
  });

  it("pages one group with a cursor", async () => {
    const fakes = setup();
    const contactId = await linkedPerson(fakes, "is-page");
    await editContact(fakes, contactId, { Phone: "(415) 555-0100", Email: "page@intranet" });

    const count = (await group("invalid_value")).count;
    expect(count).toBeGreaterThanOrEqual(2);
    const seen: string[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const page: Issues = await issues(`?reason=invalid_value&limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      const [g] = page.groups;
      expect(g?.items.length).toBeLessThanOrEqual(1);
      seen.push(...(g?.items.map((i) => i.id) ?? []));
      cursor = g?.next_cursor ?? null;
    }
    expect(seen).toHaveLength(count);
    expect(new Set(seen).size).toBe(count);
  });

  it("answers 400 naming the field for a bad reason, a cursor without a reason, or a bad action body", async () => {
    const unknown = await call("GET", "/issues?reason=nope");
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('"path":"reason"');
    const cursor = await call("GET", "/issues?cursor=abc");
    expect(cursor.status).toBe(400);
    expect(JSON.stringify(cursor.body)).toContain('"path":"cursor"');
    for (const [path, body, field] of [
      ["/issues/retry", {}, "reason"],
      ["/issues/dismiss", { reason: "write_rejected", items: [{ kind: "failure", id: "x" }] }, "reason"],
      ["/issues/retry", { reason: "nope" }, "reason"],
      ["/issues/dismiss", { items: [{ kind: "bogus", id: "x" }] }, "items.0.kind"],
      ["/issues/dismiss", { items: [] }, "items"],
      ["/issues/retry", { reason: "write_rejected", extra: 1 }, "(root)"],
    ] as const) {
      const response = await call("POST", path, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((response.body as { error: { details: { path: string }[] } }).error.details.map((d) => d.path)).toContain(
        field,
      );
    }
  });
});

describe("POST /api/v1/issues/retry", () => {
  it("retries a group of rejected writes once the cause is fixed: each record syncs and the group empties", async () => {
    const fakes = setup();
    const first = await rejectedPerson(fakes, "ir-reject-1");
    const second = await rejectedPerson(fakes, "ir-reject-2");
    expect((await group("write_rejected")).items.map((i) => i.id)).toEqual(expect.arrayContaining([first, second]));
    const before = (await status()).open_failures;

    // The validation rule is fixed (the fake accepts creates again); the group is retried.
    const response = await call("POST", "/issues/retry", { reason: "write_rejected", note: "rule fixed" });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ action: "retry", reason: "write_rejected", refused: [], remaining: 0 });
    expect(response.body["acted"]).toBeGreaterThanOrEqual(2);
    expect(response.body["items"]).toEqual(
      expect.arrayContaining([
        { kind: "failure", id: first, reason: "write_rejected", outcome: "replayed" },
        { kind: "failure", id: second, reason: "write_rejected", outcome: "replayed" },
      ]),
    );
    expect((await group("write_rejected")).count).toBe(0);
    expect((await status()).open_failures).toBe(before - (response.body["acted"] as number));

    // The replayed messages are consumed: both people get their Contact.
    for (const id of ["ir-reject-1", "ir-reject-2"]) {
      const pair = await eventually(() => db.select().from(idMappings).where(eq(idMappings.attioRecordId, id)).get());
      expect(fakes.sf.contacts.get(pair.sfRecordId)).toMatchObject({ Email: `${id}@northwind.example` });
    }
    // The operator's action is in the record's history.
    const audit = await db.select().from(auditLog).where(eq(auditLog.attioRecordId, "ir-reject-1")).all();
    expect(audit.find((a) => a.operation === "operator")).toMatchObject({
      actor: "operator:admin-token",
      attioObject: "people",
      sourceEvent: { kind: "issue.retried", item_id: first, reason: "write_rejected", note: "rule fixed" },
    });
  });

  it("retries a warning by syncing its record again: once the value is fixed the warning clears", async () => {
    const fakes = setup();
    const contactId = await linkedPerson(fakes, "ir-warn");
    await editContact(fakes, contactId, { MailingCountry: "Atlantis" });
    const warning = (await group("unmapped_value")).items.find((i) => i.detail["source_record_id"] === contactId);
    if (!warning) throw new Error("no warning");
    const before = (await status()).open_warnings;

    // Someone corrects the country in Salesforce; no change event reaches the sync.
    await editContact(fakes, contactId, { MailingCountry: "France" }, false);
    const response = await call("POST", "/issues/retry", { items: [{ kind: "warning", id: warning.id }] });
    expect(response.body).toMatchObject({
      acted: 1,
      items: [{ kind: "warning", id: warning.id, reason: "unmapped_value", outcome: "resynced" }],
      refused: [],
      remaining: null,
    });

    const cleared = await eventually(async () => {
      const row = await db.select().from(mappingWarnings).where(eq(mappingWarnings.id, warning.id)).get();
      return row?.status === "cleared" ? row : undefined;
    });
    expect(cleared.status).toBe("cleared");
    expect((await group("unmapped_value")).items.map((i) => i.id)).not.toContain(warning.id);
    expect((await status()).open_warnings).toBe(before - 1);
  });

  it("retries an ambiguous match once the duplicate is gone: the record links to the one left", async () => {
    const fakes = setup();
    const { matchId, duplicates } = await ambiguousPerson(fakes, "ir-ambig");
    const [keep = "", remove = ""] = duplicates;
    fakes.sf.contacts.delete(remove);

    const response = await call("POST", "/issues/retry", { items: [{ kind: "ambiguous_match", id: matchId }] });
    expect(response.body).toMatchObject({ acted: 1, refused: [] });
    const pair = await eventually(() =>
      db.select().from(idMappings).where(eq(idMappings.attioRecordId, "ir-ambig")).get(),
    );
    expect(pair.sfRecordId).toBe(keep);
    expect(await db.select().from(ambiguousMatches).where(eq(ambiguousMatches.id, matchId)).get()).toMatchObject({
      status: "retried",
    });
    expect((await group("ambiguous_match")).items.map((i) => i.id)).not.toContain(matchId);
  });

  it("refuses to retry conflicts and held deletes, naming the route that decides them", async () => {
    const fakes = setup();
    const { conflictId } = await conflictingPerson(fakes, "ir-conflict");

    const whole = await call("POST", "/issues/retry", { reason: "conflict_held" });
    expect(whole.status).toBe(422);
    expect(JSON.stringify(whole.body)).toContain("POST /api/v1/conflicts/{id}");
    const heldGroup = await call("POST", "/issues/retry", { reason: "mass_delete_held" });
    expect(heldGroup.status).toBe(422);
    expect(JSON.stringify(heldGroup.body)).toContain("POST /api/v1/deletes/batches/{batch_id}");

    const listed = await call("POST", "/issues/retry", {
      items: [
        { kind: "conflict", id: conflictId },
        { kind: "failure", id: "no-such-failure" },
      ],
    });
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({
      acted: 0,
      refused: expect.arrayContaining([
        expect.objectContaining({ kind: "conflict", id: conflictId, code: "not_retryable" }),
        expect.objectContaining({ kind: "failure", id: "no-such-failure", code: "not_found" }),
      ]),
    });
    expect(await db.select().from(conflicts).where(eq(conflicts.id, conflictId)).get()).toMatchObject({
      status: "open",
    });
  });
});

describe("POST /api/v1/issues/dismiss", () => {
  it("takes dismissed items out of every count and list, records who did it, and shows an item again when it happens again", async () => {
    const fakes = setup();
    const failureId = await rejectedPerson(fakes, "id-reject");
    const { conflictId } = await conflictingPerson(fakes, "id-conflict");
    const contactId = await linkedPerson(fakes, "id-warn");
    await editContact(fakes, contactId, { MailingCountry: "Atlantis" });
    const warning = (await group("unmapped_value")).items.find((i) => i.detail["source_record_id"] === contactId);
    const { matchId } = await ambiguousPerson(fakes, "id-ambig");
    if (!warning) throw new Error("no warning");
    const before = { issues: await issues(), status: await status() };
    expect(before.status.problems.map((p) => p.code)).toContain("failures_recent");

    const response = await call("POST", "/issues/dismiss", {
      items: [
        { kind: "failure", id: failureId },
        { kind: "conflict", id: conflictId },
        { kind: "warning", id: warning.id },
        { kind: "ambiguous_match", id: matchId },
      ],
      note: "known, accepted",
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ action: "dismiss", acted: 4, refused: [] });

    const after = { issues: await issues(), status: await status() };
    expect(after.issues.total).toBe(before.issues.total - 4);
    const ids = after.issues.groups.flatMap((g) => g.items.map((i) => i.id));
    for (const id of [failureId, conflictId, warning.id, matchId]) expect(ids).not.toContain(id);
    expect(after.status.open_failures).toBe(before.status.open_failures - 1);
    expect(after.status.open_conflicts).toBe(before.status.open_conflicts - 1);
    expect(after.status.open_warnings).toBe(before.status.open_warnings - 1);
    expect(after.status.ambiguous_matches).toBe(before.status.ambiguous_matches - 1);
    const recent = (s: typeof before.status) => s.problems.find((p) => p.code === "failures_recent")?.message ?? "";
    expect(recent(after.status)).not.toBe(recent(before.status));
    const listed = (await call("GET", "/failures?limit=200")).body as { items: { id: string }[] };
    expect(listed.items.map((i) => i.id)).not.toContain(failureId);
    const open = (await call("GET", "/conflicts?limit=200")).body as { items: { id: string }[] };
    expect(open.items.map((i) => i.id)).not.toContain(conflictId);

    expect(
      await db
        .select()
        .from(issueDismissals)
        .where(and(eq(issueDismissals.kind, "conflict"), eq(issueDismissals.itemId, conflictId)))
        .get(),
    ).toMatchObject({ reason: "conflict_held", dismissedBy: "operator:admin-token", note: "known, accepted" });
    const audit = await db.select().from(auditLog).where(eq(auditLog.attioRecordId, "id-conflict")).all();
    expect(audit.find((a) => a.operation === "operator")).toMatchObject({
      actor: "operator:admin-token",
      sourceEvent: { kind: "issue.dismissed", item_kind: "conflict", item_id: conflictId },
    });

    // Dismissing again acts on nothing: the items are no longer open.
    const again = await call("POST", "/issues/dismiss", { items: [{ kind: "failure", id: failureId }] });
    expect(again.body).toMatchObject({ acted: 0, refused: [{ id: failureId, code: "not_found" }] });

    // The conflict happens again (the record syncs with both values still different): it shows again.
    fakes.attio.setJobTitle("id-conflict", "CTO", new Date(Date.now() + 3000).toISOString());
    await runQueue([personChanged("id-conflict")]);
    const reopened = (await group("conflict_held")).items.filter((i) =>
      i.records.some((r) => r.record_id === "id-conflict"),
    );
    expect(reopened).toHaveLength(1);
    expect(reopened[0]?.id).not.toBe(conflictId);
  });

  it("looks up 200 listed items in one call (more ids than D1 binds in one statement)", async () => {
    const items = Array.from({ length: 200 }, (_, i) => ({ kind: i % 2 ? "failure" : "conflict", id: `nope-${i}` }));
    const response = await call("POST", "/issues/dismiss", { items });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ acted: 0 });
    expect((response.body["refused"] as { code: string }[]).filter((r) => r.code === "not_found")).toHaveLength(200);
  });

  it("dismisses a whole group, and refuses held deletes, which are decided", async () => {
    const fakes = setup();
    await rejectedPerson(fakes, "idg-1");
    await rejectedPerson(fakes, "idg-2");
    const count = (await group("write_rejected")).count;
    expect(count).toBeGreaterThanOrEqual(2);
    const response = await call("POST", "/issues/dismiss", { reason: "write_rejected" });
    expect(response.body).toMatchObject({ acted: count, remaining: 0, refused: [] });
    expect((await issues()).groups.map((g) => g.reason)).not.toContain("write_rejected");

    const heldContact = await linkedPerson(fakes, "idg-held");
    fakes.sf.userDelete(heldContact);
    await runQueue([internalSalesforceMessage("Contact", heldContact, "DELETE")]);
    const held = (await group("delete_held")).items.find((i) => i.records.some((r) => r.record_id === heldContact));
    if (!held) throw new Error("no held delete");
    const whole = await call("POST", "/issues/dismiss", { reason: "delete_held" });
    expect(whole.status).toBe(422);
    expect(JSON.stringify(whole.body)).toContain("POST /api/v1/deletes/{id}");
    const listed = await call("POST", "/issues/dismiss", { items: [{ kind: "held_delete", id: held.id }] });
    expect(listed.body).toMatchObject({ acted: 0, refused: [{ id: held.id, code: "not_dismissable" }] });
    expect(await db.select().from(pendingDeletes).where(eq(pendingDeletes.id, held.id)).get()).toMatchObject({
      status: "pending",
    });
  });
});
