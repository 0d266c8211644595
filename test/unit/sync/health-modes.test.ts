import { describe, expect, it } from "vitest";
import { type HealthFacts, problemsOf } from "../../../src/sync/health.ts";

const now = new Date("2026-12-07T12:00:00.000Z");

function facts(overrides: Partial<HealthFacts>): HealthFacts {
  return {
    now,
    bindings: {},
    dependencies: { attio: { ok: true }, salesforce: { ok: true } },
    mappingIssues: [],
    mappingsChecked: true,
    ownerProblem: null,
    catchup: {},
    recentFailures: null,
    failedJobs: [],
    deadLetters: null,
    parked: [],
    lastCronRun: null,
    ...overrides,
  };
}

const held = {
  reason: "paused",
  count: 3,
  since: "2026-12-07T11:00:00.000Z",
  lastError: "held: the deployment is paused",
};

describe("problems of the deployment's mode", () => {
  it("reports a pause with who paused it, since when and the changes held, not as changes waiting for an API", () => {
    const problems = problemsOf(
      facts({
        mode: { mode: "paused", since: "2026-12-07T11:00:00.000Z", changedBy: "operator:admin-token", held: 3 },
        parked: [held],
      }),
    );
    expect(problems).toEqual([
      expect.objectContaining({
        code: "paused",
        since: "2026-12-07T11:00:00.000Z",
        message: expect.stringMatching(/operator:admin-token.*3 change\(s\) held/),
        action: expect.stringContaining("POST /api/v1/resume"),
      }),
    ]);
  });

  it("reports a deployment in setup as not started", () => {
    const problems = problemsOf(
      facts({ mode: { mode: "setup", since: now.toISOString(), changedBy: "new deployment", held: 0 } }),
    );
    expect(problems.map((p) => [p.code, p.action.includes("POST /api/v1/start")])).toEqual([["not_started", true]]);
  });

  it("reports nothing for a running deployment; changes held before and not yet delivered wait like parked ones", () => {
    const running = { mode: "running" as const, since: now.toISOString(), changedBy: "operator:admin-token", held: 3 };
    expect(problemsOf(facts({ mode: running }))).toEqual([]);
    expect(problemsOf(facts({ mode: running, parked: [held] }))).toEqual([
      expect.objectContaining({
        code: "changes_waiting",
        message: expect.stringContaining("delivery after the pause"),
      }),
    ]);
  });
});
