import { describe, expect, it } from "vitest";
import type { CatchupEntry } from "../../../src/sync/catchup-state.ts";
import { type HealthFacts, problemsOf } from "../../../src/sync/health.ts";

const NOW = new Date("2026-12-07T12:00:00.000Z");

const healthy: HealthFacts = {
  now: NOW,
  bindings: { d1: { ok: true }, kv: { ok: true } },
  dependencies: { attio: { ok: true }, salesforce: { ok: true } },
  mappingIssues: [],
  mappingsChecked: true,
  ownerProblem: null,
  catchup: {},
  recentFailures: { count: 0, latest: null },
  failedJobs: [],
  deadLetters: null,
  parked: [],
  lastCronRun: "2026-12-07T11:58:00.000Z",
};

const entry = (over: Partial<CatchupEntry>): CatchupEntry => ({
  side: "salesforce",
  enqueued: 0,
  deletes: 0,
  reconciledThrough: null,
  consecutiveFailures: 0,
  at: NOW.toISOString(),
  ...over,
});

const codes = (facts: Partial<HealthFacts>) => problemsOf({ ...healthy, ...facts }).map((p) => p.code);

describe("problemsOf", () => {
  it("finds nothing wrong when nothing is", () => {
    expect(problemsOf(healthy)).toEqual([]);
  });

  it("reports each binding and dependency that does not answer, with what to do", () => {
    const problems = problemsOf({
      ...healthy,
      bindings: { d1: { ok: false, error: "D1_ERROR" }, kv: { ok: true } },
      dependencies: { attio: { ok: true }, salesforce: { ok: false, error: "invalid_client" } },
    });
    expect(problems.map((p) => [p.code, p.affects])).toEqual([
      ["binding_unavailable", "d1"],
      ["dependency_unreachable", "salesforce"],
    ]);
    expect(problems[1]?.message).toContain("invalid_client");
    expect(problems[1]?.action).toMatch(/SALESFORCE_CLIENT_ID/);
  });

  it("reports a mapping switched off once, with every reason, and a dropped field of a running mapping", () => {
    const problems = problemsOf({
      ...healthy,
      mappingIssues: [
        {
          mapping: "deals",
          severity: "error",
          effect: "mapping_off",
          code: "unknown_salesforce_object",
          message: 'Salesforce has no object "Opportunity"',
        },
        {
          mapping: "deals",
          severity: "error",
          effect: "mapping_off",
          code: "required_field_unmapped",
          message: "Opportunity.CloseDate is required",
        },
        // A field dropped from a mapping that is off anyway is not reported twice.
        {
          mapping: "deals",
          severity: "error",
          effect: "field_dropped",
          code: "unknown_attribute",
          salesforce: "LeadSource",
          message: "x",
        },
        {
          mapping: "people",
          severity: "error",
          effect: "field_dropped",
          code: "unknown_field",
          salesforce: "LinkedIn__c",
          message: "Contact.LinkedIn__c does not exist",
        },
        // Warnings (a field left out on purpose, a direction narrowed) are not problems.
        {
          mapping: "deals",
          severity: "warning",
          effect: "field_dropped",
          code: "optional_attribute_missing",
          message: "y",
        },
        { mapping: "companies", severity: "warning", effect: "narrowed", code: "attio_not_writable", message: "z" },
      ],
    });
    expect(problems.map((p) => [p.code, p.affects])).toEqual([
      ["mapping_disabled", "mapping deals"],
      ["mapping_field_dropped", "mapping people"],
    ]);
    expect(problems[0]?.message).toContain("Opportunity.CloseDate is required");
  });

  it("reports unchecked mappings and a missing default owner", () => {
    expect(codes({ mappingsChecked: false, ownerProblem: "the workspace has no active admin" })).toEqual([
      "mappings_unchecked",
      "default_owner_missing",
    ]);
  });

  it("reports a catch-up only once it failed two runs in a row, and a cron that stopped", () => {
    const failing = entry({ error: { code: "upstream_rejected", message: "invalid ID field: " } });
    expect(codes({ catchup: { Account: { ...failing, consecutiveFailures: 1 } } })).toEqual([]);
    const problems = problemsOf({
      ...healthy,
      catchup: {
        Account: { ...failing, consecutiveFailures: 2, failingSince: "2026-12-07T11:50:00.000Z" },
        companies: entry({ side: "attio" }),
      },
      lastCronRun: "2026-12-07T11:40:00.000Z",
    });
    expect(problems.map((p) => [p.code, p.affects])).toEqual([
      ["catchup_failing", "catch-up salesforce:Account"],
      ["cron_stale", "catch-up"],
    ]);
    expect(problems[0]).toMatchObject({ since: "2026-12-07T11:50:00.000Z" });
    expect(problems[0]?.message).toContain("invalid ID field");
  });

  it("reports a catch-up of either side whose reconciledThrough lags more than three cron periods, once", () => {
    const at = (minutesAgo: number) => new Date(NOW.getTime() - minutesAgo * 60_000).toISOString();
    // One period behind is the normal state just before a run; three periods is still within bounds.
    expect(codes({ catchup: { Contact: entry({ reconciledThrough: at(5) }) } })).toEqual([]);
    expect(codes({ catchup: { Contact: entry({ reconciledThrough: at(15) }) } })).toEqual([]);
    const problems = problemsOf({
      ...healthy,
      catchup: {
        Contact: entry({ reconciledThrough: at(16) }),
        Account: entry({
          reconciledThrough: at(40),
          paused: "paused: Salesforce daily API usage 14900/15000 reached the 20% reserve",
        }),
        // The Attio side: the last complete pass began 300 minutes ago.
        people: entry({ side: "attio", reconciledThrough: at(300) }),
        companies: entry({ side: "attio", reconciledThrough: at(10) }),
        // Failing: reported as failing, not also as behind.
        Lead: entry({
          reconciledThrough: at(60),
          error: { code: "upstream_unavailable", message: "down" },
          consecutiveFailures: 3,
        }),
        Opportunity: entry({ reconciledThrough: null }),
      },
    });
    expect(problems.map((p) => [p.code, p.affects])).toEqual([
      ["catchup_failing", "catch-up salesforce:Lead"],
      ["catchup_behind", "catch-up salesforce:Contact"],
      ["catchup_behind", "catch-up salesforce:Account"],
      ["catchup_behind", "catch-up attio:people"],
    ]);
    expect(problems[3]?.message).toContain("last completed a pass that began at");
    expect(problems[1]).toMatchObject({ since: at(16) });
    expect(problems[1]?.message).toContain("16 minutes behind");
    expect(problems[2]?.message).toContain("behind; paused: Salesforce daily API usage");
    expect(problems[2]?.action).toContain("SALESFORCE_BUDGET_RESERVE");
  });

  it("reports failed jobs of the last day, recent failures and dead letters that cannot be recorded", () => {
    const problems = problemsOf({
      ...healthy,
      failedJobs: [
        { id: "job-1", kind: "full", updatedAt: "2026-12-07T10:00:00.000Z", error: "INVALID_QUERY_FILTER_OPERATOR" },
        { id: "job-0", kind: "full", updatedAt: "2026-12-05T10:00:00.000Z", error: null },
      ],
      recentFailures: { count: 3, latest: "2026-12-07T11:59:00.000Z" },
      deadLetters: { since: "2026-12-07T11:30:00.000Z", error: "D1_ERROR", code: "internal" },
    });
    expect(problems.map((p) => [p.code, p.affects])).toEqual([
      ["job_failed", "job job-1"],
      ["failures_recent", "records"],
      ["dead_letters_stuck", "dead-letter queue"],
    ]);
    expect(problems[1]?.message).toBe("3 record(s) failed in the last hour");
  });

  it("reports changes parked until an API answers, per reason, with why and since when", () => {
    const problems = problemsOf({
      ...healthy,
      parked: [
        {
          reason: "daily_limit",
          count: 40,
          since: "2026-12-07T09:00:00.000Z",
          lastError: "rate_limited: Salesforce REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.",
        },
      ],
    });
    expect(problems).toEqual([
      expect.objectContaining({
        code: "changes_waiting",
        affects: "parked changes: daily_limit",
        since: "2026-12-07T09:00:00.000Z",
      }),
    ]);
    expect(problems[0]?.message).toContain("40 change(s) wait for Salesforce's daily API request limit");
    expect(problems[0]?.message).toContain("TotalRequests Limit exceeded");
  });

  it("tells credentials refused from a dependency that does not answer", () => {
    const problems = problemsOf({
      ...healthy,
      dependencies: {
        attio: { ok: false, error: "Attio GET /v2/self: invalid key", code: "auth_failed" },
        salesforce: { ok: false, error: "timeout", code: "upstream_unavailable" },
      },
    });
    expect(problems.map((p) => [p.code, p.affects])).toEqual([
      ["credentials_refused", "attio"],
      ["dependency_unreachable", "salesforce"],
    ]);
    expect(problems[0]?.action).toMatch(/ATTIO_API_KEY/);
  });

  it("reports the Salesforce API budget inside its reserve, and not before", () => {
    const api = { used: 12_000, limit: 15_000, at: "2026-12-07T11:55:00.000Z", reserve: 0.2 };
    expect(codes({ salesforceApi: api })).toContain("api_budget_reserve");
    expect(codes({ salesforceApi: { ...api, used: 11_999 } })).not.toContain("api_budget_reserve");
    expect(codes({ salesforceApi: null })).not.toContain("api_budget_reserve");
  });

  it("reports each mass-update hold with the call that decides it", () => {
    const [held] = problemsOf({
      ...healthy,
      heldUpdates: [{ id: "h1", mapping: "people", side: "salesforce", records: 640, detectedAt: NOW.toISOString() }],
    });
    expect(held).toMatchObject({ code: "mass_update_held", affects: "mapping people", since: NOW.toISOString() });
    expect(held?.message).toContain("640");
    expect(held?.action).toContain("POST /api/v1/holds/h1");
  });

  it("opens failures_recent and catchup_behind at the configured [health] thresholds", () => {
    const thresholds = { failures: 10, catchupLagMinutes: 60 };
    expect(codes({ recentFailures: { count: 9, latest: null }, thresholds })).not.toContain("failures_recent");
    expect(codes({ recentFailures: { count: 10, latest: null }, thresholds })).toContain("failures_recent");
    expect(codes({ recentFailures: { count: 1, latest: null } })).toContain("failures_recent");
    const lagging = (minutes: number) => ({
      Contact: entry({ reconciledThrough: new Date(NOW.getTime() - minutes * 60_000).toISOString() }),
    });
    expect(codes({ catchup: lagging(30), thresholds })).not.toContain("catchup_behind");
    expect(codes({ catchup: lagging(61), thresholds })).toContain("catchup_behind");
    expect(codes({ catchup: lagging(16) })).toContain("catchup_behind");
  });
});
