import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Stack, startStack } from "../../../scripts/sandbox/stack.ts";
import {
  api,
  attioRecords,
  closeWorkerDb,
  control,
  eventually,
  idle,
  rows,
  salesforceRecords,
  settle,
  state,
  workerDb,
} from "./helpers.ts";

/**
 * Sync jobs end to end (issue 6, Tests): both emulators and the Worker under wrangler dev. The data
 * is seeded without notify, so no webhook or change event fires: only the jobs started through
 * `POST /api/v1/sync` (and, in the last test, a catch-up and human edits) move records.
 * The tests run in order on one stack: each starts from the state the previous one left.
 */

vi.setConfig({ testTimeout: 90_000 });

let stack: Stack;

beforeAll(async () => {
  // Jobs with no progress for 5 s are driven again by the cron (the restart test triggers it).
  // Attio's emulator on a thread of its own, as in the benchmarks: a pause of this process (a GC,
  // another program on the machine) would otherwise hold requests back and let them through
  // together, and its one-second window would count more than the Worker sent in any second.
  stack = await startStack({ seed: 61, vars: { JOB_STALL_SECONDS: "5" }, attioThread: true });
}, 120_000);

afterAll(async () => {
  if (stack) closeWorkerDb(stack);
  await stack?.stop();
});

interface Job {
  id: string;
  state: string;
  enqueued: number;
  progress: Record<string, unknown>;
  counts: Record<(typeof OUTCOMES)[number] | "processed", number>;
  errors: unknown[];
  plan?: { mapping: string; side: string; record_id: string; action: string }[];
}

interface WriteStats {
  writes: number;
  syncWrites: Record<string, Record<string, number>>;
}
interface AttioStats extends WriteStats {
  rateLimited: number;
  webhookEvents: number;
}
interface SalesforceStats extends WriteStats {
  limitRefusals: number;
}

const OUTCOMES = [
  "created",
  "updated",
  "linked",
  "unchanged",
  "conflicts",
  "ambiguous",
  "deferred",
  "deleted",
  "held",
  "failed",
] as const;

async function stats<T>(baseUrl: string): Promise<T> {
  const response = await fetch(`${baseUrl}/__control/stats`);
  if (!response.ok) throw new Error(`stats: ${response.status}`);
  return (await response.json()) as T;
}

async function startJob(body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${stack.workerUrl}/api/v1/sync`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { id?: string; state?: string };
  expect(response.status, JSON.stringify(json)).toBe(202);
  expect(json.state).toBe("queued");
  return json.id ?? "";
}

/** Polls the job until it is done (any other final state fails the test with the job report). */
async function jobDone(id: string, timeoutMs = 45_000): Promise<Job> {
  let last: Job | undefined;
  try {
    return await eventually(
      `job ${id} done`,
      async () => {
        last = await api<Job>(stack, `/sync/${id}`);
        if (last.state === "failed" || last.state === "cancelled") throw new Error(`job ${last.state}`);
        return last.state === "done" ? last : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    const status = await api(stack, "/status").catch(() => "unavailable");
    const failures = await api(stack, "/failures").catch(() => "unavailable");
    throw new Error(
      `${String(err)}\njob: ${JSON.stringify(last)}\nstatus: ${JSON.stringify(status)}\nfailures: ${JSON.stringify(failures).slice(0, 3000)}`,
    );
  }
}

function outcomeSum(job: Job): number {
  return OUTCOMES.reduce((sum, key) => sum + (job.counts[key] ?? 0), 0);
}

/** Every record of both sides is in exactly one pair, and the two sides hold the same number. */
async function expectAllLinkedOnce(): Promise<{ companies: number; people: number }> {
  const db = await workerDb(stack);
  const result = { companies: 0, people: 0 };
  for (const [attioObject, sfObject] of [
    ["companies", "Account"],
    ["people", "Contact"],
  ] as const) {
    const attioIds = (await attioRecords(stack, attioObject)).map((r) => r.id.record_id);
    const sfIds = (await salesforceRecords(stack, sfObject)).map((r) => r.Id);
    const pairs = rows<{ attio_record_id: string; sf_record_id: string }>(
      db,
      "select attio_record_id, sf_record_id from id_mappings where sf_object = ?",
      sfObject,
    );
    expect(sfIds.length, `${sfObject} count`).toBe(attioIds.length);
    expect(pairs.length, `${sfObject} pairs`).toBe(attioIds.length);
    expect(new Set(pairs.map((p) => p.attio_record_id))).toEqual(new Set(attioIds));
    expect(new Set(pairs.map((p) => p.sf_record_id))).toEqual(new Set(sfIds));
    result[attioObject] = attioIds.length;
  }
  return result;
}

describe("sync jobs", () => {
  it("a dry run plans every record and writes nothing", async () => {
    await control(stack.attio.url, "seed", { dataset: "sample" });
    await control(stack.salesforce.url, "seed", { dataset: "sample" });
    const attioBefore = await stats<AttioStats>(stack.attio.url);
    const sfBefore = await stats<SalesforceStats>(stack.salesforce.url);
    const attioCompanies = (await attioRecords(stack, "companies")).length;
    const attioPeople = (await attioRecords(stack, "people")).length;
    const accounts = (await salesforceRecords(stack, "Account")).length;
    const contacts = (await salesforceRecords(stack, "Contact")).length;
    expect(attioCompanies + attioPeople + accounts + contacts).toBeGreaterThan(0);

    const id = await startJob({ objects: ["companies", "people"], dry_run: true });
    const job = await jobDone(id);
    await idle(stack);

    // Every record of both sides was listed and planned, once.
    expect(job.enqueued).toBe(attioCompanies + attioPeople + accounts + contacts);
    expect(job.counts.processed).toBe(job.enqueued);
    expect(outcomeSum(job)).toBe(job.enqueued);
    expect(job.counts.failed).toBe(0);
    // The sample has records on one side only (to create) and on both (to link by email/domain).
    expect(job.counts.created).toBeGreaterThan(0);
    expect(job.counts.linked).toBeGreaterThan(0);
    expect(job.plan?.length).toBeGreaterThan(0);
    for (const entry of job.plan ?? []) {
      expect(["companies", "people"]).toContain(entry.mapping);
      expect(["attio", "salesforce"]).toContain(entry.side);
    }
    const actions = new Set((job.plan ?? []).map((p) => p.action.split(/[:_ ]/)[0]));
    expect([...actions].some((a) => a?.startsWith("create"))).toBe(true);
    expect([...actions].some((a) => a?.startsWith("link"))).toBe(true);

    const attioAfter = await stats<AttioStats>(stack.attio.url);
    const sfAfter = await stats<SalesforceStats>(stack.salesforce.url);
    expect({ writes: attioAfter.writes, syncWrites: attioAfter.syncWrites }).toEqual({
      writes: attioBefore.writes,
      syncWrites: attioBefore.syncWrites,
    });
    expect({ writes: sfAfter.writes, syncWrites: sfAfter.syncWrites }).toEqual({
      writes: sfBefore.writes,
      syncWrites: sfBefore.syncWrites,
    });
    const db = await workerDb(stack);
    expect(rows(db, "select id from id_mappings")).toEqual([]);
  });

  it("a full job links the records present on both sides and creates the others", async () => {
    const attioCompanies = (await attioRecords(stack, "companies")).length;
    const attioPeople = (await attioRecords(stack, "people")).length;
    const accounts = (await salesforceRecords(stack, "Account")).length;
    const contacts = (await salesforceRecords(stack, "Contact")).length;
    const attioBefore = await stats<AttioStats>(stack.attio.url);

    const id = await startJob({ objects: ["companies", "people"] });
    const job = await jobDone(id);
    await settle(stack);

    const linked = await expectAllLinkedOnce();
    // Each pair is either a link of two existing records or a record created from the other side.
    const pairs = linked.companies + linked.people;
    const existing = attioCompanies + attioPeople + accounts + contacts;
    expect(job.counts.created + job.counts.linked).toBe(pairs);
    expect(existing - job.counts.linked).toBe(pairs);
    expect(job.counts.created).toBeGreaterThan(0);
    expect(job.counts.linked).toBeGreaterThan(0);
    expect(job.counts.failed).toBe(0);
    expect(job.counts.processed).toBe(job.enqueued);
    expect(outcomeSum(job)).toBe(job.enqueued);
    expect(job.plan).toBeUndefined();

    // The records the job created in Attio named our API token: from then on the webhook drops
    // the echoes of our writes on arrival, and only the first creates' echoes were queued.
    const { token_actor } = await state<{ token_actor: unknown }>(stack.attio.url);
    const status = await api<{ attio_own_actor: unknown; attio_echo_filter: unknown }>(stack, "/status");
    expect(status.attio_own_actor).toEqual(token_actor);
    // The echoes that still arrived got the webhook a filter: Attio sends ours no more.
    expect(status.attio_echo_filter).toEqual([expect.objectContaining({ state: "filtered", reason: null })]);
    const events = (await stats<AttioStats>(stack.attio.url)).webhookEvents - attioBefore.webhookEvents;
    const db = await workerDb(stack);
    const [queued] = rows<{ n: number }>(db, "SELECT count(*) AS n FROM inbound_events WHERE source = 'attio'");
    // Two creates teach it; their echoes may arrive before it is stored.
    expect(events).toBeGreaterThanOrEqual(6);
    expect(queued?.n).toBeLessThanOrEqual(2);
  });

  it("a job, a catch-up and human edits together never get a 429 or a limit refusal", async () => {
    // New records on each side, so the job writes to both while the catch-up and the edits run.
    await control(stack.salesforce.url, "seed", { dataset: "generated", count: 40, seed: 977 });
    await control(stack.attio.url, "seed", { dataset: "generated", count: 60, seed: 978 });
    const id = await startJob({ objects: ["companies", "people"] });

    const cron = await fetch(`${stack.workerUrl}/__scheduled?cron=${encodeURIComponent("*/5 * * * *")}`);
    expect(cron.status).toBe(200);
    const people = (await attioRecords(stack, "people")).slice(0, 15);
    const contacts = (await salesforceRecords(stack, "Contact")).slice(-15);
    for (const [i, person] of people.entries()) {
      await control(stack.attio.url, "edit", {
        object: "people",
        record_id: person.id.record_id,
        values: { job_title: `Edited title ${i}` },
      });
    }
    for (const [i, contact] of contacts.entries()) {
      await control(stack.salesforce.url, "edit", {
        object: "Contact",
        id: contact.Id,
        fields: { Description: `Edited in Salesforce ${i}` },
      });
    }

    const job = await jobDone(id, 60_000);
    await eventually(
      "Attio edits in Salesforce",
      async () => {
        const titles = new Set((await salesforceRecords(stack, "Contact")).map((c) => c["Title"]));
        return people.every((_, i) => titles.has(`Edited title ${i}`)) ? true : undefined;
      },
      30_000,
    );
    await settle(stack);

    expect(job.counts.failed).toBe(0);
    await expectAllLinkedOnce();
    const attio = await stats<AttioStats>(stack.attio.url);
    const salesforce = await stats<SalesforceStats>(stack.salesforce.url);
    expect(attio.rateLimited).toBe(0);
    expect(salesforce.limitRefusals).toBe(0);
  });

  // Under wrangler dev the queue lives in workerd's memory, so the restart drops the job's queued
  // page and record messages; the cron's stalled-job sweep drives the job again.
  it("a job survives a forced restart of the Worker and links every record once", async () => {
    // A clean slate: both emulators emptied and the Worker's pairs forgotten, so the generated
    // records cannot collide with the earlier tests' ones.
    await control(stack.attio.url, "reset", { keep_webhooks: true });
    await control(stack.salesforce.url, "reset", {});
    (await workerDb(stack)).exec("delete from sync_state; delete from id_mappings;");
    const seeded = await control<{ companies: number; people: number }>(stack.attio.url, "seed", {
      dataset: "generated",
      count: 120,
    });
    expect(seeded).toMatchObject({ companies: 120, people: 120 });

    const id = await startJob({ objects: ["companies", "people"] });
    // Stop once the first page is listed and work is under way, well before the job ends.
    await eventually(
      "first page listed",
      async () => {
        const job = await api<Job>(stack, `/sync/${id}`);
        return Number((job.progress["companies:attio"] as { enqueued?: number })?.enqueued ?? 0) > 0 ? job : undefined;
      },
      30_000,
    );
    await stack.worker.stop();
    const interrupted = await stats<SalesforceStats>(stack.salesforce.url);
    await stack.restartWorker();

    // The cron fires every few seconds here (every 5 minutes in production); once the job has been
    // quiet for JOB_STALL_SECONDS, it drives the job again.
    let cronRuns = 0;
    const job = await eventually(
      "job done after the restart",
      async () => {
        const current = await api<Job>(stack, `/sync/${id}`);
        if (current.state === "done") return current;
        const cron = await fetch(`${stack.workerUrl}/__scheduled?cron=*/5+*+*+*+*`);
        expect(cron.status).toBe(200);
        cronRuns += 1;
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        return undefined;
      },
      75_000,
    );
    expect(cronRuns).toBeGreaterThan(0);
    await settle(stack);
    const linked = await expectAllLinkedOnce();
    expect(linked.companies).toBeGreaterThanOrEqual(120);
    expect(linked.people).toBeGreaterThanOrEqual(120);
    expect(job.counts.failed).toBe(0);
    expect(job.counts.processed).toBe(job.enqueued);
    // Work continued after the restart.
    expect((await stats<SalesforceStats>(stack.salesforce.url)).writes).toBeGreaterThan(interrupted.writes);
  });

  it("syncs 4,500 companies: 2,000-record halves as Bulk jobs, the rest in Collections, each record read once", async () => {
    // A restart drops what the earlier tests left on the Worker's queues (under wrangler dev they
    // live in workerd's memory). The emulators reset to the same seed and hand out the same record
    // ids again, so a leftover catch-up message would otherwise sync some of this test's companies
    // beside the job (in one CI run 108 of them were linked instead of created, most likely so).
    await stack.restartWorker();
    await control(stack.attio.url, "reset", { keep_webhooks: true });
    await control(stack.salesforce.url, "reset", {});
    (await workerDb(stack)).exec("delete from sync_state; delete from id_mappings;");
    const seeded = await control(stack.attio.url, "seed", {
      dataset: "generated",
      count: 4_500,
      objects: ["companies"],
    });
    expect(seeded).toMatchObject({ companies: 4_500 });
    const attioBefore = await stats<AttioRoutes>(stack.attio.url);
    const sfBefore = await stats<SalesforceRoutes>(stack.salesforce.url);

    const job = await jobDone(await startJob({ objects: ["companies"], direction: "attio_to_sf" }), 60_000);
    await settle(stack);

    expect(job.counts).toMatchObject({ created: 4_500, failed: 0, processed: 4_500 });
    expect(job.enqueued).toBe(4_500);
    await expectAllLinkedOnce();
    // Attio's records were only listed, 500 a page (8 pages, then 500 and an empty one): none was
    // read again. (A cold Worker also reads the objects' attributes.)
    const attio = routeCalls(attioBefore.requestsByRoute, (await stats<AttioRoutes>(stack.attio.url)).requestsByRoute);
    expect(Object.entries(attio).filter(([route]) => route.includes("/records"))).toEqual([
      ["POST objects/companies/records/query", 10],
    ]);
    // The first page's two halves went as one Bulk job each; the last 500 in Collections of 200.
    const sf = routeCalls(sfBefore.callsByRoute, (await stats<SalesforceRoutes>(stack.salesforce.url)).callsByRoute);
    expect(sf).toMatchObject({ "POST jobs/ingest": 2, "PUT jobs/ingest/:id/batches": 2, "POST composite/sobjects": 3 });
    // Listed records are kept with only the mapped attributes: every Account got its company's values.
    const db = await workerDb(stack);
    const pairs = new Map(
      rows<{ attio_record_id: string; sf_record_id: string }>(
        db,
        "select attio_record_id, sf_record_id from id_mappings where sf_object = 'Account'",
      ).map((p) => [p.sf_record_id, p.attio_record_id]),
    );
    const companies = new Map((await attioRecords(stack, "companies")).map((c) => [c.id.record_id, c]));
    const mismatched = (await salesforceRecords(stack, "Account")).filter((account) => {
      const company = companies.get(pairs.get(account.Id) ?? "");
      const name = company?.values["name"]?.[0] as { value?: string } | undefined;
      const domain = company?.values["domains"]?.[0] as { domain?: string } | undefined;
      return account["Name"] !== name?.value || !String(account["Website"]).includes(String(domain?.domain));
    });
    expect(mismatched).toEqual([]);
  });
});

type Routes = Record<string, number>;
interface AttioRoutes {
  requestsByRoute: Routes;
}
interface SalesforceRoutes {
  callsByRoute: Routes;
}

/** Calls per route between two readings of an emulator's per-route counts. */
function routeCalls(was: Routes, now: Routes): Routes {
  return Object.fromEntries(
    Object.entries(now)
      .map(([route, n]) => [route, n - (was[route] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
}
