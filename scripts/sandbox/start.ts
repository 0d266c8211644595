import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadSampleDataset } from "./shared/dataset.ts";
import { getJson, PORT_ENV, resolvePorts } from "./shared/local.ts";
import {
  SAMPLE_CUSTOM_FIELDS,
  type Stack,
  type StartAnswer,
  seedSample,
  startDeployment,
  startStack,
} from "./stack.ts";
import {
  type AttioStatsJson,
  describeInitialSync,
  InitialSyncTracker,
  initialSyncTargets,
  problemLines,
  renderLine,
  renderScreen,
  type SalesforceStatsJson,
  type Snapshot,
  schemaLine,
  type WorkerStatus,
} from "./view.ts";

/**
 * `npm start`: the whole sandbox on this machine. Both emulators and the Worker (wrangler dev, local
 * D1/KV/Queues/DOs) wired to each other, the sample dataset seeded on both sides while the new
 * deployment holds every change (mode `setup`), the deployment started (POST /api/v1/start: what
 * it held is delivered, which is the initial sync), and a live view of what the sync does until Ctrl-C.
 */
const USAGE = `usage: npm start [-- options]
  --worker-port N      Worker (wrangler dev)          default 8787, env ${PORT_ENV.worker}
  --attio-port N       Attio emulator                 default 8788, env ${PORT_ENV.attio}
  --salesforce-port N  Salesforce emulator            default 8789, env ${PORT_ENV.salesforce}
  --state-dir DIR      Worker's local D1/KV/Queues/DOs, emptied at start
                       default .sandbox/state, env SANDBOX_STATE_DIR
  --seed N             emulators' id/random seed      default 1, env SANDBOX_SEED
  --plain              one line per change instead of redrawing the screen (the default when
                       stdout is not a terminal)
Ctrl-C stops everything it started.`;

const REFRESH_MS = 500;
/** In plain mode, a line is printed when something changed, and at least this often. */
const HEARTBEAT_MS = 15_000;
/** After this, the view says the initial sync is taking long (and keeps waiting). */
const SLOW_SYNC_MS = 120_000;
/** Stopping wrangler, workerd and the emulators must not take longer than this. */
const STOP_TIMEOUT_MS = 20_000;

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

const ROOT = resolve(import.meta.dirname, "../..");

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      "worker-port": { type: "string" },
      "attio-port": { type: "string" },
      "salesforce-port": { type: "string" },
      "state-dir": { type: "string" },
      seed: { type: "string" },
      plain: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const ports = resolvePorts({
    worker: values["worker-port"],
    attio: values["attio-port"],
    salesforce: values["salesforce-port"],
  });
  const seed = Number(values.seed ?? process.env["SANDBOX_SEED"] ?? 1);
  if (!Number.isInteger(seed)) throw new Error(`invalid seed "${values.seed ?? process.env["SANDBOX_SEED"]}"`);
  const stateDir = resolve(ROOT, values["state-dir"] ?? process.env["SANDBOX_STATE_DIR"] ?? ".sandbox/state");
  const tty = process.stdout.isTTY === true && !values.plain;

  let stack: Stack | undefined;
  let interrupted = false;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolveFinish) => {
    finish = resolveFinish;
  });
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    // During startup the stack is stopped as soon as startStack returns (below).
    if (stack) finish(0);
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);

  console.log(
    `Starting the sandbox: Attio emulator on ${ports.attio}, Salesforce emulator on ${ports.salesforce}, Worker on ${ports.worker} ...`,
  );
  const startedAt = Date.now();
  try {
    stack = await startStack({
      seed,
      workerPort: ports.worker,
      attioPort: ports.attio,
      salesforcePort: ports.salesforce,
      stateDir,
      logLevel: "silent",
      customFields: "sample",
      // Started below, once seeded: the view shows what a new deployment holds and what starting it does.
      start: false,
    });
  } catch (err) {
    if (interrupted) return 0;
    throw err;
  }
  const running = stack;
  // Miniflare (under wrangler) installs its own handlers that kill workerd and exit with 130 at once;
  // this program stops the Worker and the emulators itself, in order, and then exits 0.
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal))
      if (listener !== onSignal) process.removeListener(signal, listener);
  }
  if (interrupted) return stopStack(running, tty);

  console.log(
    `Stack up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; seeding the sample dataset on both sides.`,
  );
  const dataset = loadSampleDataset();
  const targets = initialSyncTargets(dataset);
  const seeded = await seedSample(running);
  console.log(
    `Seeded Attio (${seeded.attio.companies} companies, ${seeded.attio.people} people, ${seeded.attio.deals} deals) and Salesforce (${seeded.salesforce.created} records); the new deployment holds their changes (mode setup).`,
  );
  for (const line of describeStart(await startDeployment(running))) console.log(line);

  const customFields = SAMPLE_CUSTOM_FIELDS.map((f) => `${f.name} (${f.side === "attio" ? "Attio" : "Salesforce"})`);
  const syncStartedAt = Date.now();
  const initialSync = new InitialSyncTracker(targets, syncStartedAt);
  let slowReported = false;
  let lastLine = "";
  let lastProblems = "";
  let lastPrintAt = 0;
  let drawing = false;
  if (tty) process.stdout.write("\x1b[?25l\x1b[2J\x1b[H");

  const tick = async () => {
    if (drawing || interrupted) return;
    drawing = true;
    try {
      const snapshot = await takeSnapshot(running);
      if (interrupted) return;
      const now = Date.now();
      const wasRunning = initialSync.current.state === "running";
      const result = initialSync.observe(snapshot, now);
      const justFinished = wasRunning && result.state !== "running";
      if (tty) {
        const lines = renderScreen(snapshot, targets, {
          workerUrl: running.workerUrl,
          attioUrl: running.attio.url,
          salesforceUrl: running.salesforce.url,
          stateDir: running.stateDir,
          initialSync: result,
          elapsedMs: now - syncStartedAt,
          customFields,
        });
        process.stdout.write(`\x1b[H${lines.map((line) => `${line}\x1b[K`).join("\n")}\n\x1b[J`);
        return;
      }
      if (justFinished) console.log(describeInitialSync(result, snapshot.status, targets));
      const problems = problemLines(snapshot.status).join("\n");
      if (problems !== lastProblems) {
        console.log(problems);
        lastProblems = problems;
      }
      if (result.state === "running" && !slowReported && now - syncStartedAt > SLOW_SYNC_MS) {
        slowReported = true;
        console.log(`initial sync not finished after ${SLOW_SYNC_MS / 1000} s; still waiting (see failures)`);
      }
      const line = renderLine(snapshot, targets, result);
      if (line !== lastLine || now - lastPrintAt >= HEARTBEAT_MS) {
        console.log(`${new Date(now).toISOString().slice(11, 19)} ${line}`);
        lastLine = line;
        lastPrintAt = now;
      }
    } finally {
      drawing = false;
    }
  };
  if (!tty) {
    console.log(`Worker      ${running.workerUrl}  (GET /api/v1/status, bearer ${running.adminToken})`);
    console.log(`Console     ${running.workerUrl}/console  (sign in with the token ${running.adminToken})`);
    console.log(`Attio       ${running.attio.url}/v2`);
    console.log(`Salesforce  ${running.salesforce.url}`);
    console.log(schemaLine(customFields));
    console.log("Edit with `npm run sandbox -- edit ...` (docs/SANDBOX.md). Ctrl-C stops everything.");
  }
  const timer = setInterval(() => void tick().catch(reportTickError), REFRESH_MS);
  await tick().catch(reportTickError);
  await finished;
  clearInterval(timer);
  return stopStack(running, tty);
}

/** What starting the deployment did: its mode, the held changes sent, what the first catch-up will consider. */
function describeStart(answer: StartAnswer): string[] {
  const delivery = answer.delivery;
  const sent =
    delivery?.state === "sent"
      ? `${delivery.sent} held change(s) delivered`
      : delivery?.state === "waiting"
        ? `held changes wait for an API: ${delivery.error ?? ""}`
        : "no change held yet";
  const lines = [`Mode: ${answer.mode} (was ${answer.previous_mode}); ${sent}; initial sync running.`];
  for (const mapping of answer.first_catch_up ?? []) {
    const { attio, salesforce } = mapping;
    const attioText = attio.ok
      ? `${attio.exact ? "" : "at least "}${attio.records} Attio ${attio.object} (${attio.linked} linked)`
      : `Attio: ${attio.error}`;
    const sfText = salesforce.ok
      ? `${salesforce.records} Salesforce ${salesforce.object} changed since ${salesforce.changed_since}`
      : `Salesforce: ${salesforce.error}`;
    lines.push(`  first catch-up, ${mapping.mapping}: ${attioText}; ${sfText}`);
  }
  return lines;
}

async function takeSnapshot(stack: Stack): Promise<Snapshot> {
  const errors: string[] = [];
  const attempt = async <T>(what: string, load: () => Promise<T>): Promise<T | null> => {
    try {
      return await load();
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
      return null;
    }
  };
  const [status, attio, salesforce] = await Promise.all([
    attempt("Worker status", () => getJson<WorkerStatus>(`${stack.workerUrl}/api/v1/status`, stack.adminToken)),
    attempt("Attio stats", () => getJson<AttioStatsJson>(`${stack.attio.url}/__control/stats`)),
    attempt("Salesforce stats", () => getJson<SalesforceStatsJson>(`${stack.salesforce.url}/__control/stats`)),
  ]);
  return { status, attio, salesforce, errors };
}

function reportTickError(err: unknown): void {
  console.error(`view: ${(err as Error).message}`);
}

async function stopStack(stack: Stack, tty: boolean): Promise<number> {
  if (tty) process.stdout.write("\x1b[?25h");
  console.log("\nStopping the Worker and both emulators ...");
  let timeout: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    stack.stop().then(
      () => "stopped" as const,
      (err: unknown) => err,
    ),
    new Promise<"timeout">((resolveTimeout) => {
      timeout = setTimeout(() => resolveTimeout("timeout"), STOP_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timeout);
  if (outcome === "stopped") {
    console.log("Stopped.");
    return 0;
  }
  console.error(
    outcome === "timeout"
      ? `Stopping did not finish within ${STOP_TIMEOUT_MS / 1000} s`
      : `Stopping failed: ${(outcome as Error).message}`,
  );
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (process.stdout.isTTY) process.stdout.write("\x1b[?25h");
    console.error((err as Error).message);
    process.exit(1);
  },
);
