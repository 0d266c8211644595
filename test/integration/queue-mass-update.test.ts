import { env, exports } from "cloudflare:workers";
import { eq, inArray } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { insertConfig } from "../../src/store/config.ts";
import { openDb } from "../../src/store/db.ts";
import { heldUpdates, idMappings, recentUpdates, syncState, updateHolds } from "../../src/store/schema.ts";
import { forgetRuntime } from "../../src/sync/runtime.ts";
import { eventually } from "../helpers/eventually.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

// What a test enqueues (an approval's records) is consumed in the background: let it finish.
afterEach(() => drainQueue());

const db = openDb(env.DB);

beforeEach(async () => {
  clearTokenCache();
  // A small breaker: more than 5 records of an object updated within 10 minutes trips it.
  await insertConfig(db, "[breaker]\nmax_records = 5\nmin_records = 0\nmax_share = 1\nwindow_minutes = 10\n");
  forgetRuntime();
});

function setup() {
  const attio = fakeAttio();
  const sf = fakeSalesforce();
  server.use(...attio.handlers, ...sf.handlers);
  return { attio, sf };
}

async function linkedPeople(attio: ReturnType<typeof fakeAttio>, prefix: string, count: number) {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  for (const id of ids) attio.addPerson(id, { last: `Person ${id}`, email: `${id}@northwind.example`, title: "VP" });
  const { result } = await runQueue(ids.map((id) => personChanged(id)));
  expect(result.retryMessages).toEqual([]);
  const rows = await db.select().from(idMappings).where(inArray(idMappings.attioRecordId, ids));
  expect(rows).toHaveLength(count);
  return { ids, contactIds: new Map(rows.map((r) => [r.attioRecordId, r.sfRecordId])) };
}

/** The Title values written to Salesforce for these Contacts, in order. */
function titlesWritten(sf: ReturnType<typeof fakeSalesforce>, contactIds: Iterable<string>) {
  const wanted = new Set(contactIds);
  return sf
    .writtenRecords()
    .map((r) => ({ id: String(r["id"] ?? r["Id"]), title: r["Title"] }))
    .filter((r) => wanted.has(r.id) && r.title !== undefined)
    .map((r) => `${r.id}=${r.title}`);
}

async function api(path: string, init: RequestInit = {}) {
  return exports.default.fetch(`https://worker.test/api/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
  });
}

async function holdOf(ids: readonly string[]) {
  const [row] = await db
    .select()
    .from(heldUpdates)
    .where(inArray(heldUpdates.recordId, [...ids]));
  expect(row).toBeDefined();
  return db
    .select()
    .from(updateHolds)
    .where(eq(updateHolds.id, row?.holdId ?? ""))
    .get();
}

describe("the mass-update breaker", () => {
  it("trips on a burst over the threshold across runs, writes nothing held until approved, then each once", async () => {
    const { attio, sf } = setup();
    const { ids, contactIds } = await linkedPeople(attio, "mu-approve", 8);
    const before = sf.writes().length;

    // First 4 edits: within the threshold, written.
    for (const id of ids) attio.setJobTitle(id, "CTO");
    const first = await runQueue(ids.slice(0, 4).map((id) => personChanged(id)));
    expect(first.result.retryMessages).toEqual([]);
    const firstFour = ids.slice(0, 4).map((id) => contactIds.get(id) ?? "");
    expect(titlesWritten(sf, firstFour).sort()).toEqual(firstFour.map((c) => `${c}=CTO`).sort());

    // Four more within the window: 8 records > 5, so these are held, not written.
    const lastFour = ids.slice(4);
    const writesBefore = sf.writes().length;
    const second = await runQueue(lastFour.map((id) => personChanged(id)));
    expect(second.result.explicitAcks).toEqual(second.ids);
    expect(sf.writes().length).toBe(writesBefore);
    const heldContacts = lastFour.map((id) => contactIds.get(id) ?? "");
    expect(titlesWritten(sf, heldContacts)).toEqual([]);

    const hold = await holdOf(lastFour);
    expect(hold).toMatchObject({ mapping: "people", side: "salesforce", status: "pending", count: 8, threshold: 5 });
    const records = await (await api(`/holds/${hold?.id}/records`)).json();
    expect(records).toEqual({ id: hold?.id, attio: [...lastFour].sort(), salesforce: [] });

    // The problem is raised while it holds.
    const status = (await (await api("/status")).json()) as { problems: { code: string; affects: string }[] };
    expect(status.problems).toContainEqual(
      expect.objectContaining({ code: "mass_update_held", affects: "mapping people" }),
    );
    const listed = (await (await api("/holds")).json()) as { items: { id: string; records: number }[] };
    expect(listed.items).toContainEqual(expect.objectContaining({ id: hold?.id, records: 4 }));

    // A further edit of a held record while the hold is open joins it: still nothing written.
    const third = await runQueue([personChanged(lastFour[0] ?? "")]);
    expect(third.result.explicitAcks).toEqual(third.ids);
    expect(titlesWritten(sf, heldContacts)).toEqual([]);

    // One call approves: the held records are synced, breaker bypassed, each written once.
    const approved = await api(`/holds/${hold?.id}`, { method: "POST", body: JSON.stringify({ decision: "approve" }) });
    expect(approved.status).toBe(200);
    expect(await approved.json()).toEqual({
      id: hold?.id,
      mapping: "people",
      side: "salesforce",
      status: "approved",
      records: 4,
    });
    await eventually(async () => (titlesWritten(sf, heldContacts).length >= 4 ? true : undefined), 20_000);
    await drainQueue();
    expect(titlesWritten(sf, heldContacts).sort()).toEqual(heldContacts.map((c) => `${c}=CTO`).sort());
    expect(sf.writes().length).toBeGreaterThan(before);

    // Deciding again is refused: the hold was decided once.
    const again = await api(`/holds/${hold?.id}`, { method: "POST", body: JSON.stringify({ decision: "reject" }) });
    expect(again.status).toBe(409);
    const after = (await (await api("/status")).json()) as { problems: { code: string }[] };
    expect(after.problems.map((p) => p.code)).not.toContain("mass_update_held");
  }, 30_000);

  it("a rejected hold writes nothing, and a later sync does not push the rejected values", async () => {
    const { attio, sf } = setup();
    const { ids, contactIds } = await linkedPeople(attio, "mu-reject", 7);
    for (const id of ids) attio.setJobTitle(id, "Intern");

    const run = await runQueue(ids.map((id) => personChanged(id)));
    expect(run.result.explicitAcks).toEqual(run.ids);
    const contacts = ids.map((id) => contactIds.get(id) ?? "");
    expect(titlesWritten(sf, contacts)).toEqual([]);
    const hold = await holdOf(ids);
    expect(hold).toMatchObject({ mapping: "people", side: "salesforce", status: "pending" });

    const rejected = await api(`/holds/${hold?.id}`, { method: "POST", body: JSON.stringify({ decision: "reject" }) });
    expect(await rejected.json()).toMatchObject({ status: "rejected", records: 7 });
    // The records are re-based: Attio's side keeps "Intern", Salesforce's keeps "VP".
    const pairIds = (await db.select().from(idMappings).where(inArray(idMappings.attioRecordId, ids))).map((r) => r.id);
    await eventually(async () => {
      const states = await db.select().from(syncState).where(inArray(syncState.mappingId, pairIds));
      const rebased = states.filter((s) => {
        const base = s.baseValues as { attio?: { Title?: unknown }; salesforce?: { Title?: unknown } };
        return base.attio?.Title === "Intern" && base.salesforce?.Title === "VP";
      });
      return rebased.length === 7 ? true : undefined;
    }, 20_000);
    await drainQueue();
    expect(titlesWritten(sf, contacts)).toEqual([]);
    for (const contact of contacts) expect(sf.contacts.get(contact)?.["Title"]).toBe("VP");

    // Synced again later (a catch-up, another event): the rejected value is not pushed.
    const later = await runQueue([personChanged(ids[0] ?? "")]);
    expect(later.result.explicitAcks).toEqual(later.ids);
    expect(titlesWritten(sf, contacts)).toEqual([]);
    // An edit made after the rejection flows as usual.
    attio.setJobTitle(ids[1] ?? "", "Head of Sales");
    await runQueue([personChanged(ids[1] ?? "")]);
    expect(titlesWritten(sf, contacts)).toEqual([`${contactIds.get(ids[1] ?? "")}=Head of Sales`]);
  }, 30_000);

  it("two consumers at once cannot both pass a burst the two together should trip", async () => {
    const { attio, sf } = setup();
    const { ids, contactIds } = await linkedPeople(attio, "mu-race", 8);
    // An empty window for people -> Salesforce (this file's earlier tests filled it).
    await db.delete(recentUpdates).where(eq(recentUpdates.mapping, "people"));
    for (const id of ids) attio.setJobTitle(id, "Partner");
    const [a, b] = await Promise.all([
      runQueue(ids.slice(0, 4).map((id) => personChanged(id))),
      runQueue(ids.slice(4).map((id) => personChanged(id))),
    ]);
    expect(a.result.retryMessages).toEqual([]);
    expect(b.result.retryMessages).toEqual([]);
    const contacts = ids.map((id) => contactIds.get(id) ?? "");
    const written = titlesWritten(sf, contacts);
    const held = await db.select().from(heldUpdates).where(inArray(heldUpdates.recordId, ids));
    // However the two interleave, exactly one fits in the window (4 <= 5); the other (4 + 4 > 5)
    // is held whole: the count and the reservation are one statement.
    expect(written).toHaveLength(4);
    expect(held).toHaveLength(4);
    expect(new Set([...written.map((w) => w.split("=")[0]), ...held.map((h) => contactIds.get(h.recordId))])).toEqual(
      new Set(contacts),
    );
  }, 30_000);

  it("an unknown hold is 404 and a bad decision names the field", async () => {
    expect((await api("/holds/nope", { method: "POST", body: JSON.stringify({ decision: "approve" }) })).status).toBe(
      404,
    );
    const bad = await api("/holds/nope", { method: "POST", body: JSON.stringify({ decision: "maybe" }) });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain("decision");
  });
});
