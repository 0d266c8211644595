import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AttioEmulator, startAttioEmulator } from "../../../scripts/sandbox/attio/server.ts";
import { createCustomField } from "../../../scripts/sandbox/salesforce/provision.ts";
import { type SalesforceEmulator, startSalesforceEmulator } from "../../../scripts/sandbox/salesforce/server.ts";
import { startServer } from "../../../scripts/sandbox/shared/http.ts";
import { runAttioWebhook } from "../../../scripts/setup/attio-webhook.ts";
import { runSetup } from "../../../scripts/setup/run.ts";
import { EXTERNAL_ID_OBJECTS, SalesforceSetupClient } from "../../../scripts/setup/salesforce.ts";
import { runUpgrade } from "../../../scripts/setup/upgrade.ts";
import { FakeWrangler } from "./fake-wrangler.ts";

/**
 * The walk-through a new user makes, run non-interactively (`npm run setup -- --yes`): wrangler is
 * a recorded stand-in for a Cloudflare account, Attio and Salesforce are the sandbox's emulators
 * (a new workspace and a new org), reached over HTTP exactly as the real APIs would be.
 */
// biome-ignore lint/suspicious/noExplicitAny: the test indexes freely into the TOML it then asserts on.
type Toml = Record<string, any>;
const REPO = resolve(import.meta.dirname, "../../..");
const WORKER_URL = "https://attio-sfdc-staging.acme.workers.dev";

let attio: AttioEmulator;
let salesforce: SalesforceEmulator;
let root: string;
const wrangler = new FakeWrangler();
let env: Record<string, string>;
const log: string[] = [];
const deps = () => ({ run: wrangler.run, root, log: (line: string) => log.push(line) });

beforeAll(async () => {
  attio = await startAttioEmulator({ port: 0, seed: 7 });
  salesforce = await startSalesforceEmulator({ port: 0, seed: 7 });
  root = await mkdtemp(join(tmpdir(), "attio-sfdc-setup-test-"));
  await copyFile(join(REPO, "wrangler.toml"), join(root, "wrangler.toml"));
  env = {
    CI: "1",
    ATTIO_API_KEY: attio.apiKey,
    ATTIO_API_URL: attio.url,
    SALESFORCE_LOGIN_URL: salesforce.url,
    SALESFORCE_CLIENT_ID: salesforce.clientId,
    SALESFORCE_CLIENT_SECRET: salesforce.clientSecret,
  };
});

afterAll(async () => {
  await attio?.close();
  await salesforce?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const staging = () => {
  const worker = wrangler.workers.get("attio-sfdc-staging");
  if (!worker) throw new Error("the staging Worker was not deployed");
  return worker;
};

describe("npm run setup -- --name staging --yes, against a new account, workspace and org", () => {
  it("creates every resource, checks both CRMs, deploys with generated tokens, registers the webhook and creates the External ID fields", async () => {
    const started = performance.now();
    const outcome = await runSetup(["--name", "staging", "--yes", "--create-field"], env, deps());
    const seconds = (performance.now() - started) / 1000;

    // Resources named after the deployment.
    expect(wrangler.databases.map((db) => db.name)).toEqual(["attio-sfdc-staging"]);
    expect(wrangler.namespaces.map((ns) => ns.title)).toEqual(["attio-sfdc-staging-cursors"]);
    expect([...wrangler.queues].sort()).toEqual([
      "attio-sfdc-staging-jobs",
      "attio-sfdc-staging-sync",
      "attio-sfdc-staging-sync-dlq",
    ]);

    // The generated configuration carries the ids; the tracked one keeps its placeholders.
    const generated = parse(await readFile(join(root, "wrangler.staging.toml"), "utf8")) as Toml;
    expect(generated["name"]).toBe("attio-sfdc-staging");
    expect(generated["d1_databases"][0]).toMatchObject({
      binding: "DB",
      database_name: "attio-sfdc-staging",
      database_id: wrangler.databases[0]?.uuid,
    });
    expect(generated["kv_namespaces"][0]).toEqual({ binding: "CURSORS", id: wrangler.namespaces[0]?.id });
    expect(generated["queues"]["consumers"].map((c: { queue: string }) => c.queue)).toEqual([
      "attio-sfdc-staging-sync",
      "attio-sfdc-staging-jobs",
      "attio-sfdc-staging-sync-dlq",
    ]);
    expect(generated["queues"]["consumers"][0]["dead_letter_queue"]).toBe("attio-sfdc-staging-sync-dlq");
    expect(generated["vars"]).toMatchObject({ SALESFORCE_LOGIN_URL: salesforce.url, ATTIO_API_URL: attio.url });
    expect(await readFile(join(root, "wrangler.toml"), "utf8")).toBe(
      await readFile(join(REPO, "wrangler.toml"), "utf8"),
    );

    // Migrations before the deploy; the credentials were checked before anything was created.
    const index = (first: string, second?: string) =>
      wrangler.calls.findIndex(([a, b]) => a === first && (second === undefined || b === second));
    expect(index("d1", "migrations")).toBeGreaterThan(index("d1", "create"));
    expect(index("deploy")).toBeGreaterThan(index("d1", "migrations"));
    expect(wrangler.migrated.has(wrangler.databases[0]?.uuid ?? "")).toBe(true);
    expect(outcome.results.slice(0, 2).map((r) => r.result)).toEqual([
      expect.stringMatching(/^Attio API key works/),
      expect.stringMatching(/^Salesforce client credentials work/),
    ]);

    // Tokens: 32 random bytes each, put on the Worker, printed once.
    const worker = staging();
    for (const name of ["ADMIN_TOKEN", "RELAY_SECRET"] as const) {
      expect(outcome.tokens[name]).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(worker.secrets.get(name)).toBe(outcome.tokens[name]);
      expect(log.filter((line) => line.includes(outcome.tokens[name] ?? "-"))).toHaveLength(1);
    }
    expect(outcome.tokens.ADMIN_TOKEN).not.toBe(outcome.tokens.RELAY_SECRET);
    expect(worker.secrets.get("ATTIO_API_KEY")).toBe(attio.apiKey);
    expect(worker.secrets.get("SALESFORCE_CLIENT_SECRET")).toBe(salesforce.clientSecret);
    expect(worker.deploys).toBe(1);

    // The webhook targets the deployed URL, and the Worker holds its secret (not the placeholder
    // the first deploy carried, which the secrets file shows).
    const hooks = attio.webhooks.secrets();
    expect(hooks).toEqual([
      { id: expect.any(String), target_url: `${WORKER_URL}/webhooks/attio`, secret: expect.any(String) },
    ]);
    expect(worker.secrets.get("ATTIO_WEBHOOK_SECRET")).toBe(hooks[0]?.secret);
    expect(wrangler.secretsFiles[0]?.["ATTIO_WEBHOOK_SECRET"]).not.toBe(hooks[0]?.secret);
    expect(Object.keys(wrangler.secretsFiles[0] ?? {}).sort()).toEqual([
      "ADMIN_TOKEN",
      "ATTIO_API_KEY",
      "ATTIO_WEBHOOK_SECRET",
      "RELAY_SECRET",
      "SALESFORCE_CLIENT_ID",
      "SALESFORCE_CLIENT_SECRET",
    ]);
    const subscribed = (await (
      await fetch(`${attio.url}/v2/webhooks`, { headers: { authorization: `Bearer ${attio.apiKey}` } })
    ).json()) as {
      data: { subscriptions: { event_type: string }[] }[];
    };
    expect(subscribed.data[0]?.subscriptions.map((s) => s.event_type)).toContain("record.merged");

    // The External ID field exists on the three objects, as the integration user sees them.
    const org = new SalesforceSetupClient(salesforce.url, salesforce.clientId, salesforce.clientSecret);
    expect(await org.objectsWithField(EXTERNAL_ID_OBJECTS)).toEqual([...EXTERNAL_ID_OBJECTS]);

    // What to do next names the deployed URL, the relay, a dry run and the start.
    const text = log.join("\n");
    expect(text).toContain(`WORKER_URL=${WORKER_URL}`);
    expect(text).toContain(`${WORKER_URL}/api/v1/sync -d '{"dry_run":true}'`);
    expect(text).toContain(`${WORKER_URL}/api/v1/start`);
    // In-process against local stand-ins, the walk-through takes well under a second of its own;
    // the minutes a real one takes are wrangler's uploads and Cloudflare's answers (README).
    expect(seconds).toBeLessThan(30);
  });

  it("changes nothing when run again: no create, no new token, no deploy, the same webhook", async () => {
    const before = wrangler.calls.length;
    const secrets = new Map(staging().secrets);
    const hooks = attio.webhooks.secrets();

    const outcome = await runSetup(["--name", "staging", "--yes", "--create-field"], env, deps());

    const mutations = wrangler.mutationsSince(before);
    expect(mutations).toEqual([]);
    expect(outcome.tokens).toEqual({});
    expect(staging().secrets).toEqual(secrets);
    expect(staging().deploys).toBe(1);
    expect(attio.webhooks.secrets()).toEqual(hooks);
    expect(outcome.results.map((r) => r.result)).toEqual(
      expect.arrayContaining([
        "wrangler.staging.toml unchanged",
        "D1 migrations: up to date",
        `Attio webhook ${hooks[0]?.id} kept`,
        "Salesforce External ID fields: present",
      ]),
    );
  });

  it("runs with nothing but the deployment name once everything is set (no credentials given)", async () => {
    const before = wrangler.calls.length;
    const outcome = await runSetup(["--name", "staging", "--yes"], { CI: "1" }, deps());
    const mutations = wrangler.mutationsSince(before);
    expect(mutations).toEqual([]);
    expect(outcome.results.map((r) => r.result)).toContain(
      "Attio webhook: skipped (ATTIO_API_KEY not given on this run)",
    );
  });

  it("--rotate replaces ADMIN_TOKEN and RELAY_SECRET only, in one secrets upload", async () => {
    const before = wrangler.calls.length;
    const old = new Map(staging().secrets);
    const outcome = await runSetup(["--name", "staging", "--yes", "--rotate"], { CI: "1" }, deps());
    const mutations = wrangler.mutationsSince(before);
    expect(mutations.map((args) => args.slice(0, 2))).toEqual([["secret", "bulk"]]);
    expect(staging().secrets.get("ADMIN_TOKEN")).toBe(outcome.tokens.ADMIN_TOKEN);
    expect(staging().secrets.get("ADMIN_TOKEN")).not.toBe(old.get("ADMIN_TOKEN"));
    expect(staging().secrets.get("ATTIO_API_KEY")).toBe(old.get("ATTIO_API_KEY"));
  });

  it("refuses, naming each missing setting, when a new deployment is not given its credentials", async () => {
    await expect(runSetup(["--name", "production", "--yes"], { CI: "1" }, deps())).rejects.toThrow(
      /SALESFORCE_LOGIN_URL is not given[\s\S]*ATTIO_API_KEY is not set[\s\S]*SALESFORCE_CLIENT_SECRET is not set/,
    );
    expect(wrangler.databases.map((db) => db.name)).toEqual(["attio-sfdc-staging"]);
  });

  it("refuses wrong credentials before creating anything", async () => {
    await expect(
      runSetup(["--name", "production", "--yes"], { ...env, SALESFORCE_CLIENT_SECRET: "wrong" }, deps()),
    ).rejects.toThrow(/Salesforce refused the client credentials token/);
    expect(wrangler.databases.map((db) => db.name)).toEqual(["attio-sfdc-staging"]);
  });
});

describe("npm run attio-webhook", () => {
  it("rotates the webhook with no gap: the next secret is accepted before the old webhook goes", async () => {
    const [old] = attio.webhooks.secrets();
    const before = wrangler.calls.length;

    expect(await runAttioWebhook(["rotate", "--name", "staging"], env, deps())).toBe(true);

    const [now, ...others] = attio.webhooks.secrets();
    expect(others).toEqual([]);
    expect(now?.id).not.toBe(old?.id);
    expect(now?.target_url).toBe(`${WORKER_URL}/webhooks/attio`);
    expect(staging().secrets.get("ATTIO_WEBHOOK_SECRET")).toBe(now?.secret);
    expect(staging().secrets.has("ATTIO_WEBHOOK_SECRET_NEXT")).toBe(false);
    expect(wrangler.calls.slice(before).map((args) => args.slice(0, 3))).toEqual([
      ["secret", "put", "ATTIO_WEBHOOK_SECRET_NEXT"],
      ["secret", "put", "ATTIO_WEBHOOK_SECRET"],
      ["secret", "delete", "ATTIO_WEBHOOK_SECRET_NEXT"],
    ]);
  });

  it("verifies a webhook against a Worker that answers, and reports what fails", async () => {
    const worker = await startServer(() => ({ status: 401, body: { error: { code: "unauthorized" } } }));
    try {
      const local = ["--name", "staging", "--worker-url", worker.url];
      const lines: string[] = [];
      const quiet = { ...deps(), log: (line: string) => lines.push(line) };
      expect(await runAttioWebhook(["verify", ...local], env, quiet)).toBe(false);
      expect(lines.join("\n")).toContain(`no Attio webhook targets ${worker.url}/webhooks/attio`);

      expect(await runAttioWebhook(["register", ...local], env, quiet)).toBe(true);
      lines.length = 0;
      expect(await runAttioWebhook(["verify", ...local], env, quiet)).toBe(true);
      expect(lines.filter((line) => line.includes("FAIL"))).toEqual([]);
      expect(lines.join("\n")).toContain("refuses an unsigned delivery (401)");
    } finally {
      await worker.close();
    }
  });
});

describe("npm run upgrade", () => {
  it("regenerates the configuration from the pulled wrangler.toml, applies migrations, then deploys", async () => {
    const base = await readFile(join(root, "wrangler.toml"), "utf8");
    await writeFile(join(root, "wrangler.toml"), base.replace('LOG_LEVEL = "info"', 'LOG_LEVEL = "warn"'));
    const before = wrangler.calls.length;

    await runUpgrade(["--name", "staging"], deps());

    expect(wrangler.calls.slice(before).map((args) => args.slice(0, 3))).toEqual([
      ["d1", "migrations", "apply"],
      ["deploy", "--config", join(root, "wrangler.staging.toml")],
    ]);
    const config = parse(await readFile(join(root, "wrangler.staging.toml"), "utf8")) as Toml;
    expect(config["vars"]).toMatchObject({ LOG_LEVEL: "warn", SALESFORCE_LOGIN_URL: salesforce.url });
    expect(config["d1_databases"][0]["database_id"]).toBe(wrangler.databases[0]?.uuid);
  });

  it("does not deploy when the migrations fail", async () => {
    const calls: string[][] = [];
    const failing = async (args: string[]) => {
      calls.push(args);
      return args[0] === "d1"
        ? { code: 1, stdout: "", stderr: "✘ [ERROR] Migration 0009_x.sql failed" }
        : { code: 0, stdout: "", stderr: "" };
    };
    await expect(runUpgrade(["--name", "staging"], { ...deps(), run: failing })).rejects.toThrow(
      /Migration 0009_x.sql failed/,
    );
    expect(calls.map((args) => args[0])).toEqual(["d1"]);
  });
});

describe("a second deployment in the same account, set up interactively", () => {
  it("asks only for what a person supplies, and names every resource after itself", async () => {
    const stagingDeploys = staging().deploys;
    const asked: string[] = [];
    const answers: Record<string, string> = {
      "Attio API key": attio.apiKey,
      "Salesforce My Domain URL": salesforce.url,
      "consumer key": salesforce.clientId,
      "consumer secret": salesforce.clientSecret,
    };
    const prompt = {
      ask: async (question: string) => {
        asked.push(question);
        const key = Object.keys(answers).find((k) => question.includes(k));
        if (!key) throw new Error(`unexpected question: ${question}`);
        return answers[key] ?? "";
      },
      confirm: async (question: string) => {
        asked.push(question);
        return true;
      },
    };
    const outcome = await runSetup(["--name", "production"], { ATTIO_API_URL: attio.url }, { ...deps(), prompt });

    expect(asked).toHaveLength(5);
    expect(asked[4]).toMatch(/Attio_Record_Id__c/);
    expect(wrangler.databases.map((db) => db.name)).toEqual(["attio-sfdc-staging", "attio-sfdc-production"]);
    expect(wrangler.queues.has("attio-sfdc-production-sync-dlq")).toBe(true);
    expect(wrangler.workers.get("attio-sfdc-production")?.secrets.get("ADMIN_TOKEN")).toBe(outcome.tokens.ADMIN_TOKEN);
    expect(outcome.tokens.ADMIN_TOKEN).not.toBe(staging().secrets.get("ADMIN_TOKEN"));
    expect(staging().deploys).toBe(stagingDeploys);
    expect(attio.webhooks.secrets().map((hook) => hook.target_url)).toContain(
      "https://attio-sfdc-production.acme.workers.dev/webhooks/attio",
    );

    // Run again, interactively: the Worker has every secret, so nothing is asked.
    asked.length = 0;
    await runSetup(["--name", "production"], { ATTIO_API_URL: attio.url }, { ...deps(), prompt });
    expect(asked).toEqual([]);
  });
});

describe("the External ID field when the org already has a plain one", () => {
  it("creates it where it is missing, warns where it is not an External ID, and still ends with the tokens", async () => {
    const org = await startSalesforceEmulator({ port: 0, seed: 9 });
    try {
      await createCustomField(org, "Account.Attio_Record_Id__c", { type: "Text", length: 36 });
      const lines: string[] = [];
      const outcome = await runSetup(
        ["--name", "fields", "--yes", "--create-field"],
        {
          ...env,
          SALESFORCE_LOGIN_URL: org.url,
          SALESFORCE_CLIENT_ID: org.clientId,
          SALESFORCE_CLIENT_SECRET: org.clientSecret,
        },
        { ...deps(), log: (line: string) => lines.push(line) },
      );
      expect(outcome.results.at(-1)?.result).toBe("created Attio_Record_Id__c on Contact, Opportunity");
      expect(outcome.warnings).toEqual([expect.stringMatching(/exists on Account but is not an External ID/)]);
      expect(lines.join("\n")).toContain(`ADMIN_TOKEN=${outcome.tokens.ADMIN_TOKEN}`);
      const client = new SalesforceSetupClient(org.url, org.clientId, org.clientSecret);
      expect(await client.fieldStates(EXTERNAL_ID_OBJECTS)).toEqual({
        Account: "not-external-id",
        Contact: "external-id",
        Opportunity: "external-id",
      });
    } finally {
      await org.close();
    }
  });
});
