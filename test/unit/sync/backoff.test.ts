import { describe, expect, it } from "vitest";
import { SyncError } from "../../../src/lib/errors.ts";
import { classify } from "../../../src/salesforce/errors.ts";
import {
  deadLetterDelaySeconds,
  PARK_AFTER_DELIVERIES,
  parkReason,
  retryDelayFor,
  retryDelaySeconds,
} from "../../../src/sync/backoff.ts";

describe("retryDelayFor", () => {
  it("backs a busy record off exponentially, not only by its few seconds of Retry-After", () => {
    const busy = new SyncError("record_busy", "lease held", { retryAfterSeconds: 5 });
    expect(retryDelayFor([busy], 1)).toBe(5);
    expect(retryDelayFor([busy], 6)).toBe(160);
    expect(retryDelayFor([busy], 9)).toBe(900);
    // A merge Attio is still applying asks for longer than the backoff: its wait wins.
    const merging = new SyncError("record_busy", "merge_in_progress", { retryAfterSeconds: 60 });
    expect(retryDelayFor([merging], 1)).toBe(60);
  });

  it("waits what other errors ask for, and the longest of several", () => {
    const limited = new SyncError("rate_limited", "429", { retryAfterSeconds: 2 });
    expect(retryDelayFor([limited], 7)).toBe(retryDelaySeconds(7, 2));
    const internal = new SyncError("internal", "boom");
    expect(retryDelayFor([limited, internal], 3)).toBe(20);
  });
});

describe("parkReason", () => {
  const outage = classify("ERROR_HTTP_503", "Salesforce ERROR_HTTP_503: Service Unavailable", {});
  it("parks an outage once it outlived a few quick retries", () => {
    expect(parkReason(outage, 1)).toBeNull();
    expect(parkReason(outage, PARK_AFTER_DELIVERIES - 1)).toBeNull();
    expect(parkReason(outage, PARK_AFTER_DELIVERIES)).toBe("upstream_unavailable");
    expect(parkReason(new SyncError("upstream_unavailable", "Attio unreachable: fetch failed"), 9)).toBe(
      "upstream_unavailable",
    );
  });

  it("parks an outage by the last delivery when the queue gives fewer than that (QUEUE_MAX_RETRIES)", () => {
    expect(parkReason(outage, 2, 3)).toBeNull();
    expect(parkReason(outage, 3, 3)).toBe("upstream_unavailable");
  });

  it("parks Salesforce's spent daily limit at once, never its concurrency limit or a 429", () => {
    const daily = classify("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", {});
    const concurrent = classify("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.", {});
    expect(parkReason(daily, 1)).toBe("daily_limit");
    expect(parkReason(concurrent, 9)).toBeNull();
    expect(parkReason(new SyncError("rate_limited", "Attio 429", { retryAfterSeconds: 1 }), 9)).toBeNull();
  });

  it("never parks a busy record or an internal error", () => {
    expect(parkReason(new SyncError("record_busy", "lease"), 9)).toBeNull();
    expect(parkReason(new SyncError("internal", "boom"), 9)).toBeNull();
  });
});

describe("deadLetterDelaySeconds", () => {
  it("waits a minute, doubling to an hour: 100 deliveries span about four days", () => {
    expect(deadLetterDelaySeconds(1)).toBe(60);
    expect(deadLetterDelaySeconds(2)).toBe(120);
    expect(deadLetterDelaySeconds(7)).toBe(3600);
    expect(deadLetterDelaySeconds(99)).toBe(3600);
    let total = 0;
    for (let attempt = 1; attempt < 100; attempt++) total += deadLetterDelaySeconds(attempt);
    expect(total / 86_400).toBeGreaterThan(3.9);
  });
});
