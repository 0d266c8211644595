import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SyncError } from "../../../src/lib/errors.ts";
import { insertAudit, lastWrites, listAudit } from "../../../src/store/audit.ts";
import { openDb } from "../../../src/store/db.ts";
import {
  dismissFailure,
  failuresMatching,
  listFailures,
  loadFailure,
  markFailureReplayed,
  openFailuresSince,
  recordFailure,
} from "../../../src/store/failures.ts";
import type { AuditRow } from "../../../src/store/pairs.ts";
import { pruneRetained } from "../../../src/store/retention.ts";

const db = openDb(env.DB);

function audit(over: Partial<AuditRow>): AuditRow {
  return {
    correlationId: "corr",
    direction: "attio_to_sf",
    operation: "update",
    attioObject: "people",
    attioRecordId: "p-1",
    sfObject: "Contact",
    sfRecordId: "003A",
    changes: {},
    sourceEvent: { kind: "job" },
    actor: null,
    ...over,
  };
}

describe("the audit trail", () => {
  it("filters by object or record on either side, direction, operation and time, newest first", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const person = `p-${tag}`;
    const contact = `003${tag}`;
    await insertAudit(db, audit({ attioRecordId: person, sfRecordId: contact, at: "2026-01-01T00:00:00.000Z" }));
    await insertAudit(
      db,
      audit({
        attioRecordId: person,
        sfRecordId: contact,
        direction: "sf_to_attio",
        operation: "create",
        at: "2026-01-02T00:00:00.000Z",
      }),
    );
    await insertAudit(
      db,
      audit({ attioRecordId: person, sfRecordId: contact, operation: "delete", at: "2026-01-03T00:00:00.000Z" }),
    );
    const ats = async (filter: Parameters<typeof listAudit>[1]) =>
      (await listAudit(db, filter, { limit: 10 })).items.map((r) => r.at);

    expect(await ats({ recordId: contact })).toEqual([
      "2026-01-03T00:00:00.000Z",
      "2026-01-02T00:00:00.000Z",
      "2026-01-01T00:00:00.000Z",
    ]);
    expect(await ats({ recordId: person, direction: "sf_to_attio" })).toEqual(["2026-01-02T00:00:00.000Z"]);
    expect(await ats({ recordId: person, operation: "delete" })).toEqual(["2026-01-03T00:00:00.000Z"]);
    expect(await ats({ recordId: person, from: "2026-01-02T00:00:00.000Z", to: "2026-01-02T23:59:59.999Z" })).toEqual([
      "2026-01-02T00:00:00.000Z",
    ]);
    expect(await ats({ recordId: person, object: "Contact" })).toHaveLength(3);
    expect(await ats({ recordId: person, object: "companies" })).toEqual([]);
    const newestPage = await listAudit(db, { object: "people", operation: "delete" }, { limit: 1 });
    expect(newestPage.items.map((r) => r.operation)).toEqual(["delete"]);
    const writes = await lastWrites(db);
    expect(writes.find((w) => w.object === "people" && w.direction === "sf_to_attio")?.at).toBeDefined();
  });

  it("prunes rows older than the cut-off and says how many went", async () => {
    const old = `p-old-${crypto.randomUUID()}`;
    await insertAudit(db, audit({ attioRecordId: old, at: "2000-01-01T00:00:00.000Z" }));
    await insertAudit(db, audit({ attioRecordId: old, at: "2000-01-02T00:00:00.000Z" }));
    const step = { target: "audit_log", before: "2000-01-01T12:00:00.000Z", states: [], limit: 10 } as const;
    expect(await pruneRetained(db, [step])).toEqual({ audit_log: 1 });
    expect((await listAudit(db, { recordId: old }, { limit: 10 })).items).toHaveLength(1);
  });
});

describe("failures", () => {
  it("filter by error code and message kind; a redelivered failure refreshes its row; dismissed once", async () => {
    const id = crypto.randomUUID();
    const other = crypto.randomUUID();
    const kind = `kind-${id.slice(0, 8)}`;
    await recordFailure(db, {
      id,
      messageKind: kind,
      message: { n: 1 },
      error: new SyncError("upstream_rejected", "first"),
      attempts: 1,
      correlationId: "c-1",
    });
    await recordFailure(db, {
      id,
      messageKind: kind,
      message: { n: 1 },
      error: new SyncError("mapping_failed", "second"),
      attempted: { Title: "x" },
      attempts: 2,
      correlationId: "c-1",
      recordKey: "people:p-1",
    });
    await recordFailure(db, {
      id: other,
      messageKind: kind,
      message: {},
      error: new SyncError("upstream_rejected", "other"),
      attempts: 1,
      correlationId: "c-2",
    });
    expect(await loadFailure(db, id)).toMatchObject({
      errorCode: "mapping_failed",
      errorMessage: "second",
      attempts: 2,
      attempted: { Title: "x" },
      status: "open",
    });
    const byCode = await listFailures(
      db,
      { status: "open", errorCode: "mapping_failed", messageKind: kind },
      { limit: 10 },
    );
    expect(byCode.items.map((f) => f.id)).toEqual([id]);
    expect((await failuresMatching(db, { status: "open", messageKind: kind }, 10)).map((f) => f.id).sort()).toEqual(
      [id, other].sort(),
    );
    const recent = await openFailuresSince(db, "2000-01-01T00:00:00.000Z");
    expect(recent.count).toBeGreaterThanOrEqual(2);
    expect(recent.latest).toMatch(/^\d{4}-/);
    expect(await openFailuresSince(db, "2999-01-01T00:00:00.000Z")).toEqual({ count: 0, latest: null });

    expect(await dismissFailure(db, id)).toBe(true);
    expect(await dismissFailure(db, id)).toBe(false);
    await markFailureReplayed(db, other);
    expect((await failuresMatching(db, { status: "replayed", messageKind: kind }, 10)).map((f) => f.id)).toEqual([
      other,
    ]);
  });
});
