import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDb } from "../../../src/store/db.ts";
import { auditLog, mappingWarnings } from "../../../src/store/schema.ts";
import {
  countOpenWarnings,
  dismissWarning,
  listWarnings,
  openWarningsByMapping,
  recordWarnings,
  type WarningInput,
} from "../../../src/store/warnings.ts";

const db = openDb(env.DB);

function warning(recordId: string, field: string, extra: Partial<WarningInput> = {}): WarningInput {
  return {
    mapping: "companies",
    direction: "attio_to_sf",
    sourceObject: "companies",
    sourceRecordId: recordId,
    attioObject: "companies",
    attioRecordId: recordId,
    sfObject: "Account",
    sfRecordId: null,
    field,
    attribute: field.toLowerCase(),
    code: "unmapped_value",
    message: `no value for ${field}`,
    value: "Space Mining",
    correlationId: "corr-1",
    ...extra,
  };
}
const evaluated = (id: string, fields: string[]) => ({
  direction: "attio_to_sf" as const,
  object: "companies",
  id,
  fields,
});
const rowsOf = (recordId: string) =>
  db.select().from(mappingWarnings).where(eq(mappingWarnings.sourceRecordId, recordId)).orderBy(mappingWarnings.field);
const skippedAudits = (recordId: string) =>
  db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.attioRecordId, recordId), eq(auditLog.operation, "skipped")));

describe("recordWarnings", () => {
  it("opens a warning once, with one skipped audit row naming each value; a repeat counts an occurrence", async () => {
    const id = crypto.randomUUID();
    const first = await recordWarnings(
      db,
      [
        warning(id, "Industry"),
        warning(id, "Industry"),
        warning(id, "Website", { value: undefined, code: "invalid_value" }),
      ],
      [evaluated(id, ["Industry", "Website", "Name"])],
    );
    expect(first).toEqual({ opened: 2 });
    const audits = await skippedAudits(id);
    expect(audits).toHaveLength(1);
    expect(audits[0]?.changes).toEqual({
      Industry: { before: "Space Mining", after: null, code: "unmapped_value", reason: "no value for Industry" },
      Website: { before: null, after: null, code: "invalid_value", reason: "no value for Website" },
    });

    const again = await recordWarnings(
      db,
      [warning(id, "Industry", { sfRecordId: "001A", correlationId: "corr-2", value: "Asteroids" })],
      [evaluated(id, ["Industry"])],
    );
    expect(again).toEqual({ opened: 0 });
    expect(await skippedAudits(id)).toHaveLength(1);
    const rows = await rowsOf(id);
    expect(rows.map((r) => [r.field, r.status, r.occurrences, r.value, r.sfRecordId, r.correlationId])).toEqual([
      ["Industry", "open", 2, "Asteroids", "001A", "corr-2"],
      // Website was not evaluated this time: it stays open.
      ["Website", "open", 1, null, null, "corr-1"],
    ]);
  });

  it("clears the open warnings of evaluated fields not seen again, and nothing else", async () => {
    const id = crypto.randomUUID();
    const other = crypto.randomUUID();
    await recordWarnings(
      db,
      [warning(id, "Industry"), warning(id, "Website"), warning(other, "Industry")],
      [evaluated(id, ["Industry", "Website"]), evaluated(other, ["Industry"])],
    );
    // The record synced again: Industry is now written, Website still not; the other record was not synced.
    await recordWarnings(db, [warning(id, "Website")], [evaluated(id, ["Industry", "Website"])]);
    expect((await rowsOf(id)).map((r) => [r.field, r.status, r.clearedAt !== null])).toEqual([
      ["Industry", "cleared", true],
      ["Website", "open", false],
    ]);
    expect((await rowsOf(other)).map((r) => r.status)).toEqual(["open"]);
    // The same direction only: a Salesforce -> Attio sync of the record clears none of these.
    await recordWarnings(db, [], [{ direction: "sf_to_attio", object: "companies", id, fields: ["Website"] }]);
    expect((await rowsOf(id)).find((r) => r.field === "Website")?.status).toBe("open");
    // A warning seen again after it cleared is a new one, with a new audit row.
    const reopened = await recordWarnings(db, [warning(id, "Industry")], [evaluated(id, ["Industry"])]);
    expect(reopened).toEqual({ opened: 1 });
    expect(await skippedAudits(id)).toHaveLength(2);
  });

  it("counts, groups, filters and dismisses open warnings", async () => {
    const id = crypto.randomUUID();
    const sfId = `003${id.slice(0, 8)}`;
    await recordWarnings(
      db,
      [
        warning(id, "Industry"),
        warning(sfId, "Email", {
          mapping: "people",
          direction: "sf_to_attio",
          sourceObject: "Contact",
          attioObject: "people",
          attioRecordId: null,
          sfObject: "Contact",
          sfRecordId: sfId,
          code: "invalid_value",
        }),
      ],
      [],
    );
    const total = await countOpenWarnings(db);
    const byMapping = await openWarningsByMapping(db);
    expect(byMapping["people"]).toBeGreaterThanOrEqual(1);

    const bySfId = await listWarnings(db, { status: "open", recordId: sfId }, { limit: 10 });
    expect(bySfId.items.map((w) => [w.mapping, w.field])).toEqual([["people", "Email"]]);
    const byAttioId = await listWarnings(db, { status: "open", recordId: id, code: "unmapped_value" }, { limit: 10 });
    expect(byAttioId.items.map((w) => w.field)).toEqual(["Industry"]);
    const wrongCode = await listWarnings(db, { status: "open", recordId: id, code: "invalid_value" }, { limit: 10 });
    expect(wrongCode.items).toEqual([]);
    const people = await listWarnings(db, { status: "open", mapping: "people" }, { limit: 100 });
    expect(people.items.every((w) => w.mapping === "people")).toBe(true);

    const target = bySfId.items[0]?.id ?? "";
    expect(await dismissWarning(db, target)).toBe(true);
    expect(await dismissWarning(db, target)).toBe(false);
    expect(await countOpenWarnings(db)).toBe(total - 1);
    const dismissed = await listWarnings(db, { status: "dismissed", recordId: sfId }, { limit: 10 });
    expect(dismissed.items.map((w) => w.id)).toEqual([target]);
  });
});
