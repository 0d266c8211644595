import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  closeConflict,
  countOpenConflicts,
  listConflicts,
  loadConflict,
  openConflictsByObject,
  upsertConflict,
} from "../../../src/store/conflicts.ts";
import { openDb } from "../../../src/store/db.ts";
import { conflicts, idMappings } from "../../../src/store/schema.ts";

const db = openDb(env.DB);

async function pair(object: string): Promise<string> {
  const id = crypto.randomUUID();
  await db.insert(idMappings).values({
    id,
    attioObject: object,
    attioRecordId: `a-${id}`,
    sfObject: object === "people" ? "Contact" : "Account",
    sfRecordId: `s-${id}`,
  });
  return id;
}
const ofPair = (mappingId: string) => db.select().from(conflicts).where(eq(conflicts.mappingId, mappingId));

describe("conflicts", () => {
  it("one open conflict per field: a repeat refreshes both sides' values and keeps the base", async () => {
    const mappingId = await pair("companies");
    await upsertConflict(db, mappingId, "Name", { base: "Acme", attio: "Acme Inc", salesforce: "ACME Corp" });
    await upsertConflict(db, mappingId, "Name", { base: "ignored", attio: "Acme Ltd", salesforce: "ACME Corp" });
    const rows = await ofPair(mappingId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      field: "Name",
      status: "open",
      baseValue: "Acme",
      attioValue: "Acme Ltd",
      sfValue: "ACME Corp",
    });
  });

  it("stores a missing value (no base before a first sync, a cleared side) as null", async () => {
    const mappingId = await pair("companies");
    await upsertConflict(db, mappingId, "Website", { base: undefined, attio: "https://a.example", salesforce: null });
    await upsertConflict(db, mappingId, "Phone", { base: null, attio: undefined, salesforce: undefined });
    const rows = await ofPair(mappingId);
    const byField = Object.fromEntries(rows.map((r) => [r.field, [r.baseValue, r.attioValue, r.sfValue]]));
    expect(byField).toEqual({ Website: [null, "https://a.example", null], Phone: [null, null, null] });
  });

  it("a resolved conflict stays resolved with its decision; the next one on the field is a new conflict", async () => {
    const mappingId = await pair("people");
    await upsertConflict(db, mappingId, "Title", { base: "VP", attio: "CTO", salesforce: "CEO" });
    const [open] = await ofPair(mappingId);
    if (!open) throw new Error("no conflict");
    await closeConflict(db, open.id, { winner: "attio", value: "CTO" });
    const closed = await loadConflict(db, open.id);
    expect(closed).toMatchObject({ status: "resolved", resolution: { winner: "attio", value: "CTO" } });
    expect(closed?.resolvedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    await upsertConflict(db, mappingId, "Title", { base: "CTO", attio: "CTO", salesforce: "COO" });
    const rows = await ofPair(mappingId);
    expect(rows.map((r) => r.status).sort()).toEqual(["open", "resolved"]);
    expect(await loadConflict(db, "no-such-conflict")).toBeUndefined();
  });

  it("counts and lists open conflicts, per object and page by page", async () => {
    const before = await countOpenConflicts(db);
    const beforeByObject = Object.fromEntries((await openConflictsByObject(db)).map((r) => [r.object, r.n]));
    const deal = await pair("deals");
    const other = await pair("deals");
    await upsertConflict(db, deal, "Amount", { base: 1, attio: 2, salesforce: 3 });
    await upsertConflict(db, deal, "StageName", { base: "a", attio: "b", salesforce: "c" });
    await upsertConflict(db, other, "Amount", { base: 1, attio: 5, salesforce: 6 });
    expect(await countOpenConflicts(db)).toBe(before + 3);
    const byObject = Object.fromEntries((await openConflictsByObject(db)).map((r) => [r.object, r.n]));
    expect(byObject["deals"]).toBe((beforeByObject["deals"] ?? 0) + 3);

    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await listConflicts(db, "open", { limit: 2, cursor });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((c) => c.id));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual([...seen].sort());
    expect(seen).toHaveLength(before + 3);
    const mine = await db.select().from(conflicts).where(eq(conflicts.mappingId, deal));
    for (const row of mine) expect(seen).toContain(row.id);
  });
});
