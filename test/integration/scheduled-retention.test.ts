import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inArray } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import { openDb } from "../../src/store/db.ts";
import {
  ambiguousMatches,
  auditLog,
  conflicts,
  failures,
  heldUpdates,
  idMappings,
  issueDismissals,
  jobMatchKeys,
  jobRecords,
  mappingWarnings,
  pendingDeletes,
  syncJobs,
  syncState,
  updateHolds,
} from "../../src/store/schema.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";

const db = openDb(env.DB);

/** The run's time: RETENTION_DAYS (90) cuts at 2026-09-02, AUDIT_RETENTION_DAYS (365) at 2025-12-01. */
const RUN = "2026-12-01T00:00:00Z";
const OLD = "2026-01-01T00:00:00.000Z";
const NEW = "2026-11-30T00:00:00.000Z";

async function runCron() {
  const controller = createScheduledController({ scheduledTime: Date.parse(RUN), cron: "*/5 * * * *" });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
}

const job = (id: string, state: "queued" | "running" | "done" | "failed" | "cancelled", at: string) => ({
  id,
  kind: "full" as const,
  state,
  params: { direction: "both" as const, mode: "full" as const, dry_run: false, steps: [] },
  checkpoint: null,
  progress: {},
  errorSample: [],
  createdAt: at,
  updatedAt: at,
});

describe("scheduled retention", () => {
  beforeEach(() => server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers));

  it("deletes finished work and decided items past the retention and keeps everything open, recent or paired", async () => {
    const s = crypto.randomUUID().slice(0, 8);
    const id = (name: string) => `${name}-${s}`;
    const pair = id("pair");
    await db.insert(idMappings).values({
      id: pair,
      attioObject: "people",
      attioRecordId: id("p"),
      sfObject: "Contact",
      sfRecordId: id("c"),
      createdAt: OLD,
      updatedAt: OLD,
    });
    await db.insert(syncState).values({
      mappingId: pair,
      baseValues: { attio: {}, salesforce: {} },
      baseHash: "x",
      lastDirection: "none",
      lastSyncedAt: OLD,
    });

    await db
      .insert(syncJobs)
      .values([
        job(id("job-old-done"), "done", OLD),
        job(id("job-old-failed"), "failed", OLD),
        job(id("job-old-running"), "running", OLD),
        job(id("job-old-queued"), "queued", OLD),
        job(id("job-new-done"), "done", NEW),
      ]);
    await db.insert(jobRecords).values([
      { jobId: id("job-old-done"), mapping: "people", side: "attio", recordId: id("r1"), outcome: "created" },
      { jobId: id("job-old-done"), mapping: "people", side: "attio", recordId: id("r2"), outcome: "updated" },
      { jobId: id("job-old-running"), mapping: "people", side: "attio", recordId: id("r3"), outcome: null },
      { jobId: id("job-new-done"), mapping: "people", side: "attio", recordId: id("r4"), outcome: "created" },
    ]);
    await db.insert(jobMatchKeys).values([
      { jobId: id("job-old-done"), mapping: "people", key: `${s}@old.example`, sfId: id("c1") },
      { jobId: id("job-old-running"), mapping: "people", key: `${s}@run.example`, sfId: id("c2") },
    ]);

    const failure = (name: string, status: "open" | "replayed" | "dismissed", at: string) => ({
      id: id(name),
      status,
      messageKind: "attio.record",
      message: {},
      errorCode: "x",
      errorMessage: "x",
      attempts: 1,
      correlationId: "c",
      firstFailedAt: at,
      lastFailedAt: at,
    });
    await db
      .insert(failures)
      .values([
        failure("f-old-replayed", "replayed", OLD),
        failure("f-old-dismissed", "dismissed", OLD),
        failure("f-old-open", "open", OLD),
        failure("f-new-dismissed", "dismissed", NEW),
      ]);

    await db.insert(conflicts).values([
      { id: id("k-old-resolved"), mappingId: pair, field: "A", status: "resolved", createdAt: OLD, resolvedAt: OLD },
      { id: id("k-old-dismissed"), mappingId: pair, field: "B", status: "dismissed", createdAt: OLD },
      { id: id("k-old-open"), mappingId: pair, field: "C", status: "open", createdAt: OLD },
      { id: id("k-new-resolved"), mappingId: pair, field: "D", status: "resolved", createdAt: OLD, resolvedAt: NEW },
    ]);

    await db.insert(pendingDeletes).values([
      {
        id: id("d-old-approved"),
        mappingId: pair,
        deletedOn: "attio",
        status: "approved",
        detectedAt: OLD,
        decidedAt: OLD,
      },
      { id: id("d-old-pending"), mappingId: pair, deletedOn: "attio", status: "pending", detectedAt: OLD },
      {
        id: id("d-new-rejected"),
        mappingId: pair,
        deletedOn: "attio",
        status: "rejected",
        detectedAt: OLD,
        decidedAt: NEW,
      },
    ]);

    const match = (name: string, status: "open" | "resolved" | "retried" | "dismissed", at: string) => ({
      id: id(name),
      side: "attio" as const,
      object: "people",
      recordId: id(name),
      candidates: ["a", "b"],
      status,
      createdAt: at,
    });
    await db
      .insert(ambiguousMatches)
      .values([
        match("m-old-resolved", "resolved", OLD),
        match("m-old-retried", "retried", OLD),
        match("m-old-open", "open", OLD),
        match("m-new-dismissed", "dismissed", NEW),
      ]);

    const warning = (name: string, status: "open" | "cleared" | "dismissed", at: string) => ({
      id: id(name),
      mapping: "people",
      direction: "attio_to_sf" as const,
      sourceObject: "people",
      sourceRecordId: id(name),
      attioObject: "people",
      sfObject: "Contact",
      field: "Email",
      attribute: "email_addresses",
      code: "invalid_email",
      message: "x",
      status,
      correlationId: "c",
      firstSeenAt: OLD,
      lastSeenAt: OLD,
      clearedAt: status === "open" ? null : at,
    });
    await db
      .insert(mappingWarnings)
      .values([
        warning("w-old-cleared", "cleared", OLD),
        warning("w-old-open", "open", OLD),
        warning("w-new-dismissed", "dismissed", NEW),
      ]);

    const hold = (name: string, status: "pending" | "approved" | "rejected", at: string) => ({
      id: id(name),
      mapping: `people-${name}-${s}`,
      side: "salesforce" as const,
      status,
      count: 10,
      threshold: 5,
      windowMinutes: 60,
      detectedAt: OLD,
      decidedAt: status === "pending" ? null : at,
    });
    await db
      .insert(updateHolds)
      .values([
        hold("h-old-approved", "approved", OLD),
        hold("h-old-pending", "pending", OLD),
        hold("h-new-rejected", "rejected", NEW),
      ]);
    await db.insert(heldUpdates).values([
      { holdId: id("h-old-approved"), side: "attio", recordId: id("hr1"), heldAt: OLD },
      { holdId: id("h-old-pending"), side: "attio", recordId: id("hr2"), heldAt: OLD },
      { holdId: id("h-new-rejected"), side: "attio", recordId: id("hr3"), heldAt: OLD },
    ]);

    await db.insert(issueDismissals).values([
      {
        kind: "failure",
        itemId: id("f-old-dismissed"),
        reason: "x",
        dismissedBy: "operator:admin-token",
        dismissedAt: OLD,
      },
      {
        kind: "failure",
        itemId: id("f-new-dismissed"),
        reason: "x",
        dismissedBy: "operator:admin-token",
        dismissedAt: NEW,
      },
    ]);

    const audit = (at: string) => ({
      at,
      correlationId: id("audit"),
      direction: "attio_to_sf" as const,
      operation: "update" as const,
      attioObject: "people",
      attioRecordId: id("p"),
      changes: {},
      sourceEvent: {},
    });
    await db.insert(auditLog).values([audit("2025-06-01T00:00:00.000Z"), audit(OLD), audit(NEW)]);

    await runCron();

    const ids = async <T extends { id: string }>(rows: Promise<T[]>) => (await rows).map((r) => r.id).sort();
    expect(
      await ids(
        db
          .select({ id: syncJobs.id })
          .from(syncJobs)
          .where(
            inArray(
              syncJobs.id,
              ["job-old-done", "job-old-failed", "job-old-running", "job-old-queued", "job-new-done"].map(id),
            ),
          ),
      ),
    ).toEqual(["job-new-done", "job-old-queued", "job-old-running"].map(id).sort());
    const records = await db
      .select()
      .from(jobRecords)
      .where(inArray(jobRecords.recordId, ["r1", "r2", "r3", "r4"].map(id)));
    expect(records.map((r) => r.recordId).sort()).toEqual(["r3", "r4"].map(id).sort());
    const keys = await db
      .select()
      .from(jobMatchKeys)
      .where(inArray(jobMatchKeys.sfId, ["c1", "c2"].map(id)));
    expect(keys.map((k) => k.sfId)).toEqual([id("c2")]);

    expect(
      await ids(
        db
          .select({ id: failures.id })
          .from(failures)
          .where(inArray(failures.id, ["f-old-replayed", "f-old-dismissed", "f-old-open", "f-new-dismissed"].map(id))),
      ),
    ).toEqual(["f-new-dismissed", "f-old-open"].map(id).sort());
    expect(
      await ids(
        db
          .select({ id: conflicts.id })
          .from(conflicts)
          .where(inArray(conflicts.mappingId, [pair])),
      ),
    ).toEqual(["k-new-resolved", "k-old-open"].map(id).sort());
    expect(
      await ids(
        db
          .select({ id: pendingDeletes.id })
          .from(pendingDeletes)
          .where(inArray(pendingDeletes.mappingId, [pair])),
      ),
    ).toEqual(["d-new-rejected", "d-old-pending"].map(id).sort());
    expect(
      await ids(
        db
          .select({ id: ambiguousMatches.id })
          .from(ambiguousMatches)
          .where(
            inArray(ambiguousMatches.id, ["m-old-resolved", "m-old-retried", "m-old-open", "m-new-dismissed"].map(id)),
          ),
      ),
    ).toEqual(["m-new-dismissed", "m-old-open"].map(id).sort());
    expect(
      await ids(
        db
          .select({ id: mappingWarnings.id })
          .from(mappingWarnings)
          .where(inArray(mappingWarnings.id, ["w-old-cleared", "w-old-open", "w-new-dismissed"].map(id))),
      ),
    ).toEqual(["w-new-dismissed", "w-old-open"].map(id).sort());
    expect(
      await ids(
        db
          .select({ id: updateHolds.id })
          .from(updateHolds)
          .where(inArray(updateHolds.id, ["h-old-approved", "h-old-pending", "h-new-rejected"].map(id))),
      ),
    ).toEqual(["h-new-rejected", "h-old-pending"].map(id).sort());
    const held = await db
      .select()
      .from(heldUpdates)
      .where(inArray(heldUpdates.recordId, ["hr1", "hr2", "hr3"].map(id)));
    expect(held.map((h) => h.recordId).sort()).toEqual(["hr2", "hr3"].map(id).sort());
    const dismissals = await db
      .select()
      .from(issueDismissals)
      .where(inArray(issueDismissals.itemId, ["f-old-dismissed", "f-new-dismissed"].map(id)));
    expect(dismissals.map((d) => d.itemId)).toEqual([id("f-new-dismissed")]);
    const audits = await db
      .select()
      .from(auditLog)
      .where(inArray(auditLog.correlationId, [id("audit")]));
    expect(audits.map((a) => a.at).sort()).toEqual([OLD, NEW]);
    // The pair and its base are the sync's memory: never pruned, however old.
    expect(
      await db
        .select()
        .from(idMappings)
        .where(inArray(idMappings.id, [pair])),
    ).toHaveLength(1);
    expect(
      await db
        .select()
        .from(syncState)
        .where(inArray(syncState.mappingId, [pair])),
    ).toHaveLength(1);

    const lastRun = JSON.parse((await env.CURSORS.get("cron:last-run")) ?? "null") as Record<string, unknown>;
    expect(lastRun["pruned_audit_rows"]).toBeGreaterThanOrEqual(1);
    expect(lastRun["pruned_retention"]).toMatchObject({
      job_records: expect.any(Number),
      sync_jobs: expect.any(Number),
      failures: expect.any(Number),
    });
    const counts = lastRun["pruned_retention"] as Record<string, number>;
    expect(counts["sync_jobs"]).toBeGreaterThanOrEqual(2);
    expect(counts["failures"]).toBeGreaterThanOrEqual(2);
    expect(counts["held_updates"]).toBeGreaterThanOrEqual(1);

    // A second run has nothing of these left to prune.
    await runCron();
    const again = JSON.parse((await env.CURSORS.get("cron:last-run")) ?? "null") as Record<string, unknown>;
    expect(Object.values(again["pruned_retention"] as Record<string, number>).every((n) => n === 0)).toBe(true);
  });
});
