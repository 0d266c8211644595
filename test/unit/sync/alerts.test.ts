import { describe, expect, it } from "vitest";
import { alertBody, diffProblems, type OpenAlert, problemKey, signedPayload } from "../../../src/sync/alerts.ts";
import type { Problem } from "../../../src/sync/health.ts";

const NOW = new Date("2026-12-07T12:00:00.000Z");

const problem = (code: Problem["code"], affects: string, more: Partial<Problem> = {}): Problem => ({
  code,
  affects,
  message: `${code} of ${affects}`,
  action: "fix it",
  ...more,
});

const open = (p: Problem, openedAt = "2026-12-07T11:00:00.000Z"): OpenAlert => ({
  key: problemKey(p),
  code: p.code,
  affects: p.affects,
  message: p.message,
  action: p.action,
  openedAt,
});

describe("diffProblems", () => {
  it("opens a new problem once, since its own time when it has one", () => {
    const failing = problem("catchup_failing", "catch-up salesforce:Contact", { since: "2026-12-07T11:30:00.000Z" });
    const off = problem("mapping_disabled", "mapping deals");
    const { opened, cleared } = diffProblems([], [failing, off], NOW);
    expect(opened.map((a) => [a.key, a.openedAt])).toEqual([
      ["catchup_failing|catch-up salesforce:Contact", "2026-12-07T11:30:00.000Z"],
      ["mapping_disabled|mapping deals", NOW.toISOString()],
    ]);
    expect(cleared).toEqual([]);
  });

  it("says nothing about a problem still open, even when its message changed (a count in it)", () => {
    const before = problem("failures_recent", "records", { message: "3 record(s) failed in the last hour" });
    const now = problem("failures_recent", "records", { message: "40 record(s) failed in the last hour" });
    expect(diffProblems([open(before)], [now], NOW)).toEqual({ opened: [], cleared: [] });
  });

  it("clears what is no longer a problem, and keeps one alert for two problems of one key", () => {
    const gone = problem("dead_letters_stuck", "dead-letter queue");
    const twice = [
      problem("mapping_field_dropped", "mapping people"),
      problem("mapping_field_dropped", "mapping people"),
    ];
    const { opened, cleared } = diffProblems([open(gone)], twice, NOW);
    expect(cleared.map((a) => a.key)).toEqual(["dead_letters_stuck|dead-letter queue"]);
    expect(opened.map((a) => a.key)).toEqual(["mapping_field_dropped|mapping people"]);
  });
});

describe("alertBody", () => {
  it("carries a Slack-compatible text, the problem, its state and since when", () => {
    const alert = open(problem("credentials_refused", "attio"));
    expect(alertBody(alert, "opened")).toEqual({
      text: expect.stringContaining("credentials_refused"),
      state: "opened",
      code: "credentials_refused",
      affects: "attio",
      message: "credentials_refused of attio",
      action: "fix it",
      since: "2026-12-07T11:00:00.000Z",
      source: "attio-sfdc",
    });
    const cleared = alertBody(alert, "cleared", NOW.toISOString());
    expect(cleared).toMatchObject({ state: "cleared", cleared_at: NOW.toISOString() });
    expect(cleared.text).toContain("cleared");
    expect(signedPayload(1765108800, '{"a":1}')).toBe('1765108800.{"a":1}');
  });
});
