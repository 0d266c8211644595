import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../../scripts/cli/main.ts";
import { type AttioEmulator, startAttioEmulator } from "../../../scripts/sandbox/attio/server.ts";
import { type SalesforceEmulator, startSalesforceEmulator } from "../../../scripts/sandbox/salesforce/server.ts";
import { type Stack, startStack } from "../../../scripts/sandbox/stack.ts";
import type { SetupOutcome } from "../../../scripts/setup/execute.ts";
import { runSetup } from "../../../scripts/setup/run.ts";
import { EXTERNAL_ID_OBJECTS, SalesforceSetupClient } from "../../../scripts/setup/salesforce.ts";
import { FakeWrangler } from "./fake-wrangler.ts";

/**
 * The walk a new user makes, from clone to the first synced record, timed as they would see it
 * (npm install and other downloads excluded): `npm run setup -- --yes` (wrangler recorded, so
 * Cloudflare's own answers are not in the figure), the deploy (here: the real Worker under wrangler
 * dev, with the tokens and secrets setup generated), `attio-sfdc doctor`, then status, start, a dry
 * run and a real sync until the record the workspace already held is a Contact in Salesforce.
 * Attio and Salesforce are the sandbox's emulators: a workspace with one person, and a new org.
 */
const REPO = resolve(import.meta.dirname, "../../..");
const EMAIL = "ada.walk@first-record.example";

let attio: AttioEmulator;
let salesforce: SalesforceEmulator;
let root: string;
let stack: Stack | undefined;
let personId = "";
const wrangler = new FakeWrangler();
const timings: [string, number][] = [];
const walkStarted = performance.now();

/** Runs `step`, recording how long it took under `label`. */
async function timed<T>(label: string, step: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await step();
  } finally {
    timings.push([label, (performance.now() - started) / 1000]);
  }
}

beforeAll(async () => {
  attio = await startAttioEmulator({ port: 0, seed: 11, retryBaseMs: 200 });
  salesforce = await startSalesforceEmulator({ port: 0, seed: 11, retryBaseMs: 200 });
  root = await mkdtemp(join(tmpdir(), "attio-sfdc-walk-"));
  await copyFile(join(REPO, "wrangler.toml"), join(root, "wrangler.toml"));
  // The workspace the user brings already holds a person; the walk ends when it is in Salesforce.
  const created = await fetch(`${attio.url}/v2/objects/people/records`, {
    method: "POST",
    headers: { authorization: `Bearer ${attio.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      data: {
        values: { name: [{ first_name: "Ada", last_name: "Walk", full_name: "Ada Walk" }], email_addresses: [EMAIL] },
      },
    }),
  });
  expect(created.status, await created.clone().text()).toBe(200);
  personId = ((await created.json()) as { data: { id: { record_id: string } } }).data.id.record_id;
});

afterAll(async () => {
  // The stack owns the emulators once started; before that they are closed here.
  if (stack) await stack.stop();
  else await Promise.all([attio?.close(), salesforce?.close()]);
  if (root) await rm(root, { recursive: true, force: true });
});

interface Run {
  code: number;
  out: string;
  err: string;
}

/** `attio-sfdc <args>` through the same `main` the bin runs, against the local Worker. */
async function cli(args: string[]): Promise<Run> {
  if (!stack) throw new Error("the Worker is not running");
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    args,
    { ATTIO_SFDC_URL: stack.workerUrl, ATTIO_SFDC_TOKEN: outcome.tokens.ADMIN_TOKEN ?? "" },
    {
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      readText: (path) => import("node:fs/promises").then((fs) => fs.readFile(path, "utf8")),
      sleep: (ms) => new Promise((done) => setTimeout(done, Math.min(ms, 200))),
    },
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

async function contacts(): Promise<Record<string, unknown>[]> {
  const dump = (await (await fetch(`${salesforce.url}/__control/state`)).json()) as {
    records: { Contact?: Record<string, unknown>[] };
  };
  return dump.records.Contact ?? [];
}

let outcome: SetupOutcome;

describe("from clone to the first synced record, as a user walks it", () => {
  it("1. npm run setup -- --name walk --yes --create-field: tokens, webhook, External ID fields", async () => {
    const env = {
      CI: "1",
      ATTIO_API_KEY: attio.apiKey,
      ATTIO_API_URL: attio.url,
      SALESFORCE_LOGIN_URL: salesforce.url,
      SALESFORCE_CLIENT_ID: salesforce.clientId,
      SALESFORCE_CLIENT_SECRET: salesforce.clientSecret,
    };
    outcome = await timed("setup (wrangler recorded)", () =>
      runSetup(["--name", "walk", "--yes", "--create-field"], env, { run: wrangler.run, root, log: () => {} }),
    );
    expect(outcome.tokens.ADMIN_TOKEN).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(outcome.tokens.RELAY_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const worker = wrangler.workers.get("attio-sfdc-walk");
    expect(worker?.deploys).toBe(1);
    expect(attio.webhooks.secrets()).toEqual([
      {
        id: expect.any(String),
        target_url: "https://attio-sfdc-walk.acme.workers.dev/webhooks/attio",
        secret: worker?.secrets.get("ATTIO_WEBHOOK_SECRET"),
      },
    ]);
    const org = new SalesforceSetupClient(salesforce.url, salesforce.clientId, salesforce.clientSecret);
    expect(await org.objectsWithField(EXTERNAL_ID_OBJECTS)).toEqual([...EXTERNAL_ID_OBJECTS]);
  });

  it("2. the deploy's stand-in: the real Worker under wrangler dev with setup's secrets", async () => {
    const secrets = wrangler.workers.get("attio-sfdc-walk")?.secrets;
    const [hook] = attio.webhooks.secrets();
    if (!secrets || !hook) throw new Error("setup did not deploy or register the webhook");
    stack = await timed("deploy stand-in (wrangler dev start)", () =>
      startStack({
        emulators: { attio, salesforce },
        secrets: {
          adminToken: secrets.get("ADMIN_TOKEN") ?? "",
          relaySecret: secrets.get("RELAY_SECRET") ?? "",
          attioWebhookSecret: hook.secret,
        },
        start: false,
      }),
    );
    // Setup registered the webhook on the URL a real deploy has (workers.dev); this stand-in
    // listens on 127.0.0.1, so the webhook is pointed there through Attio's own API, as
    // `npm run attio-webhook -- register --worker-url …` would, keeping its id and its secret.
    const repointed = await fetch(`${attio.url}/v2/webhooks/${hook.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${attio.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ data: { target_url: `${stack.workerUrl}/webhooks/attio` } }),
    });
    expect(repointed.status).toBe(200);
    expect(attio.webhooks.secrets()).toEqual([{ ...hook, target_url: `${stack.workerUrl}/webhooks/attio` }]);
  }, 60_000);

  it("3. attio-sfdc doctor: what can pass here passes; the relay and the cron have not run yet", async () => {
    const run = await timed("doctor", () => cli(["doctor", "--json"]));
    const body = JSON.parse(run.out) as { checks: { id: string; status: string; message: string }[] };
    const status = Object.fromEntries(body.checks.map((c) => [c.id, c.status]));
    expect(status).toEqual({
      attio_key: "pass",
      attio_scopes: "pass",
      attio_webhook: "pass",
      salesforce_token: "pass",
      salesforce_api_version: "pass",
      salesforce_access: "pass",
      salesforce_cdc: "pass",
      salesforce_external_id: "pass",
      // A new deployment: no change event relayed yet, and no cron run yet (wrangler dev runs the
      // cron only when asked; a deployed Worker's first run is within 5 minutes).
      relay_recent: "warn",
      cron_recent: "fail",
    });
    const message = (id: string) => body.checks.find((c) => c.id === id)?.message;
    expect(message("relay_recent")).toBe("No change event from the relay in the last 7 days (or ever)");
    expect(message("cron_recent")).toBe("The cron has never run");
    // A failed check is exit code 1, as `npm run doctor` has it.
    expect(run.code).toBe(1);
  });

  it("4. status, sync --dry-run --wait, start, sync --wait: the workspace's person is a Contact", async () => {
    await timed("status, dry run, start, first synced record", async () => {
      const status = await cli(["status"]);
      expect(status.code, status.err).toBe(0);
      expect(status.out).toMatch(/^mode +setup since \S+ \(new deployment\)$/m);

      const dry = await cli(["sync", "--dry-run", "--objects", "people", "--wait"]);
      expect(dry.code, dry.err).toBe(0);
      expect(dry.out).toMatch(/^state +done$/m);
      expect(dry.out).toMatch(/^people +attio +\S+ +create +new +salesforce: /m);
      expect(await contacts()).toEqual([]);

      const start = await cli(["start"]);
      expect(start.code, start.err).toBe(0);
      expect(start.out).toMatch(/^setup -> running$/m);

      for (let i = 0; i < 100 && !(await contacts()).some((c) => c["Email"] === EMAIL); i++) {
        if (i === 0) {
          const sync = await cli(["sync", "--objects", "people", "--wait"]);
          expect(sync.code, sync.err).toBe(0);
        }
        await new Promise((done) => setTimeout(done, 200));
      }
    });
    const contact = (await contacts()).find((c) => c["Email"] === EMAIL);
    expect(contact).toMatchObject({ FirstName: "Ada", LastName: "Walk", Email: EMAIL });
    // Created as an upsert on the External ID field setup made: keyed by the Attio record.
    expect(contact?.["Attio_Record_Id__c"]).toBe(personId);
    timings.push(["total, clone to first synced record", (performance.now() - walkStarted) / 1000]);
    // biome-ignore lint/suspicious/noConsole: the walk-through's figures are this test's report, quoted in README.
    console.log(
      `walk-through (seconds):\n${timings.map(([label, s]) => `  ${label.padEnd(44)} ${s.toFixed(2)}`).join("\n")}`,
    );
  }, 60_000);

  it("5. a second run of setup changes nothing (after the walk: not in its figures)", async () => {
    const before = wrangler.calls.length;
    const hooks = attio.webhooks.secrets();
    const again = await runSetup(
      ["--name", "walk", "--yes", "--create-field"],
      { CI: "1" },
      {
        run: wrangler.run,
        root,
        log: () => {},
      },
    );
    expect(wrangler.mutationsSince(before)).toEqual([]);
    expect(again.tokens).toEqual({});
    expect(attio.webhooks.secrets()).toEqual(hooks);
  });
});
