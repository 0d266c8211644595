import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import webhook from "../../fixtures/attio/webhook-record-updated.json";
import worker from "../../src/index.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { deploymentMode, idMappings, parkedChanges } from "../../src/store/schema.ts";
import { kvKeys } from "../../src/sync/catchup-state.ts";
import type { SalesforceChangeMessage } from "../../src/sync/messages.ts";
import { eventually } from "../helpers/eventually.ts";
import { fakeAttio, PEOPLE_OBJECT_ID } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged, relayedChange } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN, attioWebhookRequest } from "../helpers/signing.ts";

/**
 * Issue 24, modes: a new deployment writes nothing until started; a pause holds every change
 * (live events from both sides, the catch-up) without calling either CRM, and resume writes each
 * change once. Tests run in order and share this file's storage.
 */

afterEach(() => drainQueue());
beforeEach(() => clearTokenCache());

const db = openDb(env.DB);

function setup() {
  const attio = fakeAttio();
  const sf = fakeSalesforce();
  server.use(...attio.handlers, ...sf.handlers);
  return { attio, sf };
}

/** Calls that change a record: Attio creates/updates/deletes, Salesforce sObject and Bulk ingest calls. */
function writes({ attio, sf }: ReturnType<typeof setup>) {
  const changing = (method: string) => method !== "GET" && method !== "HEAD";
  return {
    attio: attio.calls.filter((c) => changing(c.method) && !c.path.endsWith("/records/query")).length,
    salesforce: sf.calls.filter(
      (c) => changing(c.method) && (c.path.includes("/sobjects") || c.path.includes("/jobs/ingest")),
    ).length,
  };
}

async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown) {
  const response = await exports.default.fetch(`https://worker.test/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

interface StatusBody {
  mode: string;
  mode_since: string;
  mode_changed_by: string;
  held_changes: number;
  problems: { code: string; message: string; since?: string }[];
}

async function cron() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

async function setMode(mode: "setup" | "running" | "paused") {
  await db
    .insert(deploymentMode)
    .values({ id: "deployment", mode, changedBy: "test" })
    .onConflictDoUpdate({ target: deploymentMode.id, set: { mode, changedBy: "test" } });
}

const held = () => db.select().from(parkedChanges).all();
const sfStamp = () => new Date().toISOString().replace("Z", "+0000");

/** A person's edit of a Contact as the relay posts its change event: the fields it changed, with their values. */
function contactEdited(contactId: string, fields: Record<string, unknown>): SalesforceChangeMessage {
  const base = relayedChange("Contact", contactId);
  return {
    ...base,
    header: { ...base.header, changeType: "UPDATE", changeOrigin: "", changedFields: Object.keys(fields) },
    fields,
    replayId: String(Date.now()),
  };
}

describe("modes", () => {
  it("a new deployment holds a verified webhook, catches nothing up and writes nothing until started; start delivers it once", async () => {
    // Nothing stored: a new deployment (the test setup had started it).
    await env.DB.exec("DELETE FROM deployment_mode");
    expect(await db.select().from(idMappings).all()).toEqual([]);
    const fakes = setup();
    const { attio, sf } = fakes;
    const recordId = webhook.events[0]?.id.record_id ?? "";
    attio.addPerson(recordId, { first: "Nia", last: "Setup", email: "setup@northwind.example", title: "CTO" });
    sf.contacts.set("003000000000PRE001", {
      LastName: "Already",
      Email: "already@northwind.example",
      LastModifiedDate: sfStamp(),
      SystemModstamp: sfStamp(),
    });
    const calls = { attio: attio.calls.length, salesforce: sf.calls.length };

    const delivered = await exports.default.fetch(
      await attioWebhookRequest(webhook, { "idempotency-key": "modes-setup-1" }),
    );
    expect(delivered.status).toBe(200);
    const rows = await eventually(async () => ((await held()).length > 0 ? held() : undefined));
    expect(rows).toEqual([
      expect.objectContaining({ key: `attio:${PEOPLE_OBJECT_ID}:${recordId}`, reason: "setup", queue: "sync" }),
    ]);
    await cron();
    // The cron only kept house: no catch-up ran (none stored), and neither CRM was called at all.
    expect(await env.CURSORS.get(kvKeys.lastRun)).toBeNull();
    expect(await env.CURSORS.get("cron:last-run", "json")).toMatchObject({
      mode: "setup",
      catchup: { skipped: "mode setup" },
    });
    expect({ attio: attio.calls.length, salesforce: sf.calls.length }).toEqual(calls);
    expect([...sf.contacts.keys()]).toEqual(["003000000000PRE001"]);

    const before = await api<StatusBody>("GET", "/status");
    expect(before.body).toMatchObject({ mode: "setup", mode_changed_by: "new deployment", held_changes: 1 });
    expect(before.body.problems.map((p) => p.code)).toContain("not_started");
    expect(before.body.problems.map((p) => p.code)).not.toContain("changes_waiting");
    expect((await api("POST", "/pause")).status).toBe(409);
    expect((await api("POST", "/resume")).status).toBe(409);

    const started = await api<{
      first_catch_up: { mapping: string; salesforce: unknown; attio: unknown }[];
    }>("POST", "/start");
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({
      mode: "running",
      previous_mode: "setup",
      changed: true,
      changed_by: "operator:admin-token",
      delivery: { state: "sent", sent: 1, left: 0 },
    });
    // What the first catch-up will consider: the Contact changed in the last minutes (older ones are
    // an initial sync's work), and every Attio person (none linked yet).
    expect(started.body.first_catch_up.find((m) => m.mapping === "people")).toEqual({
      mapping: "people",
      salesforce: { ok: true, object: "Contact", changed_since: expect.any(String), records: 1, per_run_limit: 10_000 },
      attio: { ok: true, object: "people", records: 1, exact: true, linked: 0 },
    });

    const pair = await eventually(() =>
      db.select().from(idMappings).where(eq(idMappings.attioRecordId, recordId)).get(),
    );
    expect(sf.contacts.get(pair.sfRecordId)).toMatchObject({ Email: "setup@northwind.example", Title: "CTO" });
    await drainQueue();
    expect(writes(fakes).salesforce).toBe(1);
    expect(await held()).toEqual([]);
    const after = await api<StatusBody>("GET", "/status");
    expect(after.body).toMatchObject({ mode: "running", mode_changed_by: "operator:admin-token", held_changes: 0 });
    expect(after.body.problems.map((p) => p.code)).not.toContain("not_started");

    // Starting again changes nothing and counts nothing.
    expect((await api("POST", "/start")).body).toMatchObject({ mode: "running", changed: false, first_catch_up: null });
  });

  it("pause holds a burst of edits on both sides without calling either CRM; resume writes each once", async () => {
    await setMode("running");
    const fakes = setup();
    const { attio, sf } = fakes;
    attio.addPerson("p-burst-a", { first: "Ada", last: "Burst", email: "burst-a@northwind.example", title: "Analyst" });
    attio.addPerson("p-burst-b", { first: "Bo", last: "Burst", email: "burst-b@northwind.example", title: "Engineer" });
    await runQueue([personChanged("p-burst-a"), personChanged("p-burst-b")]);
    // What that sync asked for in the background (its company's sync) is done before the pause.
    await drainQueue();
    const contactOf = async (id: string) =>
      (await db.select().from(idMappings).where(eq(idMappings.attioRecordId, id)).get())?.sfRecordId ?? "";
    const [a, b] = [await contactOf("p-burst-a"), await contactOf("p-burst-b")];
    expect(sf.contacts.get(a)).toMatchObject({ Title: "Analyst" });
    expect(sf.contacts.get(b)).toMatchObject({ Title: "Engineer" });

    const paused = await api("POST", "/pause");
    expect(paused).toMatchObject({
      status: 200,
      body: { mode: "paused", previous_mode: "running", changed: true, changed_by: "operator:admin-token" },
    });
    const calls = { attio: attio.calls.length, salesforce: sf.calls.length };
    const writesBefore = writes(fakes);

    // Three edits of A's title in Attio, each with its webhook.
    for (const title of ["Lead", "Manager", "Director"]) {
      attio.setJobTitle("p-burst-a", title);
      expect((await runQueue([personChanged("p-burst-a")])).result.retryMessages).toEqual([]);
    }
    // Two edits of B's Contact in Salesforce: its Title, then a field the sync does not map. Held by
    // its values, the second event alone would equal the base and settle, and the Title would be lost.
    const now = sfStamp();
    sf.contacts.set(b, { ...sf.contacts.get(b), Title: "VP", LastModifiedDate: now, SystemModstamp: now });
    await runQueue([contactEdited(b, { Title: "VP" })]);
    sf.contacts.set(b, { ...sf.contacts.get(b), Description: "met at the fair" });
    await runQueue([contactEdited(b, { Description: "met at the fair" })]);
    // The catch-up does not run while paused.
    await cron();

    expect({ attio: attio.calls.length, salesforce: sf.calls.length }).toEqual(calls);
    expect(sf.contacts.get(a)).toMatchObject({ Title: "Analyst" });
    expect(attio.people.get("p-burst-b")?.values.job_title[0]?.value).toBe("Engineer");
    expect((await held()).map((row) => [row.key, row.reason]).sort()).toEqual([
      [`attio:${PEOPLE_OBJECT_ID}:p-burst-a`, "paused"],
      [`salesforce:Contact:${b}`, "paused"],
    ]);
    const status = await api<StatusBody>("GET", "/status");
    expect(status.body).toMatchObject({ mode: "paused", mode_changed_by: "operator:admin-token", held_changes: 2 });
    expect(status.body.problems.find((p) => p.code === "paused")).toMatchObject({
      since: status.body.mode_since,
      message: expect.stringContaining("2 change(s) held"),
    });
    // An operator's write waits too.
    const resolve = await api<{ error: { code: string } }>("POST", "/conflicts/any", { side: "attio" });
    expect(resolve).toMatchObject({ status: 409, body: { error: { code: "paused" } } });
    // Pausing again changes nothing.
    expect((await api("POST", "/pause")).body).toMatchObject({ mode: "paused", changed: false });

    const resumed = await api("POST", "/resume");
    expect(resumed.body).toMatchObject({
      mode: "running",
      previous_mode: "paused",
      changed: true,
      delivery: { state: "sent", sent: 2, left: 0 },
    });
    await eventually(async () => (sf.contacts.get(a)?.["Title"] === "Director" ? true : undefined));
    await eventually(async () =>
      attio.people.get("p-burst-b")?.values.job_title[0]?.value === "VP" ? true : undefined,
    );
    await drainQueue();
    // Each side written once: A's Contact updated once with the last title, B's person once.
    const after = writes(fakes);
    expect({
      attio: after.attio - writesBefore.attio,
      salesforce: after.salesforce - writesBefore.salesforce,
    }).toEqual({ attio: 1, salesforce: 1 });
    expect(await held()).toEqual([]);
  });

  it("stops a batch that was reading when the pause came before it writes; resume writes its change once", async () => {
    await setMode("running");
    const fakes = setup();
    const { attio, sf } = fakes;
    attio.addPerson("p-inflight", {
      first: "Ines",
      last: "Flight",
      email: "inflight@northwind.example",
      title: "Analyst",
    });
    await runQueue([personChanged("p-inflight")]);
    await drainQueue();
    const pair = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, "p-inflight")).get();
    const contactId = pair?.sfRecordId ?? "";
    attio.setJobTitle("p-inflight", "Director");
    // The pause comes while the batch reads the Contact, after the batch checked the mode.
    let pausing: Promise<unknown> | undefined;
    sf.afterQuery(new RegExp(`FROM Contact WHERE Id IN \\('${contactId}'\\)`), () => {
      pausing = setMode("paused");
    });
    const before = writes(fakes);

    const run = await runQueue([personChanged("p-inflight")]);
    expect(pausing).toBeDefined();
    expect(run.result.explicitAcks).toEqual(run.ids);
    expect(writes(fakes)).toEqual(before);
    expect(sf.contacts.get(contactId)).toMatchObject({ Title: "Analyst" });
    expect(await held()).toEqual([
      expect.objectContaining({ reason: "paused", errorMessage: expect.stringContaining("paused") }),
    ]);

    expect((await api("POST", "/resume")).body).toMatchObject({ delivery: { state: "sent", sent: 1 } });
    await eventually(async () => (sf.contacts.get(contactId)?.["Title"] === "Director" ? true : undefined));
    await drainQueue();
    expect(writes(fakes).salesforce - before.salesforce).toBe(1);
  });

  it("runs a dry-run job in setup without writing; a job that writes starts the deployment", async () => {
    await setMode("setup");
    const fakes = setup();
    const { attio, sf } = fakes;
    attio.addPerson("p-dry", { first: "Dee", last: "Ry", email: "dry@northwind.example", title: "CFO" });
    const before = writes(fakes);

    const dry = await api<{ id: string; mode: string }>("POST", "/sync", {
      objects: ["people"],
      mode: "records",
      record_ids: { attio: ["p-dry"] },
      dry_run: true,
    });
    expect(dry).toMatchObject({ status: 202, body: { mode: "setup" } });
    const report = await eventually(async () => {
      const job = await api<{ state: string; plan?: unknown[] }>("GET", `/sync/${dry.body.id}`);
      return job.body.state === "done" ? job.body : undefined;
    }, 10_000);
    expect(report.plan).toHaveLength(1);
    expect(writes(fakes)).toEqual(before);
    expect([...sf.contacts.values()].some((c) => c["Email"] === "dry@northwind.example")).toBe(false);
    expect(await db.select().from(deploymentMode).get()).toMatchObject({ mode: "setup" });

    const real = await api<{ id: string; mode: string }>("POST", "/sync", {
      objects: ["people"],
      mode: "records",
      record_ids: { attio: ["p-dry"] },
    });
    expect(real).toMatchObject({ status: 202, body: { mode: "running" } });
    expect(await db.select().from(deploymentMode).get()).toMatchObject({
      mode: "running",
      changedBy: `job:${real.body.id}`,
    });
    await eventually(async () =>
      [...sf.contacts.values()].some((c) => c["Email"] === "dry@northwind.example") ? true : undefined,
    );
  });

  it("counts a deployment from before modes (pairs stored, no mode) as running", async () => {
    await env.DB.exec("DELETE FROM deployment_mode");
    setup();
    const status = await api<StatusBody>("GET", "/status");
    expect(status.body).toMatchObject({ mode: "running", mode_changed_by: "upgrade" });
  });
});
