import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { type Unstable_DevWorker, unstable_dev } from "wrangler";
import { createAttribute } from "./attio/provision.ts";
import { type AttioEmulator, startAttioEmulator } from "./attio/server.ts";
import { type AttioEndpoint, startAttioEmulatorThread } from "./attio/thread.ts";
import { createCustomField } from "./salesforce/provision.ts";
import { type SalesforceEmulator, startSalesforceEmulator } from "./salesforce/server.ts";
import { postAdmin, postJson, SANDBOX_ADMIN_TOKEN, SANDBOX_RELAY_SECRET } from "./shared/local.ts";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");

export { SANDBOX_ADMIN_TOKEN, SANDBOX_RELAY_SECRET };

/** The record events the Worker subscribes to in Attio. */
const ATTIO_EVENTS = ["record.created", "record.updated", "record.deleted", "record.merged"];

export interface StackOptions {
  seed?: number;
  /** Ports; 0 (the default) picks free ones. */
  workerPort?: number;
  attioPort?: number;
  salesforcePort?: number;
  /** Worker log level (`silent` in tests). */
  logLevel?: "debug" | "info" | "warn" | "error" | "silent";
  /** Extra Worker vars, e.g. CONFLICT_RESOLUTION. */
  vars?: Record<string, string>;
  /** Milliseconds the emulators wait before retrying a failed delivery. */
  retryBaseMs?: number;
  /**
   * Where wrangler keeps the Worker's local D1/KV/Queues/DOs. Emptied at start (the emulators start
   * empty too, so older pairs would point at records that no longer exist) and kept after stop, for
   * inspection. Without it: a fresh temporary directory, removed on stop.
   */
  stateDir?: string;
  /**
   * `instant` (the default): every queue delivers at once (`max_batch_timeout = 0`), so a change
   * reaches the consumer without waiting up to 5 s. `production`: wrangler.toml's own batching, as
   * deployed (benchmarks measure with it: batches of up to 100 live messages cost far less than 100
   * batches of one).
   */
  queueBatching?: "instant" | "production";
  /**
   * `max_batch_timeout` (seconds) of named queues' consumers, over what `queueBatching` chose, e.g.
   * `{ "attio-sfdc-sync": 1 }`: benchmarks compare settings without editing wrangler.toml.
   */
  batchTimeouts?: Record<string, number>;
  /**
   * `max_retries` of the sync and job queues' consumers instead of wrangler.toml's: the chaos suite
   * shrinks the retry budget (5 s, 10 s, ...) so that an outage a few tens of seconds long outlasts
   * it, as an outage of hours outlasts the deployed one.
   */
  maxRetries?: number;
  /**
   * Runs the Attio emulator on a thread of its own (benchmarks), so pauses of this process do not
   * bunch the requests it counts against Attio's one-second windows (see attio/thread.ts).
   */
  attioThread?: boolean;
  /** Port of the Worker's V8 inspector (DevTools protocol), for CPU profiles; none by default. */
  inspectorPort?: number;
  /**
   * Custom fields to add through the CRMs' own APIs before the Worker starts, as an admin would:
   * `none` (the default) leaves a new workspace and a new org as they are; `sample` adds a deal
   * close date in Attio and Contact.LinkedIn__c in Salesforce (what `npm start` shows).
   */
  customFields?: "none" | "sample";
  /**
   * `true` (the default): the deployment is started (POST /api/v1/start) once the Worker is up, as
   * the tests and benchmarks expect of it. `false` leaves it in `setup`, holding every change and
   * writing nothing until the caller starts it (`startDeployment`), as `npm start` does after seeding.
   */
  start?: boolean;
  /**
   * Emulators already running (the ones `npm run setup` was walked through against): the stack uses
   * them instead of starting its own, points the Salesforce emulator's change events at its Worker,
   * and closes them on stop. Without it: new emulators, seeded with `seed`.
   */
  emulators?: { attio: AttioEmulator; salesforce: SalesforceEmulator };
  /**
   * The Worker's secrets, as setup generated them, instead of the sandbox's fixed ones. With
   * `attioWebhookSecret` the stack registers no webhook of its own: the caller's webhook (pointed at
   * this Worker) signs with that secret.
   */
  secrets?: { adminToken: string; relaySecret: string; attioWebhookSecret?: string };
}

/** What POST /api/v1/start answers (docs/API.md). */
export interface StartAnswer {
  mode: string;
  previous_mode: string;
  changed: boolean;
  delivery: { state: string; sent: number; left: number; error?: string } | null;
  first_catch_up:
    | {
        mapping: string;
        salesforce: { ok: true; object: string; changed_since: string; records: number } | { ok: false; error: string };
        attio:
          | { ok: true; object: string; records: number; exact: boolean; linked: number }
          | { ok: false; error: string };
      }[]
    | null;
}

/** Starts the sandbox's deployment: it leaves `setup` and delivers what it held. */
export function startDeployment(stack: Pick<Stack, "workerUrl" | "adminToken">): Promise<StartAnswer> {
  return postAdmin<StartAnswer>(`${stack.workerUrl}/api/v1/start`, stack.adminToken);
}

/** The custom fields `customFields: "sample"` adds (also listed by `npm start`). */
export const SAMPLE_CUSTOM_FIELDS = [
  { side: "attio", name: "deals.expected_close_date", type: "date" },
  { side: "salesforce", name: "Contact.LinkedIn__c", type: "Url" },
] as const;

/** Both emulators and the Worker (wrangler dev, local D1/KV/Queues/DOs), wired to each other. */
export interface Stack {
  /** Reached over HTTP only (`url`, with `apiKey`); `stallMs` on its own thread. */
  attio: Pick<AttioEndpoint, "url" | "apiKey" | "close"> & Partial<Pick<AttioEndpoint, "stallMs">>;
  salesforce: SalesforceEmulator;
  worker: Unstable_DevWorker;
  workerUrl: string;
  adminToken: string;
  /** The Worker's local storage (see `StackOptions.stateDir`). */
  stateDir: string;
  /** The Worker's inspector port, when `StackOptions.inspectorPort` asked for one. */
  inspectorPort?: number;
  /**
   * Stops the Worker (if `worker.stop()` has not already) and starts a new one on the same port,
   * state directory and vars: what a deploy or an evicted isolate looks like to queued work.
   */
  restartWorker(): Promise<void>;
  /** Stops the emulators, then the Worker (wrangler and its workerd). Safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Starts the sandbox stack: the Attio and Salesforce emulators on 127.0.0.1, a webhook in the Attio
 * emulator pointing at the Worker, the Salesforce emulator's change events relayed to the Worker,
 * and the Worker itself under wrangler dev with fresh local storage and its D1 migrations applied.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const workerPort = options.workerPort || (await freePort());
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  const attioOptions = {
    port: options.attioPort ?? 0,
    seed: options.seed ?? 1,
    retryBaseMs: options.retryBaseMs ?? 200,
  };
  const adminToken = options.secrets?.adminToken ?? SANDBOX_ADMIN_TOKEN;
  const relay = {
    url: `${workerUrl}/webhooks/salesforce`,
    secret: options.secrets?.relaySecret ?? SANDBOX_RELAY_SECRET,
  };
  const attio = options.emulators
    ? options.emulators.attio
    : options.attioThread
      ? await startAttioEmulatorThread(attioOptions)
      : await startAttioEmulator(attioOptions);
  let salesforce: SalesforceEmulator;
  if (options.emulators) {
    salesforce = options.emulators.salesforce;
    salesforce.cdc.target = relay;
  } else {
    salesforce = await startSalesforceEmulator({
      port: options.salesforcePort ?? 0,
      seed: options.seed ?? 1,
      relay,
      retryBaseMs: options.retryBaseMs ?? 200,
    });
  }
  const state = options.stateDir ? resolve(options.stateDir) : await mkdtemp(join(tmpdir(), "attio-sfdc-sandbox-"));
  const cleanUp = () => (options.stateDir ? Promise.resolve() : rm(state, { recursive: true, force: true }));
  try {
    if (options.stateDir) {
      await rm(state, { recursive: true, force: true });
      await mkdir(state, { recursive: true });
    }
    if (options.customFields === "sample") await addSampleCustomFields(attio, salesforce);
    const webhookSecret =
      options.secrets?.attioWebhookSecret ?? (await registerWebhook(attio, `${workerUrl}/webhooks/attio`));
    const config = await writeSandboxConfig(
      state,
      options.queueBatching ?? "instant",
      options.batchTimeouts ?? {},
      options.maxRetries,
    );
    await run(
      process.execPath,
      [wranglerBin(), "d1", "migrations", "apply", "DB", "--local", "--config", config, "--persist-to", state],
      { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } },
    );
    const launch = async (): Promise<Unstable_DevWorker> => {
      const dev = await unstable_dev(join(ROOT, "src/index.ts"), {
        config,
        ip: "127.0.0.1",
        port: workerPort,
        persistTo: state,
        ...(options.inspectorPort ? { inspect: true, inspectorPort: options.inspectorPort } : {}),
        // Worker logs reach the console only when asked for (`logLevel` other than silent).
        logLevel: options.logLevel && options.logLevel !== "silent" ? "log" : "none",
        vars: {
          ATTIO_API_URL: attio.url,
          ATTIO_API_KEY: attio.apiKey,
          ATTIO_WEBHOOK_SECRET: webhookSecret,
          SALESFORCE_LOGIN_URL: salesforce.url,
          SALESFORCE_CLIENT_ID: salesforce.clientId,
          SALESFORCE_CLIENT_SECRET: salesforce.clientSecret,
          RELAY_SECRET: relay.secret,
          ADMIN_TOKEN: adminToken,
          LOG_LEVEL: options.logLevel ?? "silent",
          // The Worker is told the queues' max_retries it runs with (config/env.ts QUEUE_MAX_RETRIES).
          ...(options.maxRetries !== undefined ? { QUEUE_MAX_RETRIES: String(options.maxRetries) } : {}),
          ...options.vars,
        },
        experimental: { disableExperimentalWarning: true, testScheduled: true, disableDevRegistry: true },
      });
      // Stopping twice (the caller, then restartWorker or stop) tears down once.
      let stopped: Promise<void> | undefined;
      return { ...dev, stop: () => (stopped ??= dev.stop()) };
    };
    let worker = await launch();
    // A new deployment holds every change until started; the mode is kept in the state directory.
    if (options.start ?? true) {
      await startDeployment({ workerUrl, adminToken }).catch(async (err: unknown) => {
        await worker.stop();
        throw err;
      });
    }
    let stopping: Promise<void> | undefined;
    return {
      attio,
      salesforce,
      get worker() {
        return worker;
      },
      workerUrl,
      adminToken,
      stateDir: state,
      ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
      async restartWorker() {
        await worker.stop();
        worker = await launch();
      },
      stop() {
        stopping ??= (async () => {
          // Emulators first, so no delivery reaches a Worker that is going away.
          await Promise.all([attio.close(), salesforce.close()]);
          await worker.stop();
          await cleanUp();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await Promise.all([attio.close(), salesforce.close()]);
    await cleanUp();
    throw err;
  }
}

/** What seeding the sample dataset loaded: records per object on each side. */
export interface SeedResult {
  attio: { companies: number; people: number; deals: number };
  salesforce: { created: number; counts: Record<string, number> };
}

/**
 * Loads fixtures/sandbox/sample-dataset.json into both emulators with `notify`, so each seeded
 * record sends its webhook / change event as if it had just been created: that is what makes the
 * Worker's initial sync run, matching the records present on both sides instead of duplicating them.
 */
export async function seedSample(stack: Pick<Stack, "attio" | "salesforce">): Promise<SeedResult> {
  const [attio, salesforce] = await Promise.all([
    postJson<SeedResult["attio"]>(`${stack.attio.url}/__control/seed`, { dataset: "sample", notify: true }),
    postJson<SeedResult["salesforce"]>(`${stack.salesforce.url}/__control/seed`, { dataset: "sample", notify: true }),
  ]);
  return { attio, salesforce };
}

/** SAMPLE_CUSTOM_FIELDS, created through Attio's attribute API and Salesforce's Tooling API. */
async function addSampleCustomFields(attio: Stack["attio"], salesforce: SalesforceEmulator): Promise<void> {
  await createAttribute(attio.url, attio.apiKey, "deals", {
    title: "Expected close date",
    api_slug: "expected_close_date",
    type: "date",
  });
  await createCustomField(salesforce, "Contact.LinkedIn__c", { label: "LinkedIn", type: "Url" });
}

/** Creates the Worker's webhook in the Attio emulator, as a user would in Attio; returns its secret. */
async function registerWebhook(attio: Stack["attio"], targetUrl: string): Promise<string> {
  const response = await fetch(`${attio.url}/v2/webhooks`, {
    method: "POST",
    headers: { authorization: `Bearer ${attio.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      data: { target_url: targetUrl, subscriptions: ATTIO_EVENTS.map((event_type) => ({ event_type, filter: null })) },
    }),
  });
  const body = (await response.json()) as { data?: { secret?: string } };
  if (!response.ok || !body.data?.secret) throw new Error(`webhook registration failed: ${JSON.stringify(body)}`);
  return body.data.secret;
}

/**
 * wrangler.toml for the sandbox: the project's own, with absolute paths and, unless `production`
 * batching is asked for, the queue batch timeout at its minimum, so a change reaches the consumer at
 * once instead of after up to 5 seconds.
 */
async function writeSandboxConfig(
  dir: string,
  batching: "instant" | "production",
  timeouts: Record<string, number>,
  maxRetries: number | undefined,
): Promise<string> {
  const original = await readFile(join(ROOT, "wrangler.toml"), "utf8");
  const paths = original
    .replace(/^main = .*$/m, `main = "${join(ROOT, "src/index.ts")}"`)
    .replace(/^migrations_dir = .*$/m, `migrations_dir = "${join(ROOT, "migrations")}"`);
  let config =
    batching === "production" ? paths : paths.replace(/^max_batch_timeout = [\d.]+/gm, "max_batch_timeout = 0");
  for (const [queue, seconds] of Object.entries(timeouts)) {
    let found = false;
    config = config
      .split(/^(?=\[)/m)
      .map((table) => {
        if (!table.startsWith("[[queues.consumers]]") || !table.includes(`queue = "${queue}"`)) return table;
        found = true;
        return table.replace(/^max_batch_timeout = [\d.]+/m, `max_batch_timeout = ${seconds}`);
      })
      .join("");
    if (!found) throw new Error(`wrangler.toml has no consumer of ${queue}`);
  }
  if (maxRetries !== undefined) {
    // The dead-letter queue's own consumer keeps its setting: only the queues that retry sync work.
    config = config
      .split(/^(?=\[)/m)
      .map((table) =>
        table.startsWith("[[queues.consumers]]") && /dead_letter_queue = /.test(table)
          ? table.replace(/^max_retries = \d+/m, `max_retries = ${maxRetries}`)
          : table,
      )
      .join("");
  }
  const path = join(dir, "wrangler.toml");
  await writeFile(path, config);
  return path;
}

function wranglerBin(): string {
  return join(ROOT, "node_modules/wrangler/bin/wrangler.js");
}

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port")),
      );
    });
  });
}
