import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatRun, loadSettings, parseDevVars, runDoctor } from "../../../scripts/doctor.ts";
import { type AttioEmulator, startAttioEmulator } from "../../../scripts/sandbox/attio/server.ts";
import { type SalesforceEmulator, startSalesforceEmulator } from "../../../scripts/sandbox/salesforce/server.ts";
import { clearTokenCache } from "../../../src/salesforce/token.ts";

/** `npm run doctor` against the sandbox emulators, as a user runs it before deploying. */
let attio: AttioEmulator;
let sf: SalesforceEmulator;
const WORKER = "https://doctor-sandbox.example.workers.dev";

beforeAll(async () => {
  [attio, sf] = await Promise.all([startAttioEmulator(), startSalesforceEmulator()]);
});
afterAll(async () => {
  await Promise.all([attio.close(), sf.close()]);
});

function settings(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ATTIO_API_URL: attio.url,
    ATTIO_API_KEY: attio.apiKey,
    SALESFORCE_LOGIN_URL: sf.url,
    SALESFORCE_CLIENT_ID: sf.clientId,
    SALESFORCE_CLIENT_SECRET: sf.clientSecret,
    ...overrides,
  };
}

const statusOf = (run: Awaited<ReturnType<typeof runDoctor>>, id: string) =>
  run.checks.find((c) => c.id === id)?.status;

describe("npm run doctor against the sandbox", () => {
  it("checks a new org: the webhook is missing and no External ID field exists yet", async () => {
    clearTokenCache();
    const run = await runDoctor(settings(), { workerUrl: WORKER });
    expect(run.checks.map((c) => [c.id, c.status])).toEqual([
      ["attio_key", "pass"],
      ["attio_scopes", "pass"],
      ["attio_webhook", "fail"],
      ["salesforce_token", "pass"],
      ["salesforce_api_version", "pass"],
      ["salesforce_access", "pass"],
      ["salesforce_cdc", "pass"],
      ["salesforce_external_id", "warn"],
    ]);
    expect(run.status).toBe("fail");
    expect(formatRun(run)).toContain(
      `FAIL  attio_webhook            No Attio webhook delivers to ${WORKER}/webhooks/attio`,
    );
  });

  it("passes the webhook once it is registered on the Worker's URL", async () => {
    const response = await fetch(`${attio.url}/v2/webhooks`, {
      method: "POST",
      headers: { authorization: `Bearer ${attio.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        data: {
          target_url: `${WORKER}/webhooks/attio`,
          subscriptions: [
            "record.created",
            "record.updated",
            "record.deleted",
            "record.merged",
            "object-attribute.created",
            "object-attribute.updated",
          ].map((event_type) => ({
            event_type,
            filter: null,
          })),
        },
      }),
    });
    expect(response.ok).toBe(true);
    expect(statusOf(await runDoctor(settings(), { workerUrl: WORKER }), "attio_webhook")).toBe("pass");
  });

  it("fails a wrong client secret and an API version the org does not serve", async () => {
    clearTokenCache();
    const refused = await runDoctor(settings({ SALESFORCE_CLIENT_SECRET: "wrong" }));
    expect(statusOf(refused, "salesforce_token")).toBe("fail");
    clearTokenCache();
    const version = await runDoctor(settings({ SALESFORCE_API_VERSION: "30.0" }));
    expect(statusOf(version, "salesforce_api_version")).toBe("fail");
  });

  it("refuses settings the Worker would refuse, naming them", async () => {
    await expect(runDoctor(settings({ SALESFORCE_LOGIN_URL: "https://login.salesforce.com" }))).rejects.toThrow(
      /SALESFORCE_LOGIN_URL: must be your org's My Domain URL/,
    );
  });

  it("reads the environment first, then .dev.vars, then wrangler.toml [vars]", () => {
    const dir = mkdtempSync(join(tmpdir(), "doctor-"));
    writeFileSync(join(dir, ".dev.vars"), '# local\nATTIO_API_KEY="from-dev-vars"\nSALESFORCE_CLIENT_ID=dev-id\n');
    writeFileSync(
      join(dir, "wrangler.toml"),
      '[vars]\nSALESFORCE_LOGIN_URL = "https://acme.my.salesforce.com"\nSALESFORCE_CLIENT_ID = "toml-id"\n',
    );
    expect(loadSettings(dir, { SALESFORCE_CLIENT_ID: "env-id" })).toEqual({
      ATTIO_API_KEY: "from-dev-vars",
      SALESFORCE_CLIENT_ID: "env-id",
      SALESFORCE_LOGIN_URL: "https://acme.my.salesforce.com",
    });
    expect(parseDevVars("A='x'\n  # B=y\nC=")).toEqual({ A: "x", C: "" });
  });
});
