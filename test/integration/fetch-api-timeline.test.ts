import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { openDb } from "../../src/store/db.ts";
import { auditLog, failures, idMappings } from "../../src/store/schema.ts";
import { internalSalesforceMessage } from "../../src/sync/messages.ts";
import { eventually } from "../helpers/eventually.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";

/**
 * GET /api/v1/records/{side}/{object}/{record_id}/timeline after a record's life through the real
 * queue with the fakes: a create Salesforce rejects (a failure), an operator's replay that heals it,
 * then an update from each side. Oldest first, paged, the same pair from either side.
 */

afterEach(() => drainQueue());
beforeEach(() => clearTokenCache());

const db = openDb(env.DB);
const ADMIN = { authorization: "Bearer test-admin-token-0123456789abcdef" };

interface Entry {
  id: string;
  at: string;
  kind: string;
  operation?: string;
  direction?: string;
  actor?: string | null;
  event?: Record<string, unknown>;
  changes?: Record<string, { before: unknown; after: unknown }>;
  status?: string;
  error_code?: string;
}

interface Page {
  record: { side: string; record_id: string };
  counterpart: { side: string; object: string; record_id: string } | null;
  items: Entry[];
  next_cursor: string | null;
}

async function api(path: string, init: RequestInit = {}) {
  return exports.default.fetch(`https://worker.test/api/v1${path}`, {
    ...init,
    headers: { ...ADMIN, "content-type": "application/json" },
  });
}

async function timeline(path: string, query = ""): Promise<Page> {
  const response = await api(`/records/${path}/timeline${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Page;
}

/** Every page of a timeline, `limit` entries at a time. */
async function allPages(path: string, limit: number): Promise<Entry[]> {
  const entries: Entry[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 50; pages++) {
    const query: string = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const page = await timeline(path, query);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    entries.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) return entries;
  }
  throw new Error("the timeline never ended");
}

describe("a record's timeline", () => {
  it("shows a rejected create, its replay and healing, and an update from each side, oldest first", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce({
      rejectCreateWith: { statusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", message: "Email domain is blocked" },
    });
    server.use(...attio.handlers, ...sf.handlers);
    const person = attio.addPerson("t-story", { email: "story@northwind.example", title: "Analyst" });
    delete (person.values as Record<string, unknown>)["company"];

    // 1. The create is rejected: a failure.
    await runQueue([personChanged("t-story")]);
    const failure = (await db.select().from(failures).all()).find((f) => f.recordKey?.endsWith(":t-story"));
    expect(failure).toMatchObject({ status: "open", errorCode: "upstream_rejected" });

    // 2. The rule is fixed and an operator replays it: the Contact is created (healed).
    sf.rejectCreates(undefined);
    const replay = await api(`/failures/${encodeURIComponent(failure?.id ?? "")}/replay`, { method: "POST" });
    expect(await replay.json()).toEqual({ replayed: 1 });
    const pair = await eventually(() =>
      db.select().from(idMappings).where(eq(idMappings.attioRecordId, "t-story")).get(),
    );
    await drainQueue();
    const contactId = pair.sfRecordId;

    // 3. A Salesforce user edits the Contact.
    const contact = sf.contacts.get(contactId) ?? {};
    const later = new Date(Date.now() + 2000).toISOString().replace("Z", "+0000");
    sf.contacts.set(contactId, { ...contact, Title: "VP Sales", LastModifiedDate: later, SystemModstamp: later });
    await runQueue([internalSalesforceMessage("Contact", contactId)]);

    // 4. An Attio user edits the person.
    attio.setJobTitle("t-story", "Chief Revenue Officer", new Date(Date.now() + 4000).toISOString());
    await runQueue([personChanged("t-story")]);
    expect(sf.contacts.get(contactId)?.["Title"]).toBe("Chief Revenue Officer");

    const { items, counterpart, next_cursor } = await timeline("attio/people/t-story");
    expect(next_cursor).toBeNull();
    expect(counterpart).toEqual({ side: "salesforce", object: "Contact", record_id: contactId });
    const story = items.map((e) => [e.kind, e.operation ?? e.status, e.direction ?? null]);
    expect(story).toEqual([
      ["failure", "replayed", null],
      ["operator_action", "operator", "attio_to_sf"],
      ["write", "create", "attio_to_sf"],
      ["write", "update", "sf_to_attio"],
      ["write", "update", "attio_to_sf"],
    ]);
    const [rejected, replayed, created, fromSalesforce, fromAttio] = items;
    expect(rejected).toMatchObject({ error_code: "upstream_rejected", attempts: 1 });
    expect(replayed).toMatchObject({ actor: "operator:admin-token", event: { kind: "failure.replayed" } });
    // Each write says what caused it (the event, with its actor) and each field's before and after.
    // The replayed message is the person's own webhook event.
    expect(created).toMatchObject({
      actor: "workspace-member:9d4a1f0e-2c3b-4d5e-8f6a-7b8c9d0e1f23",
      event: { kind: "attio_webhook" },
      changes: { Email: { before: null, after: "story@northwind.example" } },
    });
    expect(fromSalesforce).toMatchObject({ changes: { Title: { before: "Analyst", after: "VP Sales" } } });
    expect(fromAttio).toMatchObject({
      actor: "workspace-member:9d4a1f0e-2c3b-4d5e-8f6a-7b8c9d0e1f23",
      event: { kind: "attio_webhook", eventType: "record.updated" },
      changes: { Title: { before: "VP Sales", after: "Chief Revenue Officer" } },
    });
    // Oldest first.
    const times = items.map((e) => e.at);
    expect([...times].sort()).toEqual(times);

    // The same pair from the Salesforce side, and the same entries a page of two at a time.
    expect((await timeline(`salesforce/Contact/${contactId}`)).items).toEqual(items);
    expect(await allPages("attio/people/t-story", 2)).toEqual(items);
    // The audit trail holds the operator's replay too (GET /history?operation=operator).
    const operatorRows = await db.select().from(auditLog).where(eq(auditLog.attioRecordId, "t-story")).all();
    expect(operatorRows.filter((r) => r.operation === "operator")).toHaveLength(1);
  });

  it("an operator's dismissal of a failure is on the record's timeline, with the token that made it", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce({ rejectCreateWith: { statusCode: "REQUIRED_FIELD_MISSING", message: "Region" } });
    server.use(...attio.handlers, ...sf.handlers);
    attio.addPerson("t-dismissed", { email: "dismissed@northwind.example" });
    await runQueue([personChanged("t-dismissed")]);
    const failure = (await db.select().from(failures).all()).find((f) => f.recordKey?.endsWith(":t-dismissed"));
    const dismissed = await api(`/failures/${encodeURIComponent(failure?.id ?? "")}/dismiss`, { method: "POST" });
    expect(dismissed.status).toBe(200);

    const { items } = await timeline("attio/people/t-dismissed");
    expect(items.map((e) => [e.kind, e.status ?? e.operation])).toEqual([
      ["failure", "dismissed"],
      ["operator_action", "operator"],
    ]);
    expect(items[1]).toMatchObject({
      actor: "operator:admin-token",
      event: { kind: "issue.dismissed", item_kind: "failure", item_id: failure?.id },
    });
  });

  it("a record nothing happened to has an empty timeline; a bad cursor is a 400 naming it", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    expect(await timeline("attio/people/t-nothing")).toMatchObject({ items: [], next_cursor: null, counterpart: null });
    const bad = await api("/records/attio/people/t-nothing/timeline?cursor=yesterday");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("cursor");
  });
});
