import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { insertConfig } from "../../src/store/config.ts";
import { openDb } from "../../src/store/db.ts";
import { failures, idMappings, pendingDeletes } from "../../src/store/schema.ts";
import { internalSalesforceMessage } from "../../src/sync/messages.ts";
import { forgetRuntime } from "../../src/sync/runtime.ts";
import { fakeAttio, PEOPLE_OBJECT_ID } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { runQueue } from "../helpers/queue.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

// What a test enqueues is consumed in the background: let it finish while the fakes still answer.
afterEach(() => drainQueue());

const db = openDb(env.DB);

beforeEach(async () => {
  clearTokenCache();
  // Deletes propagate: the most dangerous policy, where a wrong delete destroys a record.
  await insertConfig(db, '[mappings.people]\ndelete_policy = "propagate"\n');
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
  for (const id of ids) attio.addPerson(id, { last: `Person ${id}`, email: `${id}@northwind.example` });
  const { result } = await runQueue(ids.map((id) => personChanged(id)));
  expect(result.retryMessages).toEqual([]);
  const rows = await Promise.all(
    ids.map((id) => db.select().from(idMappings).where(eq(idMappings.attioRecordId, id)).get()),
  );
  return rows.map((row) => row?.sfRecordId ?? "");
}

describe("queue handler: deletes are confirmed, not inferred (delete_policy = propagate)", () => {
  it("never deletes the Attio record of a Contact the integration user can no longer see: a failure says why", async () => {
    const { attio, sf } = setup();
    const [contactId = ""] = await linkedPeople(attio, "p-hidden", 1);
    // A sharing change: no query returns the Contact any more, and it is not in the Recycle Bin.
    sf.hide(contactId);
    attio.setJobTitle("p-hidden-0", "Director");

    const { ids, result } = await runQueue([personChanged("p-hidden-0")]);

    expect(result.explicitAcks).toEqual(ids);
    expect(attio.calls.filter((c) => c.method === "DELETE")).toEqual([]);
    expect(await db.select().from(idMappings).where(eq(idMappings.sfRecordId, contactId)).get()).toBeDefined();
    expect(await db.select().from(pendingDeletes).all()).toEqual([]);
    const [failure] = await db
      .select()
      .from(failures)
      .where(eq(failures.recordKey, `attio:${PEOPLE_OBJECT_ID}:p-hidden-0`));
    expect(failure).toMatchObject({ status: "open", errorCode: "not_found" });
    expect(failure?.errorMessage).toContain(`Contact ${contactId} is not visible to the integration user`);
    // The queryAll that tells "not visible" from "deleted" was asked.
    expect(sf.calls.some((c) => c.path.endsWith("/queryAll"))).toBe(true);
  });

  it("holds 25 deletes of one run for approval as one batch instead of propagating them, shown in /status", async () => {
    const { attio, sf } = setup();
    const contactIds = await linkedPeople(attio, "p-mass", 25);
    for (const id of contactIds) sf.userDelete(id);

    const { ids, result } = await runQueue([internalSalesforceMessage("Contact", contactIds, "DELETE")]);

    expect(result.explicitAcks).toEqual(ids);
    expect(attio.calls.filter((c) => c.method === "DELETE")).toEqual([]);
    const held = await db.select().from(pendingDeletes).all();
    expect(held).toHaveLength(25);
    expect(new Set(held.map((h) => h.reason))).toEqual(new Set(["mass_delete"]));
    expect(new Set(held.map((h) => h.batchId)).size).toBe(1);
    expect(held.every((h) => h.deletedOn === "salesforce" && h.status === "pending")).toBe(true);

    const status = (await (
      await exports.default.fetch("https://worker.test/api/v1/status", {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json()) as { held_delete_batches: unknown[]; problems: { code: string }[] };
    expect(status.problems.map((p) => p.code)).toContain("mass_delete_held");
    expect(status.held_delete_batches).toEqual([
      { batch_id: held[0]?.batchId, attio_object: "people", deletes: 25, detected_at: expect.any(String) },
    ]);

    // A person rejects the batch at once: every pair is unlinked, nothing is deleted in Attio.
    const decided = await exports.default.fetch(`https://worker.test/api/v1/deletes/batches/${held[0]?.batchId}`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ decision: "reject" }),
    });
    expect(await decided.json()).toEqual({
      batch_id: held[0]?.batchId,
      decision: "reject",
      decided: 25,
      refused: [],
      remaining: 0,
    });
    expect(attio.calls.filter((c) => c.method === "DELETE")).toEqual([]);
    expect((await db.select().from(pendingDeletes).all()).every((d) => d.status === "rejected")).toBe(true);
  });
});
