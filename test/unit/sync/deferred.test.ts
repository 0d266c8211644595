import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { compileMapping } from "../../../src/mapping/engine.ts";
import { openDb } from "../../../src/store/db.ts";
import { deferredRefs } from "../../../src/store/schema.ts";
import { deferredReferences } from "../../../src/sync/deferred.ts";
import type { SyncDeps } from "../../../src/sync/deps.ts";
import type { SyncMessage } from "../../../src/sync/messages.ts";
import type { Runtime } from "../../../src/sync/runtime.ts";

const db = openDb(env.DB);
const mapping = (name: string, attio: string, salesforce: string) =>
  compileMapping({
    name,
    attio_object: attio,
    salesforce_object: salesforce,
    enabled: true,
    read_only: false,
    fields: [],
    match_keys: [],
    stages: [],
    industries: [],
  });
const mappings = [mapping("companies", "companies", "Account"), mapping("people", "people", "Contact")];
const runtime = {
  byAttioObject: (slug: string) => mappings.find((m) => m.mapping.attio_object === slug),
  bySalesforceObject: (name: string) => mappings.find((m) => m.mapping.salesforce_object === name),
} as unknown as Runtime;

function setup() {
  const sent: SyncMessage[] = [];
  const queue = {
    send: async (body: SyncMessage) => void sent.push(body),
    sendBatch: async (messages: { body: SyncMessage }[]) => void sent.push(...messages.map((m) => m.body)),
  } as unknown as Queue;
  const refs = deferredReferences({ db } as unknown as SyncDeps, queue, runtime);
  /** What was asked to sync, as side:object/id. */
  const asked = () =>
    sent.map((m) =>
      m.kind === "attio.record"
        ? `attio:${m.objectId}/${m.recordId}`
        : m.kind === "salesforce.change"
          ? `salesforce:${m.header.entityName}/${m.header.recordIds.join(",")}`
          : m.kind,
    );
  return { refs, sent, asked };
}

describe("deferred references", () => {
  it("a waiting record is stored and its target asked to sync, on the waiting record's side", async () => {
    const { refs, asked } = setup();
    const person = `p-${crypto.randomUUID()}`;
    await refs.defer("attio", { object: "people", id: person }, { object: "companies", id: "co-7" });
    const contact = `003${crypto.randomUUID().slice(0, 12)}`;
    // Salesforce records name their target by its Attio object: the request goes to its Salesforce object.
    await refs.defer("salesforce", { object: "Contact", id: contact }, { object: "companies", id: "001T" });
    expect(asked()).toEqual(["attio:companies/co-7", "salesforce:Account/001T"]);
    const rows = await db.select().from(deferredRefs).where(eq(deferredRefs.recordId, person));
    expect(rows).toMatchObject([{ side: "attio", object: "people", targetObject: "companies", targetId: "co-7" }]);
  });

  it("a target in no mapping is remembered but not requested", async () => {
    const { refs, sent } = setup();
    const contact = `003${crypto.randomUUID().slice(0, 12)}`;
    await refs.defer("salesforce", { object: "Contact", id: contact }, { object: "projects", id: "a0X1" });
    expect(sent).toEqual([]);
    expect(await db.select().from(deferredRefs).where(eq(deferredRefs.recordId, contact))).toHaveLength(1);
  });

  it("once the target is linked, the records waiting on it are synced again on their own side, once", async () => {
    const { refs, asked, sent } = setup();
    const attioTarget = `co-${crypto.randomUUID()}`;
    const sfTarget = `001${crypto.randomUUID().slice(0, 12)}`;
    await refs.defer("attio", { object: "people", id: "p-waiting" }, { object: "companies", id: attioTarget });
    await refs.defer("salesforce", { object: "Contact", id: "003WAITING" }, { object: "companies", id: sfTarget });
    sent.length = 0;
    await refs.onLinked([{ attioId: attioTarget, sfId: sfTarget }]);
    expect(asked().sort()).toEqual(["attio:people/p-waiting", "salesforce:Contact/003WAITING"]);
    sent.length = 0;
    await refs.onLinked([{ attioId: attioTarget, sfId: sfTarget }]);
    expect(sent).toEqual([]);
  });
});
