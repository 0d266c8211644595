import { describe, expect, it } from "vitest";
import { parseEnvConfig } from "../../../src/config/env.ts";
import { SyncError } from "../../../src/lib/errors.ts";

const complete = {
  ATTIO_API_KEY: "key-value-secret",
  ATTIO_WEBHOOK_SECRET: "whsec",
  SALESFORCE_LOGIN_URL: "https://acme.my.salesforce.com/",
  SALESFORCE_CLIENT_ID: "cid",
  SALESFORCE_CLIENT_SECRET: "csecret-value",
  RELAY_SECRET: "relay-secret-0123456789abcdef-0123",
  ADMIN_TOKEN: "admin-token-0123456789abcdef-01234",
};

describe("parseEnvConfig", () => {
  it("applies the documented defaults", () => {
    expect(parseEnvConfig(complete)).toMatchObject({
      ATTIO_API_URL: "https://api.attio.com",
      SALESFORCE_LOGIN_URL: "https://acme.my.salesforce.com",
      SALESFORCE_API_VERSION: "62.0",
      SYNC_DIRECTION: "bidirectional",
      CONFLICT_RESOLUTION: "last_write",
      BATCH_SIZE: 200,
      LOG_LEVEL: "info",
      SALESFORCE_BULK_THRESHOLD: 2000,
    });
    expect(parseEnvConfig({ ...complete, SALESFORCE_BULK_THRESHOLD: "500" }).SALESFORCE_BULK_THRESHOLD).toBe(500);
  });

  it("refuses the placeholder and the login hosts that do not serve client credentials, naming the fix", () => {
    for (const url of [
      "https://YOUR-DOMAIN.my.salesforce.com",
      "https://login.salesforce.com",
      "https://test.salesforce.com/",
    ]) {
      const error = catchError(() => parseEnvConfig({ ...complete, SALESFORCE_LOGIN_URL: url }));
      expect(error.code).toBe("config_invalid");
      expect(error.message).toMatch(/SALESFORCE_LOGIN_URL: .*My Domain URL/);
    }
  });

  it("names every missing secret and says how to set it", () => {
    const { ATTIO_API_KEY: _a, RELAY_SECRET: _r, ...rest } = complete;
    const error = catchError(() => parseEnvConfig(rest));
    expect(error.code).toBe("config_invalid");
    expect(error.message).toContain("ATTIO_API_KEY: ATTIO_API_KEY is not set (use `wrangler secret put ATTIO_API_KEY`");
    expect(error.message).toContain("RELAY_SECRET");
  });

  it("rejects invalid values by name without echoing any value", () => {
    const error = catchError(() =>
      parseEnvConfig({
        ...complete,
        SYNC_DIRECTION: "sideways",
        SALESFORCE_API_VERSION: "v62",
        SALESFORCE_CLIENT_SECRET: "",
        SALESFORCE_BULK_THRESHOLD: "0",
      }),
    );
    expect(error.message).toContain("SALESFORCE_BULK_THRESHOLD");
    expect(error.message).toContain("SYNC_DIRECTION");
    expect(error.message).toContain("SALESFORCE_API_VERSION");
    expect(error.message).toContain("SALESFORCE_CLIENT_SECRET: SALESFORCE_CLIENT_SECRET is not set");
    expect(error.message).not.toContain("sideways");
    expect(JSON.stringify(error.detail)).not.toContain("key-value-secret");
  });

  it("refuses an admin token, a next or read-only token or a relay secret under 32 characters, saying how to make one", () => {
    for (const name of ["ADMIN_TOKEN", "ADMIN_TOKEN_NEXT", "ADMIN_READ_TOKEN", "RELAY_SECRET"]) {
      const short = "a".repeat(31);
      const error = catchError(() => parseEnvConfig({ ...complete, [name]: short }));
      expect(error.code).toBe("config_invalid");
      expect(error.message).toContain(`${name}: ${name} must be at least 32 characters`);
      expect(error.message).toContain("openssl rand -hex 32");
      expect(error.message).not.toContain(short);
    }
    expect(parseEnvConfig({ ...complete, ADMIN_READ_TOKEN: "r".repeat(32) }).ADMIN_READ_TOKEN).toBe("r".repeat(32));
  });

  it("takes ALERT_WEBHOOK_URL only with ALERT_WEBHOOK_SECRET, naming the missing one without echoing values", () => {
    const url = "https://hooks.slack.test/services/T000/B000/very-secret-path";
    expect(() => parseEnvConfig({ ...complete, ALERT_WEBHOOK_URL: url })).toThrow(/ALERT_WEBHOOK_SECRET: is required/);
    try {
      parseEnvConfig({ ...complete, ALERT_WEBHOOK_URL: url });
    } catch (thrown) {
      expect((thrown as SyncError).message).not.toContain("very-secret-path");
    }
    const secret = "alert-secret-0123456789abcdef-012345";
    expect(parseEnvConfig({ ...complete, ALERT_WEBHOOK_URL: url, ALERT_WEBHOOK_SECRET: secret })).toMatchObject({
      ALERT_WEBHOOK_URL: url,
      ALERT_WEBHOOK_SECRET: secret,
    });
    expect(() => parseEnvConfig({ ...complete, ALERT_WEBHOOK_URL: url, ALERT_WEBHOOK_SECRET: "short" })).toThrow(
      /ALERT_WEBHOOK_SECRET: .*32 characters/,
    );
  });
});

function catchError(fn: () => unknown): SyncError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SyncError) return err;
    throw err;
  }
  throw new Error("expected an error");
}
