import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rememberListed } from "../../src/jobs/listed.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { idMappings, jobRecords } from "../../src/store/schema.ts";
import type { RecordsMessage } from "../../src/sync/messages.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

// What a test enqueues is consumed in the background: let it finish while the fakes still answer.
afterEach(() => drainQueue());

const db = openDb(env.DB);

function call(method: string, path: string, body?: unknown) {
  return exports.default.fetch(`https://worker.test/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

interface Job {
  id: string;
  state: string;
  counts: Record<string, number>;
  enqueued: number;
  plan?: { record_id: string; action: string; to_salesforce?: Record<string, unknown> }[];
}

/** Polls the job until it is done (bounded). */
async function finished(id: string): Promise<Job> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const job = (await (await call("GET", `/sync/${id}`)).json()) as Job;
    if (job.state === "done") return job;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${id} did not finish`);
}

/** Three Attio people and one matching Contact; `prefix` keeps each test's records apart in D1. */
function workspace(prefix = "job") {
  const attio = fakeAttio();
  const sf = fakeSalesforce();
  server.use(...attio.handlers, ...sf.handlers);
  attio.addPerson(`${prefix}-p1`, { first: "Ana", last: "Silva", email: `ana@${prefix}.example` });
  attio.addPerson(`${prefix}-p2`, { first: "Ben", last: "Osei", email: `ben@${prefix}.example` });
  attio.addPerson(`${prefix}-p3`, { first: "Cai", last: "Ng", email: `cai@${prefix}.example`, title: "CFO" });
  sf.contacts.set(`003Hs${prefix.toUpperCase().slice(0, 6).padEnd(6, "0")}CAI0AAA`, {
    LastName: "Ng",
    Email: `cai@${prefix}.example`,
    Title: null,
    SystemModstamp: "2026-11-01T00:00:00.000+0000",
  });
  return { attio, sf };
}

/** A job's `records.sync` message for Attio people, as a job page sends it. */
function jobRecordsMessage(jobId: string, ids: string[]): RecordsMessage {
  return {
    kind: "records.sync",
    mapping: "people",
    side: "attio",
    recordIds: ids,
    reason: `job ${jobId}`,
    attempt: 1,
    jobId,
    dedupeKey: `internal:${ids.join(",")}`,
    correlationId: `job:${jobId}`,
    receivedAt: new Date().toISOString(),
  };
}

beforeEach(() => clearTokenCache());

describe("/api/v1/sync jobs", () => {
  it("a dry run plans every record of both sides and writes nothing anywhere", async () => {
    const { attio, sf } = workspace();
    const pairsBefore = (await db.select().from(idMappings).all()).length;

    const created = await call("POST", "/sync", { objects: ["people"], mode: "full", dry_run: true });
    expect(created.status).toBe(202);
    const job = await finished(((await created.json()) as { id: string }).id);

    expect(job.enqueued).toBe(4);
    expect(job.counts).toMatchObject({ created: 2, linked: 2, failed: 0 });
    const cai = job.plan?.find((p) => p.record_id === "job-p3");
    expect(cai).toMatchObject({ action: "link", to_salesforce: { Title: "CFO" } });
    expect(sf.writes()).toEqual([]);
    expect(attio.calls.filter((c) => c.method !== "GET" && !c.path.endsWith("/query"))).toEqual([]);
    expect((await db.select().from(idMappings).all()).length).toBe(pairsBefore);
  });

  it("a full sync creates what is missing, links what matches, and reports it", async () => {
    const { sf } = workspace();
    const created = await call("POST", "/sync", { objects: ["people"], direction: "attio_to_sf" });
    const job = await finished(((await created.json()) as { id: string }).id);

    expect(job.counts).toMatchObject({ created: 2, linked: 1 });
    expect([...sf.contacts.values()].map((c) => c["Email"]).sort()).toEqual([
      "ana@job.example",
      "ben@job.example",
      "cai@job.example",
    ]);
    expect(sf.contacts.get("003HsJOB000CAI0AAA")?.["Title"]).toBe("CFO");
    const pair = await db.select().from(idMappings).where(eq(idMappings.attioRecordId, "job-p3")).get();
    expect(pair?.sfRecordId).toBe("003HsJOB000CAI0AAA");
  });

  it("reads each Attio record once: the page's listing stands in for the consumer's read", async () => {
    const { attio, sf } = workspace("once");
    const created = await call("POST", "/sync", { objects: ["people"], direction: "attio_to_sf" });
    const job = await finished(((await created.json()) as { id: string }).id);

    expect(job.counts).toMatchObject({ created: 2, linked: 1, failed: 0 });
    expect(sf.contacts.size).toBe(3);
    const scans = attio.queries.filter((q) => q.object === "people" && !q.filter);
    const reads = attio.queries.filter((q) => q.object === "people" && q.filter);
    expect(scans).toHaveLength(1);
    expect(reads).toEqual([]);
  });

  it("reads a listed record again when another message names it or it is already linked", async () => {
    const { attio, sf } = workspace("fresh");
    const created = await call("POST", "/sync", { objects: ["people"], direction: "attio_to_sf" });
    const job = await finished(((await created.json()) as { id: string }).id);
    const titleOf = (email: string) => [...sf.contacts.values()].find((c) => c["Email"] === email)?.["Title"];
    const records = (ids: string[]) => jobRecordsMessage(job.id, ids);
    // A page listed these (older) versions; each record was edited in Attio since.
    const listedThenEdited = (id: string, email: string, linked = false) => {
      const listed = linked
        ? (structuredClone(attio.addPerson(id, { first: "Old", last: "Listing", email, title: "CFO" })) as never)
        : (structuredClone(attio.addPerson(id, { first: "New", last: "Person", email, title: "Listed" })) as never);
      attio.setJobTitle(id, "Edited");
      rememberListed("people", [listed]);
    };
    listedThenEdited("fresh-p4", "p4@fresh.example");
    listedThenEdited("fresh-p5", "p5@fresh.example");
    listedThenEdited("fresh-p3", "cai@fresh.example", true);

    await runQueue([records(["fresh-p4", "fresh-p5", "fresh-p3"]), personChanged("fresh-p5")], {
      queue: "attio-sfdc-jobs",
    });

    // Unlinked and named by nothing else: created from the listing, with no read.
    expect(titleOf("p4@fresh.example")).toBe("Listed");
    // Named by a webhook event in the same batch: read again.
    expect(titleOf("p5@fresh.example")).toBe("Edited");
    // Linked by the job: read again, so the older listing is never written back.
    expect(titleOf("cai@fresh.example")).toBe("Edited");
  });

  it("syncs a page's two messages side by side, each from its own listing", async () => {
    const { attio, sf } = workspace("parts");
    const created = await call("POST", "/sync", { objects: ["people"], direction: "attio_to_sf" });
    const job = await finished(((await created.json()) as { id: string }).id);
    const added = ["parts-p4", "parts-p5", "parts-p6", "parts-p7"];
    for (const [i, id] of added.entries()) {
      const listed = attio.addPerson(id, { last: `Part${i}`, email: `${id}@parts.example`, title: `T${i}` });
      rememberListed("people", [structuredClone(listed) as never]);
    }
    const readsBefore = attio.queries.length;

    const result = await runQueue(
      [jobRecordsMessage(job.id, added.slice(0, 2)), jobRecordsMessage(job.id, added.slice(2))],
      {
        queue: "attio-sfdc-jobs",
      },
    );

    expect(result.result.explicitAcks).toHaveLength(2);
    expect(result.result.retryMessages).toEqual([]);
    const contacts = [...sf.contacts.values()];
    for (const [i, id] of added.entries()) {
      expect(
        contacts.filter((c) => c["Email"] === `${id}@parts.example`).map((c) => [c["LastName"], c["Title"]]),
      ).toEqual([[`Part${i}`, `T${i}`]]);
    }
    // No person read again (a person's company may be looked up to resolve its reference).
    expect(attio.queries.slice(readsBefore).filter((q) => q.object === "people")).toEqual([]);
    const again = (await (await call("GET", `/sync/${job.id}`)).json()) as Job;
    expect(again.counts).toMatchObject({ created: 6, linked: 1, failed: 0 });
  });

  it("counts each record once when its message is delivered again, and keeps what the job did", async () => {
    const { sf } = workspace("redo");
    const created = await call("POST", "/sync", { objects: ["people"], direction: "attio_to_sf" });
    const job = await finished(((await created.json()) as { id: string }).id);
    expect(job).toMatchObject({ enqueued: 3, counts: { created: 2, linked: 1, processed: 3 } });

    // At-least-once delivery: the job's records message and its first page arrive once more.
    const redelivered = jobRecordsMessage(job.id, ["redo-p1", "redo-p2", "redo-p3"]);
    const page = {
      kind: "job.page",
      jobId: job.id,
      step: 0,
      offset: 0,
      dedupeKey: `job:${job.id}:0:0:`,
      correlationId: `job:${job.id}`,
      receivedAt: new Date().toISOString(),
    };
    const result = await runQueue([redelivered, page]);
    expect(result.result.explicitAcks).toHaveLength(2);

    const again = (await (await call("GET", `/sync/${job.id}`)).json()) as Job;
    expect(again).toMatchObject({ state: "done", enqueued: 3, counts: { created: 2, linked: 1, processed: 3 } });
    expect(sf.contacts.size).toBe(3);
    const rows = await db.select().from(jobRecords).where(eq(jobRecords.jobId, job.id)).all();
    expect(rows).toHaveLength(3);
  });

  it("rejects unknown objects and bad modes, naming the problem; cancels a job", async () => {
    workspace();
    expect((await call("POST", "/sync", { objects: ["planets"] })).status).toBe(400);
    expect((await call("POST", "/sync", { mode: "everything" })).status).toBe(400);
    expect((await call("POST", "/sync", { mode: "records" })).status).toBe(400);
    const created = (await (await call("POST", "/sync", { objects: ["people"] })).json()) as { id: string };
    const cancelled = await call("DELETE", `/sync/${created.id}`);
    expect(await cancelled.json()).toEqual({ id: created.id, state: "cancelled" });
    expect((await call("GET", `/sync/${crypto.randomUUID()}`)).status).toBe(404);
  });
});
