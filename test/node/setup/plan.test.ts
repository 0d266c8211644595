import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { deploymentNames } from "../../../scripts/setup/names.ts";
import { type Existing, planSetup, type SetupInputs, type Step } from "../../../scripts/setup/plan.ts";
import { renderDeploymentConfig } from "../../../scripts/setup/wrangler-config.ts";

const BASE = readFileSync(resolve(import.meta.dirname, "../../../wrangler.toml"), "utf8");
const names = deploymentNames("staging");
const QUEUES = ["attio-sfdc-staging-sync", "attio-sfdc-staging-jobs", "attio-sfdc-staging-sync-dlq"];
const LOGIN = "https://acme.my.salesforce.com";
const ALL_SECRETS = [
  "ATTIO_API_KEY",
  "ATTIO_WEBHOOK_SECRET",
  "SALESFORCE_CLIENT_ID",
  "SALESFORCE_CLIENT_SECRET",
  "RELAY_SECRET",
  "ADMIN_TOKEN",
];

const inputs = (over: Partial<SetupInputs> = {}): SetupInputs => ({
  names,
  baseConfig: BASE,
  credentials: { ATTIO_API_KEY: "k", SALESFORCE_CLIENT_ID: "id", SALESFORCE_CLIENT_SECRET: "s" },
  vars: { SALESFORCE_LOGIN_URL: LOGIN },
  rotate: false,
  updateCredentials: false,
  createField: true,
  ...over,
});

const nothing: Existing = {
  databaseId: null,
  kvId: null,
  queues: [],
  worker: { exists: false, secrets: [] },
  configFile: null,
};

const complete: Existing = {
  databaseId: "db-1",
  kvId: "kv-1",
  queues: QUEUES,
  worker: { exists: true, secrets: ALL_SECRETS },
  configFile: renderDeploymentConfig(BASE, names, { database: "db-1", kv: "kv-1" }, { SALESFORCE_LOGIN_URL: LOGIN }),
};

function steps(plan: ReturnType<typeof planSetup>): Step[] {
  if (!plan.ok) throw new Error(plan.problems.join("; "));
  return plan.steps;
}

describe("planSetup", () => {
  it("on a new account: checks first, creates everything, generates both tokens, migrates, deploys with every secret", () => {
    expect(steps(planSetup(inputs(), nothing)).map((s) => s.kind)).toEqual([
      "check-attio",
      "check-salesforce",
      "create-database",
      "create-kv",
      "create-queue",
      "create-queue",
      "create-queue",
      "write-config",
      "generate-token",
      "generate-token",
      "apply-migrations",
      "deploy",
      "attio-webhook",
      "external-id-field",
    ]);
    const deploy = steps(planSetup(inputs(), nothing)).find((s) => s.kind === "deploy");
    expect(deploy).toEqual({ kind: "deploy", first: true, secrets: ALL_SECRETS });
  });

  it("over a complete deployment: creates, generates, puts and deploys nothing", () => {
    const kinds = steps(planSetup(inputs(), complete)).map((s) => s.kind);
    expect(kinds).toEqual([
      "check-attio",
      "check-salesforce",
      "write-config",
      "apply-migrations",
      "attio-webhook",
      "external-id-field",
    ]);
  });

  it("creates only what is missing (a queue deleted by hand), and then deploys", () => {
    const plan = steps(planSetup(inputs(), { ...complete, queues: QUEUES.slice(0, 2) }));
    expect(plan.filter((s) => s.kind.startsWith("create"))).toEqual([
      { kind: "create-queue", name: "attio-sfdc-staging-sync-dlq" },
    ]);
    expect(plan).toContainEqual({ kind: "deploy", first: false, secrets: [] });
  });

  it("--rotate generates both tokens again and puts them in one upload; credentials stay", () => {
    const plan = steps(planSetup(inputs({ rotate: true }), complete));
    expect(plan).toContainEqual({ kind: "put-secrets", secrets: ["ADMIN_TOKEN", "RELAY_SECRET"] });
    expect(plan.filter((s) => s.kind === "generate-token")).toHaveLength(2);
    expect(plan.some((s) => s.kind === "deploy")).toBe(false);
  });

  it("--update-credentials puts the given credentials even though the Worker has them", () => {
    const plan = steps(planSetup(inputs({ updateCredentials: true }), complete));
    expect(plan).toContainEqual({
      kind: "put-secrets",
      secrets: ["ATTIO_API_KEY", "SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET"],
    });
  });

  it("a new My Domain URL changes the configuration, so it deploys", () => {
    const plan = steps(
      planSetup(inputs({ vars: { SALESFORCE_LOGIN_URL: "https://other.my.salesforce.com" } }), complete),
    );
    expect(plan).toContainEqual({ kind: "deploy", first: false, secrets: [] });
  });

  it("keeps the stored My Domain URL when none is given", () => {
    const plan = steps(planSetup(inputs({ vars: {}, credentials: {} }), complete));
    expect(plan.find((s) => s.kind === "write-config")).toEqual({
      kind: "write-config",
      // ATTIO_API_URL as the stored configuration has it (wrangler.toml's own value here).
      vars: { SALESFORCE_LOGIN_URL: LOGIN, ATTIO_API_URL: "https://api.attio.com" },
    });
    expect(plan.filter((s) => s.kind === "skip").map((s) => (s.kind === "skip" ? s.what : ""))).toEqual([
      "Attio webhook",
      "Salesforce External ID fields",
    ]);
  });

  it("names every missing input for a new deployment", () => {
    const plan = planSetup(inputs({ credentials: {}, vars: {} }), nothing);
    expect(plan.ok).toBe(false);
    expect(plan.ok ? [] : plan.problems.map((p) => p.split(" ")[0])).toEqual([
      "SALESFORCE_LOGIN_URL",
      "ATTIO_API_KEY",
      "SALESFORCE_CLIENT_ID",
      "SALESFORCE_CLIENT_SECRET",
    ]);
  });

  it.each([
    ["https://YOUR-DOMAIN.my.salesforce.com", /placeholder/],
    ["https://login.salesforce.com", /My Domain URL/],
    ["not a url", /http\(s\) URL/],
  ])("refuses the login URL %s", (url, message) => {
    const plan = planSetup(inputs({ vars: { SALESFORCE_LOGIN_URL: url } }), nothing);
    expect(plan.ok ? "" : plan.problems.join("\n")).toMatch(message);
  });
});

describe("deploymentNames", () => {
  it("derives every resource name from the deployment's", () => {
    expect(deploymentNames("production")).toEqual({
      deployment: "production",
      worker: "attio-sfdc-production",
      database: "attio-sfdc-production",
      kv: "attio-sfdc-production-cursors",
      configFile: "wrangler.production.toml",
      stateFile: ".deployments/production.json",
    });
  });

  it.each(["", "Prod", "1st", "a_b", "x".repeat(31)])("refuses %j", (name) => {
    expect(() => deploymentNames(name)).toThrow();
  });
});
