import { describe, expect, it } from "vitest";
import type { ValidationIssue } from "../../../src/mapping/validate.ts";
import { type HealthFacts, problemsOf } from "../../../src/sync/health.ts";

/** The wording of each problem when a fact is only partly known (no error text, no date). */
const NOW = new Date("2026-12-07T12:00:00.000Z");
const healthy: HealthFacts = {
  now: NOW,
  bindings: { d1: { ok: true } },
  dependencies: { attio: { ok: true }, salesforce: { ok: true } },
  mappingIssues: [],
  mappingsChecked: true,
  ownerProblem: null,
  catchup: {},
  recentFailures: { count: 0, latest: null },
  failedJobs: [],
  deadLetters: null,
  parked: [],
  lastCronRun: null,
};
const issue = (over: Partial<ValidationIssue>): ValidationIssue => ({
  severity: "error",
  effect: "field_dropped",
  code: "unknown_attribute",
  mapping: "people",
  message: "people.nickname does not exist in Attio: the field is not synced",
  ...over,
});

describe("problem messages", () => {
  it("a binding or dependency down without an error text is named without one", () => {
    const problems = problemsOf({
      ...healthy,
      bindings: { kv: { ok: false } },
      dependencies: { attio: { ok: true }, salesforce: { ok: false } },
    });
    expect(problems.map((p) => p.message)).toEqual(["the kv binding does not answer", "Salesforce cannot be reached"]);
    expect(problems[1]?.action).toMatch(/SALESFORCE_LOGIN_URL/);
  });

  it("Attio down with its error is named, with its own action", () => {
    const [problem] = problemsOf({
      ...healthy,
      dependencies: { attio: { ok: false, error: "HTTP 401" }, salesforce: { ok: true } },
    });
    expect(problem).toMatchObject({ message: "Attio cannot be reached: HTTP 401", affects: "attio" });
    expect(problem?.action).toMatch(/ATTIO_API_KEY/);
  });

  it("a dropped field is named by its Attio attribute when it has no Salesforce field", () => {
    const [problem] = problemsOf({ ...healthy, mappingIssues: [issue({ attio: "nickname" })] });
    expect(problem).toMatchObject({
      code: "mapping_field_dropped",
      message: "mapping people runs without nickname: people.nickname does not exist in Attio: the field is not synced",
    });
  });

  it("a failing catch-up with no start date, a failed job with no error, failures with no date have no since", () => {
    const problems = problemsOf({
      ...healthy,
      catchup: {
        Contact: {
          side: "salesforce",
          enqueued: 0,
          deletes: 0,
          reconciledThrough: null,
          consecutiveFailures: 2,
          error: { code: "upstream_unavailable", message: "503" },
          at: NOW.toISOString(),
        },
      },
      failedJobs: [{ id: "j-1", kind: "full", updatedAt: "2026-12-07T11:00:00.000Z", error: null }],
      recentFailures: { count: 3, latest: null },
    });
    expect(problems.map((p) => [p.code, p.message, p.since])).toEqual([
      [
        "catchup_failing",
        "the salesforce catch-up of Contact failed 2 runs in a row: upstream_unavailable: 503",
        undefined,
      ],
      ["job_failed", "sync job j-1 (full) failed", "2026-12-07T11:00:00.000Z"],
      ["failures_recent", "3 record(s) failed in the last hour", undefined],
    ]);
  });
});
