import { describe, expect, it } from "vitest";
import { PRUNE_LIMIT, PRUNE_LIMIT_JOB_ROWS, PRUNE_LIMIT_JOBS, retentionPlan } from "../../../src/plan/retention.ts";

const now = new Date("2026-12-01T00:00:00.000Z");

describe("retentionPlan", () => {
  const plan = retentionPlan(now, { retentionDays: 90, auditRetentionDays: 365 });
  const step = (target: string) => plan.find((s) => s.target === target);

  it("cuts finished work at RETENTION_DAYS and the audit trail at AUDIT_RETENTION_DAYS", () => {
    expect(step("audit_log")).toEqual({
      target: "audit_log",
      before: "2025-12-01T00:00:00.000Z",
      states: [],
      limit: PRUNE_LIMIT,
    });
    for (const s of plan.filter((s) => s.target !== "audit_log")) expect(s.before).toBe("2026-09-02T00:00:00.000Z");
  });

  it("prunes only finished jobs and decided items: never a queued or running job, never an open item", () => {
    expect(step("sync_jobs")?.states).toEqual(["done", "failed", "cancelled"]);
    expect(step("job_records")?.states).toEqual(["done", "failed", "cancelled"]);
    expect(step("job_match_keys")?.states).toEqual(["done", "failed", "cancelled"]);
    expect(step("failures")?.states).toEqual(["replayed", "dismissed"]);
    expect(step("conflicts")?.states).toEqual(["resolved", "dismissed"]);
    expect(step("pending_deletes")?.states).toEqual(["approved", "rejected"]);
    expect(step("ambiguous_matches")?.states).toEqual(["resolved", "retried", "dismissed"]);
    expect(step("mapping_warnings")?.states).toEqual(["cleared", "dismissed"]);
    expect(step("update_holds")?.states).toEqual(["approved", "rejected"]);
    expect(step("held_updates")?.states).toEqual(["approved", "rejected"]);
    const open = ["open", "pending", "queued", "running"];
    for (const s of plan) expect(s.states.filter((state) => open.includes(state))).toEqual([]);
  });

  it("never touches pairs or their bases", () => {
    const targets: string[] = plan.map((s) => s.target);
    expect(targets).not.toContain("id_mappings");
    expect(targets).not.toContain("sync_state");
  });

  it("deletes a job's and a hold's rows before the job and the hold, each step bounded", () => {
    const order = plan.map((s) => s.target);
    expect(order.indexOf("job_records")).toBeLessThan(order.indexOf("sync_jobs"));
    expect(order.indexOf("job_match_keys")).toBeLessThan(order.indexOf("sync_jobs"));
    expect(order.indexOf("held_updates")).toBeLessThan(order.indexOf("update_holds"));
    expect(step("job_records")?.limit).toBe(PRUNE_LIMIT_JOB_ROWS);
    expect(step("sync_jobs")?.limit).toBe(PRUNE_LIMIT_JOBS);
    for (const s of plan) expect(s.limit).toBeGreaterThan(0);
    expect(new Set(order).size).toBe(order.length);
  });

  it("follows the settings", () => {
    const short = retentionPlan(now, { retentionDays: 1, auditRetentionDays: 2 });
    expect(short.find((s) => s.target === "failures")?.before).toBe("2026-11-30T00:00:00.000Z");
    expect(short.find((s) => s.target === "audit_log")?.before).toBe("2026-11-29T00:00:00.000Z");
  });
});
