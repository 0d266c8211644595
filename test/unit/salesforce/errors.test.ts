import { describe, expect, it } from "vitest";
import { classify } from "../../../src/salesforce/errors.ts";

describe("Salesforce errors", () => {
  it("waits long for the daily allocation, briefly for the concurrent-request limit", () => {
    const daily = classify(
      "REQUEST_LIMIT_EXCEEDED",
      "Salesforce REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.",
      {},
    );
    expect(daily).toMatchObject({ code: "rate_limited", retryable: true, retryAfterSeconds: 900 });
    const concurrent = classify(
      "REQUEST_LIMIT_EXCEEDED",
      "Salesforce REQUEST_LIMIT_EXCEEDED: ConcurrentPerOrgLongTxn Limit exceeded.",
      {},
    );
    expect(concurrent).toMatchObject({ code: "rate_limited", retryable: true, retryAfterSeconds: 10 });
  });

  it("retries lock contention and outages, never a rejected record", () => {
    expect(classify("UNABLE_TO_LOCK_ROW", "locked", {}).retryable).toBe(true);
    expect(classify("ERROR_HTTP_503", "unavailable", {}).retryable).toBe(true);
    expect(classify("REQUIRED_FIELD_MISSING", "LastName", {})).toMatchObject({
      code: "upstream_rejected",
      retryable: false,
    });
  });
});
