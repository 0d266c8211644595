import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Base } from "../../../src/plan/plan-fields.ts";
import { openDb } from "../../../src/store/db.ts";
import { pairsByAttio, type SavePair, savePairs, savePairsApart } from "../../../src/store/pairs.ts";

const db = openDb(env.DB);

/** Values JSON renders in more than one way, or that need escaping. */
const tricky = {
  Name: 'Zürich "Ost" — 東京 🚀 back\\slash\nnew line\ttab',
  AnnualRevenue: 0.1 + 0.2,
  Huge: 1e21,
  Tiny: 5e-7,
  Negative: -0,
  Big: 2 ** 60,
  Flag: false,
  Empty: null,
  Nested: { list: [1, "two", null, { three: 3 }] },
};

function save(id: string, base: Base): SavePair {
  return {
    mapping: { id, attioObject: "companies", attioRecordId: `a-${id}`, sfObject: "Account", sfRecordId: `001${id}` },
    base,
    direction: "attio_to_sf",
    sfSystemModstamp: "2026-11-24T10:00:00.000Z",
    audits: [
      {
        correlationId: `corr-${id}`,
        direction: "attio_to_sf",
        operation: "create",
        attioObject: "companies",
        attioRecordId: `a-${id}`,
        sfObject: "Account",
        sfRecordId: `001${id}`,
        changes: {
          Name: { before: null, after: tricky.Name },
          AnnualRevenue: { before: 1.5, after: 0.30000000000000004 },
        },
        sourceEvent: { kind: "records.sync", reason: 'job "full"', dedupeKey: "internal:x" },
        actor: "job:1",
      },
    ],
  };
}

describe("savePairs", () => {
  it("stores bases, changes and source events as the same JSON text JSON.stringify gives", async () => {
    const base = { attio: { ...tricky }, salesforce: { ...tricky, Name: "plain" } } as unknown as Base;
    const saved = save("store-json-1", base);
    await savePairs(db, [saved]);

    const state = await env.DB.prepare("select base_values as text from sync_state where mapping_id = ?")
      .bind("store-json-1")
      .first<{ text: string }>();
    expect(state?.text).toBe(JSON.stringify(base));
    const audit = await env.DB.prepare("select changes, source_event from audit_log where mapping_id = ?")
      .bind("store-json-1")
      .first<{ changes: string; source_event: string }>();
    expect(audit?.changes).toBe(JSON.stringify(saved.audits[0]?.changes));
    expect(audit?.source_event).toBe(JSON.stringify(saved.audits[0]?.sourceEvent));

    const pairs = await pairsByAttio(db, "companies", ["a-store-json-1"]);
    expect(pairs.get("a-store-json-1")?.base).toEqual(JSON.parse(JSON.stringify(base)));
  });

  it("stores many pairs in one batch and updates a pair's base in place", async () => {
    const saves = Array.from({ length: 450 }, (_, i) =>
      save(`store-many-${i}`, { attio: { n: i }, salesforce: { n: i } }),
    );
    await savePairs(db, saves);
    await savePairs(db, [save("store-many-7", { attio: { n: "seven" }, salesforce: { n: "seven" } })]);

    const pairs = await pairsByAttio(
      db,
      "companies",
      saves.map((s) => s.mapping.attioRecordId),
    );
    expect(pairs.size).toBe(450);
    expect(pairs.get("a-store-many-449")?.base).toEqual({ attio: { n: 449 }, salesforce: { n: 449 } });
    expect(pairs.get("a-store-many-7")?.base).toEqual({ attio: { n: "seven" }, salesforce: { n: "seven" } });
    const audits = await env.DB.prepare(
      "select count(*) as n from audit_log where mapping_id like 'store-many-%'",
    ).first<{
      n: number;
    }>();
    expect(audits?.n).toBe(451);
  });

  it("stores all but the clashing pairs of a failed batch, in a few batches instead of one per pair", async () => {
    await savePairs(db, [
      save("apart-owner-1", { attio: {}, salesforce: {} }),
      save("apart-owner-2", { attio: {}, salesforce: {} }),
    ]);
    const saves = Array.from({ length: 1000 }, (_, i) => save(`apart-${i}`, { attio: { n: i }, salesforce: { n: i } }));
    // Two records another consumer linked meanwhile: their Attio ids are already paired.
    for (const [index, owner] of [
      [123, "apart-owner-1"],
      [876, "apart-owner-2"],
    ] as const) {
      const clashing = saves[index];
      if (clashing) clashing.mapping = { ...clashing.mapping, attioRecordId: `a-${owner}` };
    }
    const counted = countingBatches();

    const errors = await savePairsApart(openDb(counted.d1), saves);

    expect(errors.flatMap((error, index) => (error === undefined ? [] : [index]))).toEqual([123, 876]);
    const stored = await env.DB.prepare(
      "select count(*) as n from id_mappings where id like 'apart-%' and id not like 'apart-owner-%'",
    ).first<{ n: number }>();
    expect(stored?.n).toBe(998);
    const owner = await pairsByAttio(db, "companies", ["a-apart-owner-1"]);
    expect(owner.get("a-apart-owner-1")?.mapping.id).toBe("apart-owner-1");
    // Halving: 1 + 2 per level for each clash (10 levels for 1,000), not 1 + 1,000.
    expect(counted.batches()).toBeLessThanOrEqual(41);
  });

  it("gives up after a bounded number of batches when every batch fails", async () => {
    const saves = Array.from({ length: 1000 }, (_, i) => save(`down-${i}`, { attio: { n: i }, salesforce: { n: i } }));
    const down = countingBatches(new Error("D1_ERROR: Network connection lost."));

    const errors = await savePairsApart(openDb(down.d1), saves);

    expect(errors.every((error) => error instanceof Error && error.message.includes("Network connection lost"))).toBe(
      true,
    );
    expect(down.batches()).toBe(64);
  });
});

/** The test's D1 with its `batch` calls counted, and failing with `failure` when given. */
function countingBatches(failure?: Error) {
  let batches = 0;
  const d1 = new Proxy(env.DB, {
    get(target, key) {
      if (key === "batch") {
        return (statements: D1PreparedStatement[]) => {
          batches++;
          return failure ? Promise.reject(failure) : target.batch(statements);
        };
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { d1, batches: () => batches };
}
