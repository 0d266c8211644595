import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { acquireLeases, releaseLeases } from "../../src/durable/record-lock.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import {
  ambiguousMatches,
  auditLog,
  conflicts,
  failures,
  idMappings,
  pendingDeletes,
  syncState,
} from "../../src/store/schema.ts";
import { recordsMessages } from "../../src/sync/messages.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

// What a test enqueues is consumed in the background: let it finish while the fakes still answer.
afterEach(() => drainQueue());

const db = openDb(env.DB);

function call(method: string, path: string, body?: unknown, token = ADMIN_TOKEN) {
  return exports.default.fetch(`https://worker.test/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** A linked person/Contact pair whose Title conflicts: Attio says CTO, Salesforce says CEO. */
async function conflictingPair(suffix: string) {
  const attio = fakeAttio();
  const sf = fakeSalesforce();
  server.use(...attio.handlers, ...sf.handlers);
  const recordId = `p-${suffix}`;
  attio.addPerson(recordId, { email: `${suffix}@northwind.example`, title: "CTO" });
  const sfId = `003Hs0000CONF${suffix.slice(0, 2).toUpperCase()}AAA`;
  sf.contacts.set(sfId, { LastName: "Okafor", Email: `${suffix}@northwind.example`, Title: "CEO" });
  const mappingId = crypto.randomUUID();
  await db
    .insert(idMappings)
    .values({ id: mappingId, attioObject: "people", attioRecordId: recordId, sfObject: "Contact", sfRecordId: sfId });
  await db.insert(syncState).values({
    mappingId,
    baseValues: { attio: { Title: "VP" }, salesforce: { Title: "VP" } },
    baseHash: "x",
    lastDirection: "none",
  });
  const conflictId = crypto.randomUUID();
  await db
    .insert(conflicts)
    .values({ id: conflictId, mappingId, field: "Title", baseValue: "VP", attioValue: "CTO", sfValue: "CEO" });
  return { attio, sf, recordId, sfId, mappingId, conflictId };
}

beforeEach(() => clearTokenCache());
afterEach(() => vi.restoreAllMocks());

describe("/api/v1 conflicts", () => {
  it("lists open conflicts and resolves one: both sides get the value, the base follows, it is audited", async () => {
    const { attio, sf, sfId, mappingId, conflictId } = await conflictingPair("ab");

    const list = (await (await call("GET", "/conflicts")).json()) as { items: { id: string; field: string }[] };
    expect(list.items.map((i) => i.id)).toContain(conflictId);

    const response = await call("POST", `/conflicts/${conflictId}`, { side: "salesforce" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: conflictId, field: "Title", value: "CEO" });
    expect(sf.contacts.get(sfId)?.["Title"]).toBe("CEO");
    const patch = attio.calls.find((c) => c.method === "PATCH");
    expect(patch?.path).toBe("/v2/objects/people/records/p-ab");
    const state = await db.select().from(syncState).where(eq(syncState.mappingId, mappingId)).get();
    expect(state?.baseValues).toMatchObject({ attio: { Title: "CEO" }, salesforce: { Title: "CEO" } });
    expect(await db.select().from(conflicts).where(eq(conflicts.id, conflictId)).get()).toMatchObject({
      status: "resolved",
    });
    const audit = await db.select().from(auditLog).where(eq(auditLog.mappingId, mappingId)).all();
    expect(audit[0]?.sourceEvent).toMatchObject({ kind: "conflict.resolved", conflictId });
    expect(audit[0]?.actor).toBe("operator:admin-token");

    const again = await call("POST", `/conflicts/${conflictId}`, { side: "attio" });
    expect(again.status).toBe(409);
  });

  it("answers 409 record_busy and writes nothing while a consumer holds the pair's lease; resolves once it is free", async () => {
    const { attio, sf, sfId, mappingId, conflictId } = await conflictingPair("ef");
    const consumer = "consumer-holding-the-pair";
    const held = await acquireLeases(env.RECORD_LOCK, consumer, [`pair:${mappingId}`], 60_000);
    expect(held.acquired).toEqual([`pair:${mappingId}`]);

    const busy = await call("POST", `/conflicts/${conflictId}`, { side: "salesforce" });
    expect(busy.status).toBe(409);
    expect(((await busy.json()) as { error: { code: string } }).error.code).toBe("record_busy");
    expect(sf.writes()).toEqual([]);
    expect(attio.calls.filter((c) => c.method === "PATCH")).toEqual([]);
    expect(await db.select().from(conflicts).where(eq(conflicts.id, conflictId)).get()).toMatchObject({
      status: "open",
    });

    await releaseLeases(env.RECORD_LOCK, consumer, [`pair:${mappingId}`]);
    expect((await call("POST", `/conflicts/${conflictId}`, { side: "salesforce" })).status).toBe(200);
    expect(sf.contacts.get(sfId)?.["Title"]).toBe("CEO");
  });

  it("accepts an explicit value and rejects a body of the wrong shape, naming the field", async () => {
    const { sf, sfId, conflictId } = await conflictingPair("cd");
    const bad = await call("POST", `/conflicts/${conflictId}`, { side: "both" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { details: unknown[] } }).error.details.length).toBeGreaterThan(0);
    const ok = await call("POST", `/conflicts/${conflictId}`, { value: "Chief of Staff" });
    expect(ok.status).toBe(200);
    expect(sf.contacts.get(sfId)?.["Title"]).toBe("Chief of Staff");
  });

  it("answers 404 for an unknown conflict and 415 for a body that is not JSON", async () => {
    expect((await call("POST", "/conflicts/nope", { side: "attio" })).status).toBe(404);
    const response = await exports.default.fetch("https://worker.test/api/v1/conflicts/nope", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "text/plain" },
      body: "side=attio",
    });
    expect(response.status).toBe(415);
  });
});

describe("/api/v1 deletes", () => {
  it("approving a delete held after an Attio delete deletes the Contact and unlinks the pair", async () => {
    const sf = fakeSalesforce();
    server.use(...fakeAttio().handlers, ...sf.handlers);
    const sfId = "003Hs0000DELETEAAA";
    sf.contacts.set(sfId, { LastName: "Gone" });
    const mappingId = crypto.randomUUID();
    await db
      .insert(idMappings)
      .values({ id: mappingId, attioObject: "people", attioRecordId: "p-del", sfObject: "Contact", sfRecordId: sfId });
    const deleteId = crypto.randomUUID();
    await db.insert(pendingDeletes).values({ id: deleteId, mappingId, deletedOn: "attio" });
    server.use(
      // Salesforce answers a single-record delete with 204.
      (await import("msw")).http.delete(
        `https://northwind-labs.my.salesforce.test/services/data/v62.0/sobjects/Contact/${sfId}`,
        () => {
          sf.contacts.delete(sfId);
          return new Response(null, { status: 204 });
        },
      ),
    );

    const listed = (await (await call("GET", "/deletes")).json()) as { items: { id: string; attio: unknown }[] };
    expect(listed.items.find((i) => i.id === deleteId)?.attio).toEqual({ object: "people", record_id: "p-del" });
    const response = await call("POST", `/deletes/${deleteId}`, { decision: "approve" });
    expect(await response.json()).toEqual({ id: deleteId, status: "approved" });
    expect(sf.contacts.has(sfId)).toBe(false);
    expect(await db.select().from(idMappings).where(eq(idMappings.id, mappingId)).get()).toBeUndefined();
    expect(
      (await db.select().from(auditLog).where(eq(auditLog.mappingId, mappingId)).all()).map((a) => a.operation),
    ).toEqual(["delete"]);
  });
});

describe("/api/v1 deletes: approving re-checks the delete", () => {
  it("refuses (409) to approve a delete whose record exists again, and deletes nothing", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    attio.addPerson("p-back", { email: "back@northwind.example" });
    const sfId = "003Hs0000BACKAGAAA";
    sf.contacts.set(sfId, { LastName: "Back" });
    const mappingId = crypto.randomUUID();
    await db
      .insert(idMappings)
      .values({ id: mappingId, attioObject: "people", attioRecordId: "p-back", sfObject: "Contact", sfRecordId: sfId });
    const deleteId = crypto.randomUUID();
    await db.insert(pendingDeletes).values({ id: deleteId, mappingId, deletedOn: "attio" });

    const response = await call("POST", `/deletes/${deleteId}`, { decision: "approve" });

    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("exists again");
    expect(sf.contacts.has(sfId)).toBe(true);
    expect(sf.writes()).toEqual([]);
    expect(await db.select().from(idMappings).where(eq(idMappings.id, mappingId)).get()).toBeDefined();
    expect(await db.select().from(pendingDeletes).where(eq(pendingDeletes.id, deleteId)).get()).toMatchObject({
      status: "pending",
    });
  });
});

describe("/api/v1 matches", () => {
  it("lists an ambiguous match and links the chosen candidate, once", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    attio.addPerson("p-amb", { email: "amb@northwind.example" });
    const [first, second] = ["003Hs0000AMBIG1AAA", "003Hs0000AMBIG2AAA"];
    for (const id of [first, second]) sf.contacts.set(id, { LastName: "Ambi", Email: "amb@northwind.example" });
    const matchId = crypto.randomUUID();
    await db
      .insert(ambiguousMatches)
      .values({ id: matchId, side: "attio", object: "people", recordId: "p-amb", candidates: [first, second] });

    const listed = (await (await call("GET", "/matches")).json()) as { items: Record<string, unknown>[] };
    expect(listed.items.find((i) => i["id"] === matchId)).toMatchObject({
      side: "attio",
      record_id: "p-amb",
      candidates: [first, second],
      status: "open",
    });
    const linked = await call("POST", `/matches/${matchId}`, { action: "link", candidate_id: second });
    expect(await linked.json()).toEqual({ id: matchId, attio_record_id: "p-amb", salesforce_record_id: second });
    const pair = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, "p-amb")).get();
    expect(pair).toMatchObject({ attioObject: "people", sfObject: "Contact", sfRecordId: second });
    expect((await call("POST", `/matches/${matchId}`, { action: "link", candidate_id: first })).status).toBe(409);
    const open = (await (await call("GET", "/matches")).json()) as { items: { id: string }[] };
    expect(open.items.map((i) => i.id)).not.toContain(matchId);
  });
});

describe("/api/v1 failures", () => {
  it("lists failures and replays one back into the queue", async () => {
    const message = personChanged("p-failed");
    await db.insert(failures).values({
      id: `event:${message.dedupeKey}`,
      messageKind: message.kind,
      message,
      errorCode: "upstream_rejected",
      errorMessage: "Salesforce rejected Contact: REQUIRED_FIELD_MISSING",
      attempts: 1,
      correlationId: message.correlationId,
    });
    const send = vi.spyOn(env.SYNC_QUEUE, "send");
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);

    const listed = (await (await call("GET", "/failures?error_code=upstream_rejected")).json()) as {
      items: { id: string }[];
    };
    expect(listed.items.map((i) => i.id)).toContain(`event:${message.dedupeKey}`);
    const response = await call("POST", `/failures/${encodeURIComponent(`event:${message.dedupeKey}`)}/replay`);
    expect(await response.json()).toEqual({ replayed: 1 });
    expect(send.mock.calls[0]?.[0]).toMatchObject({ kind: "attio.record", recordId: "p-failed" });
    const row = await db
      .select()
      .from(failures)
      .where(eq(failures.id, `event:${message.dedupeKey}`))
      .get();
    expect(row?.status).toBe("replayed");
  });
});

describe("/api/v1 failures replay", () => {
  it("gives a replayed records.sync message its retry rounds again", async () => {
    const [message] = recordsMessages("people", "attio", ["p-exhausted"], "job 7", { attempt: 8 });
    if (!message) throw new Error("no message");
    await db.insert(failures).values({
      id: "records:p-exhausted",
      messageKind: message.kind,
      message,
      errorCode: "upstream_unavailable",
      errorMessage: "Salesforce unavailable",
      attempts: 8,
      correlationId: message.correlationId,
    });
    const send = vi.spyOn(env.SYNC_QUEUE, "send");
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);

    const response = await call("POST", `/failures/${encodeURIComponent("records:p-exhausted")}/replay`);

    expect(await response.json()).toEqual({ replayed: 1 });
    expect(send.mock.calls[0]?.[0]).toMatchObject({ kind: "records.sync", recordIds: ["p-exhausted"], attempt: 1 });
  });
});

describe("/api/v1 history", () => {
  it("filters by record id on either side and pages with a cursor", async () => {
    for (let i = 0; i < 3; i++) {
      await db.insert(auditLog).values({
        correlationId: `h-${i}`,
        direction: "attio_to_sf",
        operation: "update",
        attioObject: "people",
        attioRecordId: "p-history",
        sfObject: "Contact",
        sfRecordId: "003Hs0000HISTORYAA",
        changes: { Title: { before: `T${i}`, after: `T${i + 1}` } },
        sourceEvent: { kind: "test" },
      });
    }
    const first = (await (await call("GET", "/history?record_id=003Hs0000HISTORYAA&limit=2")).json()) as {
      items: { correlation_id: string }[];
      next_cursor: string | null;
    };
    expect(first.items.map((i) => i.correlation_id)).toEqual(["h-2", "h-1"]);
    const second = (await (
      await call("GET", `/history?record_id=p-history&limit=2&cursor=${first.next_cursor}`)
    ).json()) as {
      items: { correlation_id: string }[];
      next_cursor: string | null;
    };
    expect(second.items.map((i) => i.correlation_id)).toEqual(["h-0"]);
    expect(second.next_cursor).toBeNull();
    expect((await call("GET", "/history?limit=500")).status).toBe(400);
    expect((await call("GET", "/history?colour=blue")).status).toBe(400);
  });
});

describe("/api/v1 config", () => {
  it("refuses an invalid document with every problem and its line, and stores nothing", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const response = await call("PUT", "/config", {
      toml: '[sync]\ndirection = "sideways"\n\n[mappings.people]\ncolour = 1\n',
    });
    expect(response.status).toBe(422);
    const body = (await response.json()) as { ok: boolean; problems: { path: string; line?: number }[] };
    expect(body.ok).toBe(false);
    expect(body.problems.map((p) => [p.path, p.line])).toEqual([
      ["sync.direction", 2],
      ["mappings.people.colour", 5],
    ]);
    expect(((await (await call("GET", "/config")).json()) as { version: number }).version).toBe(0);
  });

  it("stores a valid document as a new version that the engine then uses", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const toml = '[sync]\nconflict_resolution = "manual"\n\n[mappings.deals]\nenabled = false\n';
    const response = await call("PUT", "/config", { toml });
    expect(response.status).toBe(200);
    const stored = (await response.json()) as { version: number };
    expect(stored.version).toBeGreaterThan(0);
    const config = (await (await call("GET", "/config")).json()) as {
      version: number;
      toml: string;
      config: { sync: unknown };
    };
    expect(config).toMatchObject({
      version: stored.version,
      toml,
      config: { sync: { conflict_resolution: "manual" } },
    });
    const mappings = (await (await call("GET", "/mappings")).json()) as { mappings: { name: string }[] };
    expect(mappings.mappings.map((m) => m.name)).not.toContain("deals");
    expect(mappings.mappings.map((m) => m.name)).toContain("people");
  });

  it("validates without storing and reports mapping problems found against the live schemas", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const toml = '[[mappings.people.fields]]\nattio = "favourite_colour"\nsalesforce = "Colour__c"\n';
    const response = await call("POST", "/validate", { toml });
    const report = (await response.json()) as { ok: boolean; problems: { path: string; message: string }[] };
    expect(report.ok).toBe(false);
    expect(report.problems.some((p) => p.message.includes("favourite_colour"))).toBe(true);
  });
});

describe("admin token rotation", () => {
  it("accepts ADMIN_TOKEN_NEXT alongside ADMIN_TOKEN", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const next = "next-admin-token-0123456789abcdef";
    const worker = (await import("../../src/index.ts")).default;
    const request = new Request("https://worker.test/api/v1/status", { headers: { authorization: `Bearer ${next}` } });
    const ctx = (await import("cloudflare:test")).createExecutionContext();
    const accepted = await worker.fetch(request, { ...env, ADMIN_TOKEN_NEXT: next }, ctx);
    expect(accepted.status).toBe(200);
    const refused = await worker.fetch(new Request(request), env, ctx);
    expect(refused.status).toBe(401);
  });
});
