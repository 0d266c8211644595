import { describe, expect, it } from "vitest";
import { samplesOf, seriesOf } from "../../../src/sync/metrics.ts";
import { backlogOf, settledCount, settledCounter } from "../../../src/sync/queue-depth.ts";

const AT = new Date("2026-12-07T12:00:00.000Z");

describe("samplesOf", () => {
  it("samples each catch-up's lag per side and object, the daily API use, each limiter and the backlog", () => {
    const samples = samplesOf(
      {
        catchup: {
          Contact: { side: "salesforce", reconciledThrough: "2026-12-07T11:55:00.000Z", enqueued: 3 },
          people: { side: "attio", reconciledThrough: "2026-12-07T11:30:00.400Z" },
          // Never reconciled, failing, unreadable or in the future: no lag sample, or none below zero.
          Account: { side: "salesforce", reconciledThrough: null },
          deals: "garbage",
          Lead: { side: "salesforce", reconciledThrough: "not a time" },
          companies: { side: "attio", reconciledThrough: "2026-12-07T12:01:00.000Z" },
        },
        usage: { used: 1234, limit: 15000 },
        calls: { "attio:read": 40, "attio:write": 7, salesforce: 0 },
        backlog: 12,
      },
      AT,
    );
    const at = "2026-12-07T12:00:00.000Z";
    expect(samples).toEqual([
      { metric: "lag_seconds", subject: "salesforce:Contact", at, value: 300 },
      { metric: "lag_seconds", subject: "attio:people", at, value: 1800 },
      { metric: "lag_seconds", subject: "attio:companies", at, value: 0 },
      { metric: "salesforce_api_used", subject: "salesforce", at, value: 1234 },
      { metric: "salesforce_api_limit", subject: "salesforce", at, value: 15000 },
      { metric: "limiter_calls", subject: "attio:read", at, value: 40 },
      { metric: "limiter_calls", subject: "attio:write", at, value: 7 },
      { metric: "limiter_calls", subject: "salesforce", at, value: 0 },
      { metric: "queue_backlog", subject: "all", at, value: 12 },
    ]);
  });

  it("leaves out what was not read: a gap, not a zero", () => {
    expect(samplesOf({ catchup: null, usage: null, calls: {}, backlog: null }, AT)).toEqual([]);
  });
});

describe("seriesOf", () => {
  it("groups samples into one series per metric and subject, keeping their order", () => {
    const s = (metric: string, subject: string, at: string, value: number) => ({ metric, subject, at, value });
    expect(
      seriesOf([
        s("lag_seconds", "salesforce:Contact", "T1", 10),
        s("queue_backlog", "all", "T1", 3),
        s("lag_seconds", "salesforce:Contact", "T2", 20),
        s("lag_seconds", "attio:people", "T2", 5),
      ]),
    ).toEqual([
      {
        metric: "lag_seconds",
        subject: "salesforce:Contact",
        points: [
          { at: "T1", value: 10 },
          { at: "T2", value: 20 },
        ],
      },
      { metric: "queue_backlog", subject: "all", points: [{ at: "T1", value: 3 }] },
      { metric: "lag_seconds", subject: "attio:people", points: [{ at: "T2", value: 5 }] },
    ]);
  });
});

describe("the queue backlog estimate", () => {
  it("is what was sent minus what was settled, on every queue, never below zero", () => {
    expect(
      backlogOf({ "sent:sync": 10, "sent:jobs": 5, "settled:sync": 6, "settled:jobs": 2, "settled:dlq": 1 }),
    ).toEqual({ estimate: 6, sent: 15, settled: 9 });
    expect(backlogOf({})).toEqual({ estimate: 0, sent: 0, settled: 0 });
    expect(backlogOf({ "settled:sync": 4 })).toEqual({ estimate: 0, sent: 0, settled: 4 });
  });

  it("counts acked messages, and untouched ones only when the handler returned", () => {
    const states = ["acked", "retried", "untouched", "untouched"] as const;
    expect(settledCount(states, false)).toBe(3);
    expect(settledCount(states, true)).toBe(1);
    expect(settledCount([], false)).toBe(0);
  });

  it("settles the queue a consumer reads, dead letters on their own counter", () => {
    expect(settledCounter("attio-sfdc-sync")).toBe("settled:sync");
    expect(settledCounter("attio-sfdc-jobs")).toBe("settled:jobs");
    expect(settledCounter("attio-sfdc-sync-dlq")).toBe("settled:dlq");
    expect(settledCounter("staging-attio-sfdc-sync")).toBe("settled:sync");
  });
});
