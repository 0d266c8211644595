import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseSyncConfig } from "../../src/config/config-toml.ts";
import { parseEnvConfig } from "../../src/config/env.ts";
import { attioCatchup, runCatchup, salesforceCatchup } from "../../src/cron/catchup.ts";
import worker from "../../src/index.ts";
import { createLogger } from "../../src/lib/log.ts";
import { PLAIN_ORG } from "../../src/mapping/schema-salesforce.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { idMappings, syncState } from "../../src/store/schema.ts";
import { USAGE_KEY } from "../../src/sync/budget.ts";
import { kvKeys } from "../../src/sync/catchup-state.ts";
import { buildDeps } from "../../src/sync/deps.ts";
import type { SyncMessage } from "../../src/sync/messages.ts";
import { buildRuntime } from "../../src/sync/runtime.ts";
import { SF_PAGE } from "../../src/sync/scan.ts";
import { eventually } from "../helpers/eventually.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";

// What a test enqueues is consumed in the background: let it finish while the fakes still answer.
afterEach(() => drainQueue());

const db = openDb(env.DB);
const runtime = buildRuntime(0, parseSyncConfig(""), PLAIN_ORG, "bidirectional", "last_write");
const people = runtime.byAttioObject("people");
if (!people) throw new Error("people mapping missing");

function deps() {
  const config = parseEnvConfig(env);
  return buildDeps(env, config, createLogger("silent"));
}

/** Collects what a catch-up would enqueue, without sending it. */
function collector() {
  const sent: SyncMessage[] = [];
  return { sent, send: async (messages: SyncMessage[]) => void sent.push(...messages) };
}

beforeEach(() => clearTokenCache());

describe("scheduled catch-up through the Worker's scheduled handler", () => {
  it("finds an Attio person whose webhook was dropped and syncs it to Salesforce", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    attio.addPerson("p-dropped", { email: "dropped@northwind.example", title: "Buyer" });

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);

    const pair = await eventually(() =>
      db.select().from(idMappings).where(eq(idMappings.attioRecordId, "p-dropped")).get(),
    );
    expect(sf.contacts.get(pair.sfRecordId)).toMatchObject({ Email: "dropped@northwind.example", Title: "Buyer" });
    const lastRun = JSON.parse((await env.CURSORS.get("cron:last-run")) ?? "{}") as {
      catchup: Record<string, unknown>;
    };
    expect(lastRun.catchup["people"]).toMatchObject({ enqueued: 1 });
  });
});

describe("scheduled catch-up after a burst of our own Salesforce writes", () => {
  it("passes 12,000 synced changes inside one overlap window over several cron runs and syncs a later lost change", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    // A linked person whose later Contact edit loses its change event.
    const person = attio.addPerson("p-later", { email: "later@northwind.example", title: "Analyst" });
    await runQueue([personChanged("p-later")]);
    const linked = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, "p-later")).get();
    if (!linked) throw new Error("p-later was not linked");
    // Times ahead of the clock, so that every version below is newer than the pair's.
    const t0 = Math.ceil(Date.now() / 60_000) * 60_000 + 10 * 60_000;
    const sfTime = (ms: number) => new Date(ms).toISOString().replace("Z", "+0000");
    // A Bulk write of ours: 12,000 linked Contacts changed within three minutes, each version synced
    // (its SystemModstamp in the pair's base), so the catch-up has nothing to queue for them.
    const burst = 12_000;
    const rows = [];
    for (let i = 0; i < burst; i++) {
      const id = `003Hs0BRST${String(i).padStart(5, "0")}AAA`;
      const stamp = sfTime(t0 + 60_000 + Math.floor((i * 180) / burst) * 1000);
      sf.contacts.set(id, { LastName: `Burst${i}`, SystemModstamp: stamp });
      attio.addPerson(`burst-${i}`);
      rows.push({ pair: crypto.randomUUID(), attio: `burst-${i}`, sf: id, stamp });
    }
    for (let i = 0; i < rows.length; i += 1_000) {
      const part = JSON.stringify(rows.slice(i, i + 1_000));
      await env.DB.batch([
        env.DB.prepare(
          `INSERT INTO id_mappings (id, attio_object, attio_record_id, sf_object, sf_record_id)
           SELECT json_extract(value, '$.pair'), 'people', json_extract(value, '$.attio'), 'Contact', json_extract(value, '$.sf')
           FROM json_each(?)`,
        ).bind(part),
        env.DB.prepare(
          `INSERT INTO sync_state (mapping_id, base_values, base_hash, sf_system_modstamp, last_direction)
           SELECT json_extract(value, '$.pair'), '{"attio":{},"salesforce":{}}', 'x', json_extract(value, '$.stamp'), 'attio_to_sf'
           FROM json_each(?)`,
        ).bind(part),
      ]);
    }
    // After the burst, a user edits the linked Contact; its change event is lost.
    const contact = sf.contacts.get(linked.sfRecordId);
    const edited = sfTime(t0 + 6 * 60_000);
    sf.contacts.set(linked.sfRecordId, {
      ...contact,
      Title: "VP Sales",
      LastModifiedDate: edited,
      SystemModstamp: edited,
    });
    // The cursor an earlier version stored (no id, no `complete`), just before the burst.
    const before = new Date(t0).toISOString();
    await env.CURSORS.put(kvKeys.sfCursor("Contact"), JSON.stringify({ stamp: before, reconciledThrough: before }));

    const queued: unknown[] = [];
    for (const minutes of [10, 15, 20]) {
      const ctx = createExecutionContext();
      const controller = createScheduledController({ scheduledTime: t0 + minutes * 60_000, cron: "*/5 * * * *" });
      await worker.scheduled(controller, env, ctx);
      await waitOnExecutionContext(ctx);
      const run = JSON.parse((await env.CURSORS.get(kvKeys.lastRun)) ?? "{}") as {
        objects: Record<string, { enqueued: number; reconciledThrough: string | null }>;
      };
      queued.push(run.objects["Contact"]);
    }

    // The first run stopped after 5 pages of synced versions; the second resumed after them and
    // queued the edit; the third read only the overlap behind the second.
    expect(queued).toMatchObject([
      { enqueued: 0 },
      { enqueued: 1, reconciledThrough: new Date(t0 + 15 * 60_000).toISOString() },
      { enqueued: 0, reconciledThrough: new Date(t0 + 20 * 60_000).toISOString() },
    ]);
    await eventually(async () => (person.values.job_title[0]?.value === "VP Sales" ? true : undefined));
    await db.delete(syncState);
    await db.delete(idMappings);
  }, 60_000);
});

describe("Salesforce catch-up", () => {
  it("queues a Contact changed after the cursor whose change event was lost, and moves the cursor forward", async () => {
    const sf = fakeSalesforce();
    server.use(...fakeAttio().handlers, ...sf.handlers);
    const now = new Date("2026-11-23T12:00:00Z");
    await env.CURSORS.put(
      kvKeys.sfCursor("Contact"),
      JSON.stringify({ stamp: "2026-11-23T11:00:00.000Z", reconciledThrough: "x" }),
    );
    sf.contacts.set("003Hs000LOSTEVTAAA", { LastName: "Lost", SystemModstamp: "2026-11-23T11:30:00.000+0000" });
    sf.contacts.set("003Hs000OLDCHGEAAA", { LastName: "Old", SystemModstamp: "2026-11-23T10:00:00.000+0000" });
    const { sent, send } = collector();

    const report = await salesforceCatchup(deps(), env.CURSORS, people, { now, send });

    const ids = sent.flatMap((m) => (m.kind === "salesforce.change" ? m.header.recordIds : []));
    expect(ids).toEqual(["003Hs000LOSTEVTAAA"]);
    expect(report).toMatchObject({ enqueued: 1, deletes: 0, reconciledThrough: now.toISOString() });
    // A run that read to the end: the next one starts an overlap before this run's time.
    const cursor = JSON.parse((await env.CURSORS.get(kvKeys.sfCursor("Contact"))) ?? "{}") as unknown;
    expect(cursor).toEqual({ complete: true, stamp: now.toISOString(), reconciledThrough: now.toISOString() });
  });

  it("passes more changes inside one overlap window than a run reads (a Bulk write), and queues a later change", async () => {
    const sf = fakeSalesforce();
    server.use(...fakeAttio().handlers, ...sf.handlers);
    // 12,000 Contacts changed within three minutes (more than a run's 5 pages of 2,000), then one later change.
    const burst = 12_000;
    const start = Date.parse("2026-11-23T11:56:00Z");
    for (let i = 0; i < burst; i++) {
      const stamp = new Date(start + Math.floor((i * 180) / burst) * 1000).toISOString().replace("Z", "+0000");
      sf.contacts.set(`003Hs0BRST${String(i).padStart(5, "0")}AAA`, { LastName: `Burst${i}`, SystemModstamp: stamp });
    }
    sf.contacts.set("003Hs000LATERCHAAA", { LastName: "Later", SystemModstamp: "2026-11-23T12:01:00.000+0000" });
    // A cursor of the first format (no id, no `complete`), as an earlier version stored it.
    await env.CURSORS.put(
      kvKeys.sfCursor("Contact"),
      JSON.stringify({ stamp: "2026-11-23T11:55:00.000Z", reconciledThrough: "2026-11-23T11:55:00.000Z" }),
    );
    const queued = new Set<string>();
    const reports = [];
    for (const at of ["12:05", "12:10", "12:15", "12:20"]) {
      const { sent, send } = collector();
      reports.push(
        await salesforceCatchup(deps(), env.CURSORS, people, { now: new Date(`2026-11-23T${at}:00Z`), send }),
      );
      for (const m of sent) if (m.kind === "salesforce.change") for (const id of m.header.recordIds) queued.add(id);
    }

    expect(queued.has("003Hs000LATERCHAAA")).toBe(true);
    expect(queued.size).toBe(burst + 1);
    // The first run stopped mid-way; the second resumed after its last record and read to the end.
    expect(reports.map((r) => r.enqueued)).toEqual([5 * SF_PAGE, burst + 1 - 5 * SF_PAGE, 0, 0]);
    expect(reports.map((r) => r.reconciledThrough)).toEqual([
      expect.stringMatching(/^2026-11-23T11:5[89]/),
      "2026-11-23T12:10:00.000Z",
      "2026-11-23T12:15:00.000Z",
      "2026-11-23T12:20:00.000Z",
    ]);
  });

  it("after a run that read to the end, reads the overlap again: a change committed late is queued", async () => {
    const sf = fakeSalesforce();
    server.use(...fakeAttio().handlers, ...sf.handlers);
    await env.CURSORS.put(
      kvKeys.sfCursor("Contact"),
      JSON.stringify({ complete: true, stamp: "2026-11-23T11:00:00.000Z", reconciledThrough: null }),
    );
    sf.contacts.set("003Hs000OVRLAPAAAA", { LastName: "Seen", SystemModstamp: "2026-11-23T11:30:00.000+0000" });
    const first = collector();
    await salesforceCatchup(deps(), env.CURSORS, people, { now: new Date("2026-11-23T12:00:00Z"), send: first.send });
    expect(first.sent.flatMap((m) => (m.kind === "salesforce.change" ? m.header.recordIds : []))).toEqual([
      "003Hs000OVRLAPAAAA",
    ]);
    // Committed after the first run's query, stamped before it: within the overlap (11:55 on).
    sf.contacts.set("003Hs000LATECMTAAA", { LastName: "Late", SystemModstamp: "2026-11-23T11:58:00.000+0000" });
    const second = collector();

    const report = await salesforceCatchup(deps(), env.CURSORS, people, {
      now: new Date("2026-11-23T12:05:00Z"),
      send: second.send,
    });

    // The late commit is read again; what lies before the overlap is not read again.
    expect(second.sent.flatMap((m) => (m.kind === "salesforce.change" ? m.header.recordIds : []))).toEqual([
      "003Hs000LATECMTAAA",
    ]);
    expect(report.reconciledThrough).toBe("2026-11-23T12:05:00.000Z");
  });

  it("does not skip records that share a SystemModstamp across a page boundary", async () => {
    const sf = fakeSalesforce();
    server.use(...fakeAttio().handlers, ...sf.handlers);
    const stamp = "2026-11-23T11:45:00.000+0000";
    const total = SF_PAGE + 3;
    for (let i = 0; i < total; i++)
      sf.contacts.set(`003Hs000${String(i).padStart(5, "0")}EQAAA`, { LastName: `Eq${i}`, SystemModstamp: stamp });
    await env.CURSORS.put(
      kvKeys.sfCursor("Contact"),
      JSON.stringify({ stamp: "2026-11-23T11:40:00.000Z", reconciledThrough: "x" }),
    );
    const { sent, send } = collector();

    const report = await salesforceCatchup(deps(), env.CURSORS, people, {
      now: new Date("2026-11-23T12:00:00Z"),
      send,
    });

    const ids = new Set(sent.flatMap((m) => (m.kind === "salesforce.change" ? m.header.recordIds : [])));
    expect(ids.size).toBe(total);
    expect(report.enqueued).toBe(total);
  });

  it("does not queue a version it already synced", async () => {
    const sf = fakeSalesforce();
    server.use(...fakeAttio().handlers, ...sf.handlers);
    const mappingId = crypto.randomUUID();
    sf.contacts.set("003Hs000SYNCEDAAAA", { LastName: "Synced", SystemModstamp: "2026-11-23T11:50:00.000+0000" });
    await db.insert(idMappings).values({
      id: mappingId,
      attioObject: "people",
      attioRecordId: "p-synced",
      sfObject: "Contact",
      sfRecordId: "003Hs000SYNCEDAAAA",
    });
    await db.insert(syncState).values({
      mappingId,
      baseValues: { attio: {}, salesforce: {} },
      baseHash: "x",
      lastDirection: "none",
      sfSystemModstamp: "2026-11-23T11:50:00.000+0000",
    });
    await env.CURSORS.put(
      kvKeys.sfCursor("Contact"),
      JSON.stringify({ stamp: "2026-11-23T11:49:00.000Z", reconciledThrough: "x" }),
    );
    const { sent, send } = collector();

    await salesforceCatchup(deps(), env.CURSORS, people, { now: new Date("2026-11-23T12:00:00Z"), send });

    expect(sent.flatMap((m) => (m.kind === "salesforce.change" ? m.header.recordIds : []))).not.toContain(
      "003Hs000SYNCEDAAAA",
    );
  });
});

describe("Salesforce catch-up paused by the API budget", () => {
  it("keeps the reconciledThrough it had, so /api/v1/status can tell how far behind it is", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const before = "2026-11-23T11:40:00.000Z";
    await env.CURSORS.put(USAGE_KEY, JSON.stringify({ used: 14_900, limit: 15_000, at: before }));
    await env.CURSORS.put(
      kvKeys.lastRun,
      JSON.stringify({
        at: before,
        objects: {
          Contact: {
            side: "salesforce",
            enqueued: 0,
            deletes: 0,
            reconciledThrough: before,
            consecutiveFailures: 0,
            at: before,
          },
        },
      }),
    );
    try {
      const report = await runCatchup(deps(), env.CURSORS, [people], {
        now: new Date("2026-11-23T12:00:00Z"),
        send: collector().send,
      });

      expect(report["Contact"]).toMatchObject({
        paused: expect.stringContaining("14900/15000"),
        reconciledThrough: before,
      });
    } finally {
      await env.CURSORS.delete(USAGE_KEY);
      await env.CURSORS.delete(kvKeys.lastRun);
    }
  });
});

describe("Attio scan", () => {
  it("makes a whole pass of the Attio scan in one run while the run's scan budget lasts", async () => {
    const attio = fakeAttio();
    server.use(...attio.handlers, ...fakeSalesforce().handlers);
    await db.delete(syncState);
    await db.delete(idMappings);
    await env.CURSORS.delete(kvKeys.attioScan("people"));
    // 3,000 people: six pages, more than a run's minimum of four.
    for (let i = 0; i < 3_000; i++)
      attio.addPerson(`budget-${String(i).padStart(4, "0")}`, { email: `budget${i}@northwind.example` });
    await db.insert(idMappings).values({
      id: crypto.randomUUID(),
      attioObject: "people",
      attioRecordId: "budget-gone",
      sfObject: "Contact",
      sfRecordId: "003Hs000BUDGETGOAA",
    });
    const sent = collector();

    const run = await attioCatchup(deps(), env.CURSORS, people, {
      now: new Date("2026-11-23T12:00:00Z"),
      send: sent.send,
      scanUntil: Date.now() + 60_000,
    });

    // Every person queued, the gone one proposed for delete, and the pass reconciled in this run.
    expect(run).toMatchObject({ enqueued: 3_000, deletes: 1, reconciledThrough: "2026-11-23T12:00:00.000Z" });
    expect(sent.sent.some((m) => m.kind === "attio.record" && m.recordId === "budget-gone")).toBe(true);
  });

  it("resumes an interrupted scan and only proposes deletes after a complete pass", async () => {
    const attio = fakeAttio();
    server.use(...attio.handlers, ...fakeSalesforce().handlers);
    // A clean slate: earlier tests in this file left pairs and a scan position behind.
    await db.delete(syncState);
    await db.delete(idMappings);
    await env.CURSORS.delete(kvKeys.attioScan("people"));
    // 2,100 people: more than one run's 4 pages of 500.
    for (let i = 0; i < 2_100; i++)
      attio.addPerson(`scan-${String(i).padStart(4, "0")}`, { email: `scan${i}@northwind.example` });
    // A linked person that no longer exists in Attio.
    await db.insert(idMappings).values({
      id: crypto.randomUUID(),
      attioObject: "people",
      attioRecordId: "scan-gone",
      sfObject: "Contact",
      sfRecordId: "003Hs000GONEPERSAA",
    });
    const first = collector();

    const run1 = await attioCatchup(deps(), env.CURSORS, people, {
      now: new Date("2026-11-23T12:00:00Z"),
      send: first.send,
    });

    expect(run1).toMatchObject({ enqueued: 2_000, deletes: 0, reconciledThrough: null });
    expect(first.sent.some((m) => m.kind === "attio.record" && m.eventType === "record.deleted")).toBe(false);
    const second = collector();

    const run2 = await attioCatchup(deps(), env.CURSORS, people, {
      now: new Date("2026-11-23T12:05:00Z"),
      send: second.send,
    });

    const ids = second.sent.flatMap((m) => (m.kind === "attio.record" ? [`${m.eventType}:${m.recordId}`] : []));
    expect(ids.filter((id) => id.startsWith("record.updated")).length).toBe(100);
    expect(ids).toContain("record.deleted:scan-gone");
    expect(run2).toMatchObject({ enqueued: 100, deletes: 1, reconciledThrough: "2026-11-23T12:00:00.000Z" });
  });
});

describe("stalled sync jobs", () => {
  it("are driven again from their checkpoint, or have the records that never came back queued again", async () => {
    const { createJob, resumeStalledJobs } = await import("../../src/jobs/jobs.ts");
    const { syncJobs, jobRecords } = await import("../../src/store/schema.ts");
    const listing = await createJob(db, runtime, {
      objects: ["people"],
      direction: "both",
      mode: "full",
      dry_run: false,
    });
    await db
      .update(syncJobs)
      .set({
        state: "running",
        checkpoint: { step: 1, offset: 0, cursor: { stamp: "2026-01-01T00:00:00.000Z", id: "003X" } },
        updatedAt: "2026-11-23T11:00:00.000Z",
      })
      .where(eq(syncJobs.id, listing.id));
    const listed = await createJob(db, runtime, {
      objects: ["people"],
      direction: "both",
      mode: "full",
      dry_run: false,
    });
    await db
      .update(syncJobs)
      .set({
        state: "running",
        progress: { "people:attio": { complete: true }, enumerated: true },
        updatedAt: "2026-11-23T11:00:00.000Z",
      })
      .where(eq(syncJobs.id, listed.id));
    await db.insert(jobRecords).values([
      { jobId: listed.id, mapping: "people", side: "attio", recordId: "p-1", outcome: "created" },
      { jobId: listed.id, mapping: "people", side: "attio", recordId: "p-2", outcome: "unchanged" },
      { jobId: listed.id, mapping: "people", side: "attio", recordId: "p-3" },
    ]);
    const fresh = await createJob(db, runtime, {
      objects: ["people"],
      direction: "both",
      mode: "full",
      dry_run: false,
    });
    await db
      .update(syncJobs)
      .set({ state: "running", updatedAt: "2026-11-23T11:59:59.000Z" })
      .where(eq(syncJobs.id, fresh.id));
    const { sent, send } = collector();

    const resumed = await resumeStalledJobs(db, send, 600, Date.parse("2026-11-23T12:00:00Z"));

    expect(resumed.sort()).toEqual([listing.id, listed.id].sort());
    const pages = sent.flatMap((m) => (m.kind === "job.page" ? [m] : []));
    expect(pages.find((p) => p.jobId === listing.id)).toMatchObject({
      step: 1,
      cursor: { stamp: "2026-01-01T00:00:00.000Z", id: "003X" },
    });
    expect(pages.find((p) => p.jobId === listed.id)).toBeUndefined();
    // Only the record without an outcome is queued again; the others keep their counts.
    const again = sent.flatMap((m) => (m.kind === "records.sync" && m.jobId === listed.id ? [m] : []));
    expect(again).toMatchObject([{ mapping: "people", side: "attio", recordIds: ["p-3"] }]);
    const rows = await db.select().from(jobRecords).where(eq(jobRecords.jobId, listed.id)).all();
    expect(rows.map((r) => r.outcome).sort()).toEqual(["created", "unchanged", null].sort());
  });
});
