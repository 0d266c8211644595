import { describe, expect, it } from "vitest";
import { SyncError } from "../../../src/lib/errors.ts";
import { classify, errorCode, mapError, saveError } from "../../../src/salesforce/errors.ts";

describe("classify", () => {
  it.each([
    ["INVALID_SESSION_ID", "auth_failed", false, undefined],
    ["ERROR_HTTP_429", "rate_limited", true, 5],
    ["SERVER_UNAVAILABLE", "upstream_unavailable", true, undefined],
    ["REQUEST_RUNNING_TOO_LONG", "upstream_unavailable", true, undefined],
    ["UNKNOWN_EXCEPTION", "upstream_unavailable", true, undefined],
    ["ERROR_HTTP_502", "upstream_unavailable", true, undefined],
    ["ERROR_HTTP_404", "upstream_rejected", false, undefined],
    ["ENTITY_IS_DELETED", "not_found", false, undefined],
    ["INVALID_CROSS_REFERENCE_KEY", "not_found", false, undefined],
    ["MALFORMED_ID", "not_found", false, undefined],
    ["NOT_FOUND", "not_found", false, undefined],
    ["FIELD_CUSTOM_VALIDATION_EXCEPTION", "upstream_rejected", false, undefined],
  ])("%s is %s (retryable %s, after %s s)", (sfCode, code, retryable, after) => {
    const error = classify(sfCode, `Salesforce ${sfCode}`, { object: "Account" });
    expect(error).toMatchObject({ code, retryable, retryAfterSeconds: after });
    expect(error.detail).toEqual({ object: "Account", salesforce_code: sfCode });
  });
});

describe("saveError", () => {
  it("classifies a save result by its first error: status code, message and fields; the others are named", () => {
    const error = saveError("Contact", [
      {
        statusCode: "REQUIRED_FIELD_MISSING",
        message: "Required fields are missing: [LastName]",
        fields: ["LastName"],
      },
      { statusCode: "UNABLE_TO_LOCK_ROW", message: "second error is not the reason" },
    ]);
    expect(error).toMatchObject({
      code: "upstream_rejected",
      retryable: false,
      message:
        "Salesforce rejected Contact: REQUIRED_FIELD_MISSING Required fields are missing: [LastName] (and 1 more: UNABLE_TO_LOCK_ROW)",
      detail: { fields: ["LastName"], salesforce_code: "REQUIRED_FIELD_MISSING" },
    });
  });

  it("takes errorCode when there is no statusCode, and names an empty error list UNKNOWN", () => {
    expect(saveError("Account", [{ errorCode: "UNABLE_TO_LOCK_ROW", message: "locked" }])).toMatchObject({
      code: "upstream_unavailable",
      retryable: true,
      message: "Salesforce rejected Account: UNABLE_TO_LOCK_ROW locked",
      detail: { fields: [] },
    });
    expect(saveError("Account", [])).toMatchObject({
      code: "upstream_rejected",
      message: "Salesforce rejected Account: UNKNOWN",
      detail: { fields: [], salesforce_code: "UNKNOWN" },
    });
  });
});

describe("mapError", () => {
  it("keeps a SyncError as it is", () => {
    const original = new SyncError("record_busy", "leased");
    expect(mapError(original)).toBe(original);
  });

  it("classifies an error carrying a Salesforce errorCode (as jsforce throws them)", () => {
    const jsforceError = Object.assign(new Error("Session expired or invalid"), { errorCode: "INVALID_SESSION_ID" });
    expect(errorCode(jsforceError)).toBe("INVALID_SESSION_ID");
    expect(mapError(jsforceError)).toMatchObject({
      code: "auth_failed",
      message: "Salesforce INVALID_SESSION_ID: Session expired or invalid",
    });
  });

  it("takes anything without a code as Salesforce being unreachable, which is retried", () => {
    expect(errorCode({ errorCode: 42 })).toBeUndefined();
    expect(errorCode(null)).toBeUndefined();
    expect(mapError(new TypeError("fetch failed"))).toMatchObject({
      code: "upstream_unavailable",
      retryable: true,
      message: "Salesforce unreachable: fetch failed",
    });
    expect(mapError("socket hang up")).toMatchObject({ message: "Salesforce unreachable: socket hang up" });
  });
});
