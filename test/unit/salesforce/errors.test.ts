import { describe, expect, it } from "vitest";
import { classify, saveError } from "../../../src/salesforce/errors.ts";

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

  it("keeps every error of a refused record with the fields each names, classified by the first", () => {
    const error = saveError("Contact", [
      {
        statusCode: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        message: "Mailing Country Code: bad value for restricted picklist field: FR",
        fields: ["MailingCountryCode"],
      },
      { statusCode: "STRING_TOO_LONG", message: "Title: data value too large", fields: ["Title"] },
    ]);
    expect(error).toMatchObject({ code: "upstream_rejected", retryable: false });
    expect(error.message).toBe(
      "Salesforce rejected Contact: INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST Mailing Country Code: bad value for restricted picklist field: FR (and 1 more: STRING_TOO_LONG)",
    );
    expect(error.detail).toEqual({
      salesforce_code: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
      fields: ["MailingCountryCode"],
      errors: [
        {
          code: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
          message: "Mailing Country Code: bad value for restricted picklist field: FR",
          fields: ["MailingCountryCode"],
        },
        { code: "STRING_TOO_LONG", message: "Title: data value too large", fields: ["Title"] },
      ],
    });
  });
});
