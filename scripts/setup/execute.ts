import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { AttioSetupClient } from "./attio.ts";
import type { DeploymentNames } from "./names.ts";
import type { Existing, GeneratedSecret, SetupInputs, Step } from "./plan.ts";
import { type CommandResult, jsonOutput, type WranglerRunner } from "./runner.ts";
import { EXTERNAL_ID_OBJECTS, PERMISSION_SET, SalesforceSetupClient, SalesforceSetupError } from "./salesforce.ts";
import { ensureWebhook, type WorkerSecrets } from "./webhook.ts";
import { deploymentQueues, renderDeploymentConfig } from "./wrangler-config.ts";

/** What the executor needs from its surroundings: tests pass a recording runner and a temporary root. */
export interface ExecutorDeps {
  run: WranglerRunner;
  /** Where the generated configuration and the state file live (the repository's root). */
  root: string;
  log: (line: string) => void;
  /** The Worker's public URL when it is not the workers.dev one wrangler reports (a custom domain). */
  workerUrl?: string;
}

/** Non-secret facts kept between runs, in `.deployments/<name>.json` (git-ignored). */
const StateSchema = z.object({ worker_url: z.string().optional(), webhook_id: z.string().optional() });
type State = z.infer<typeof StateSchema>;

export class SetupError extends Error {}

/** A wrangler command that failed, with what it printed (wrangler's own message says why). */
function failed(args: string[], result: CommandResult): SetupError {
  const output = `${result.stderr}\n${result.stdout}`.trim().split("\n").slice(-15).join("\n");
  return new SetupError(`\`wrangler ${args.join(" ")}\` failed (exit ${result.code}):\n${output}`);
}

async function wrangler(deps: ExecutorDeps, args: string[], options: Parameters<WranglerRunner>[1] = {}) {
  const result = await deps.run(args, options);
  if (result.code !== 0) throw failed(args, result);
  return result;
}

const D1List = z.array(z.object({ uuid: z.string(), name: z.string() }));
const KvList = z.array(z.object({ id: z.string(), title: z.string() }));
const SecretList = z.array(z.object({ name: z.string() }));

/** Reads what the account has for the deployment: each lookup is a documented wrangler command. */
export async function discover(
  deps: ExecutorDeps,
  names: DeploymentNames,
  baseConfig: string,
): Promise<Existing & { state: State }> {
  // Independent lookups, run side by side: each wrangler command spends seconds starting up.
  const secretsArgs = ["secret", "list", "--name", names.worker, "--format", "json"];
  const [d1, kv, secrets, ...queueInfo] = await Promise.all([
    wrangler(deps, ["d1", "list", "--json"]),
    wrangler(deps, ["kv", "namespace", "list"]),
    deps.run(secretsArgs),
    // `queues info` fails for a queue that does not exist; `queues list` prints only a table.
    ...deploymentQueues(baseConfig, names).map(async (queue) => ({
      queue,
      exists: (await deps.run(["queues", "info", queue])).code === 0,
    })),
  ]);
  const databases = D1List.parse(jsonOutput(d1.stdout));
  const namespaces = KvList.parse(jsonOutput(kv.stdout));
  const queues = (queueInfo as { queue: string; exists: boolean }[]).filter((q) => q.exists).map((q) => q.queue);
  let worker: Existing["worker"];
  if (secrets.code === 0) {
    worker = { exists: true, secrets: SecretList.parse(jsonOutput(secrets.stdout)).map((s) => s.name) };
  } else if (/does not exist|not found|10007/i.test(`${secrets.stdout}${secrets.stderr}`)) {
    worker = { exists: false, secrets: [] };
  } else {
    throw failed(secretsArgs, secrets);
  }
  return {
    databaseId: databases.find((db) => db.name === names.database)?.uuid ?? null,
    kvId: namespaces.find((ns) => ns.title === names.kv)?.id ?? null,
    queues,
    worker,
    configFile: await readText(join(deps.root, names.configFile)),
    state: await readState(deps, names),
  };
}

/** One step's result, as printed. */
export interface StepResult {
  step: Step;
  result: string;
}

export interface SetupOutcome {
  results: StepResult[];
  /** Tokens generated on this run: printed once, never stored anywhere readable. */
  tokens: Partial<Record<GeneratedSecret, string>>;
  workerUrl: string | null;
  /** Warnings the person should act on (e.g. a field the integration user cannot see). */
  warnings: string[];
}

/** Runs the plan's steps in order; the first failure stops the run (rerunning resumes: steps are idempotent). */
export async function executeSetup(
  deps: ExecutorDeps,
  inputs: SetupInputs,
  existing: Existing & { state: State },
  steps: Step[],
): Promise<SetupOutcome> {
  const names = inputs.names;
  const config = join(deps.root, names.configFile);
  const ids = { database: existing.databaseId, kv: existing.kvId };
  const tokens: SetupOutcome["tokens"] = {};
  const warnings: string[] = [];
  const state = { ...existing.state };
  let workerUrl = deps.workerUrl ?? state.worker_url ?? null;
  let deployedFirst = false;
  const vars = () => {
    const step = steps.find((s) => s.kind === "write-config");
    return step?.kind === "write-config" ? step.vars : {};
  };
  const attio = () =>
    new AttioSetupClient(vars()["ATTIO_API_URL"] ?? "https://api.attio.com", inputs.credentials.ATTIO_API_KEY ?? "");
  const salesforce = () =>
    new SalesforceSetupClient(
      vars()["SALESFORCE_LOGIN_URL"] ?? "",
      inputs.credentials.SALESFORCE_CLIENT_ID ?? "",
      inputs.credentials.SALESFORCE_CLIENT_SECRET ?? "",
    );
  const secrets: WorkerSecrets = {
    put: async (name, value) => {
      await wrangler(deps, ["secret", "put", name, "--config", config], { input: value });
    },
    delete: async (name) => {
      await wrangler(deps, ["secret", "delete", name, "--config", config], { env: { CI: "true" } });
    },
  };
  const secretValue = (name: string): string => {
    const value =
      (inputs.credentials as Record<string, string | undefined>)[name] ??
      (tokens as Record<string, string | undefined>)[name] ??
      (name === "ATTIO_WEBHOOK_SECRET" ? randomToken() : undefined);
    if (value === undefined) throw new SetupError(`no value for the secret ${name}`);
    return value;
  };

  const results: StepResult[] = [];
  for (const step of steps) {
    const result = await runStep(step).catch((error: unknown) => {
      // Tokens generated before the failure may already be on the Worker: show them rather than
      // lose them (a rerun regenerates only those the Worker does not have).
      const generated = Object.entries(tokens);
      if (generated.length > 0) {
        deps.log("Generated on this run (on the Worker if the deploy or secret upload ran):");
        for (const [name, value] of generated) deps.log(`  ${name}=${value}`);
      }
      throw error;
    });
    deps.log(`  ${result}`);
    results.push({ step, result });
  }
  return { results, tokens, workerUrl, warnings };

  async function runStep(step: Step): Promise<string> {
    switch (step.kind) {
      case "check-attio": {
        const self = await attio().check();
        return `Attio API key works (workspace ${self.workspace}, scopes complete)`;
      }
      case "check-salesforce": {
        const token = await salesforce().check();
        return `Salesforce client credentials work (instance ${token.instanceUrl})`;
      }
      case "create-database": {
        await wrangler(deps, ["d1", "create", step.name]);
        const listed = D1List.parse(jsonOutput((await wrangler(deps, ["d1", "list", "--json"])).stdout));
        ids.database = listed.find((db) => db.name === step.name)?.uuid ?? null;
        if (!ids.database) throw new SetupError(`D1 database ${step.name} was created but is not listed`);
        return `created D1 database ${step.name} (${ids.database})`;
      }
      case "create-kv": {
        await wrangler(deps, ["kv", "namespace", "create", step.title]);
        const listed = KvList.parse(jsonOutput((await wrangler(deps, ["kv", "namespace", "list"])).stdout));
        ids.kv = listed.find((ns) => ns.title === step.title)?.id ?? null;
        if (!ids.kv) throw new SetupError(`KV namespace ${step.title} was created but is not listed`);
        return `created KV namespace ${step.title} (${ids.kv})`;
      }
      case "create-queue":
        await wrangler(deps, ["queues", "create", step.name]);
        return `created queue ${step.name}`;
      case "write-config": {
        if (!ids.database || !ids.kv) throw new SetupError("resource ids missing before writing the configuration");
        const text = renderDeploymentConfig(
          inputs.baseConfig,
          names,
          { database: ids.database, kv: ids.kv },
          step.vars,
        );
        if (text === existing.configFile) return `${names.configFile} unchanged`;
        await writeFile(config, text);
        return `wrote ${names.configFile}`;
      }
      case "generate-token":
        tokens[step.secret] = randomToken();
        return `generated ${step.secret}`;
      case "apply-migrations": {
        const out = await wrangler(deps, ["d1", "migrations", "apply", "DB", "--remote", "--config", config], {
          env: { CI: "true" },
        });
        return /No migrations to apply/i.test(out.stdout) ? "D1 migrations: up to date" : "D1 migrations applied";
      }
      case "deploy": {
        const dir = await mkdtemp(join(tmpdir(), "attio-sfdc-setup-"));
        try {
          const args = ["deploy", "--config", config];
          if (step.first) {
            // A Worker that does not exist cannot have secrets put: the first deploy brings them
            // (a 0600 file in a private temporary directory, removed right after).
            const file = join(dir, "secrets.json");
            const values = Object.fromEntries(step.secrets.map((name) => [name, secretValue(name)]));
            await writeFile(file, JSON.stringify(values), { mode: 0o600 });
            args.push("--secrets-file", file);
          }
          const output = join(dir, "output.ndjson");
          const out = await wrangler(deps, args, { env: { WRANGLER_OUTPUT_FILE_PATH: output } });
          const url = deps.workerUrl ?? (await deployedUrl(output, out.stdout));
          if (url) workerUrl = url;
          deployedFirst = step.first;
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
        if (workerUrl) await saveState(deps, names, Object.assign(state, { worker_url: workerUrl }));
        return `deployed ${names.worker}${workerUrl ? ` to ${workerUrl}` : ""}`;
      }
      case "put-secrets": {
        const values = Object.fromEntries(step.secrets.map((name) => [name, secretValue(name)]));
        // One new version for all of them (`secret bulk` reads JSON on stdin).
        await wrangler(deps, ["secret", "bulk", "--config", config], { input: JSON.stringify(values) });
        return `set the secrets ${step.secrets.join(", ")}`;
      }
      case "attio-webhook": {
        if (!workerUrl) {
          warnings.push("The Worker's URL is unknown (set WORKER_URL), so the Attio webhook was not registered.");
          return "Attio webhook: skipped (the Worker's URL is unknown)";
        }
        const secretSet = !deployedFirst && existing.worker.secrets.includes("ATTIO_WEBHOOK_SECRET");
        const outcome = await ensureWebhook(attio(), workerUrl, secretSet, secrets);
        await saveState(deps, names, Object.assign(state, { webhook_id: outcome.id }));
        if (outcome.kind === "kept") {
          return `Attio webhook ${outcome.id} kept${outcome.subscriptionsFixed ? " (subscriptions completed)" : ""}`;
        }
        return `Attio webhook ${outcome.id} registered, its secret stored${outcome.replaced.length ? ` (replaced ${outcome.replaced.join(", ")})` : ""}`;
      }
      case "external-id-field":
        return externalIdFields(salesforce(), warnings);
      case "skip":
        return `${step.what}: skipped (${step.reason})`;
    }
  }
}

/**
 * Attio_Record_Id__c on the default mappings' objects: created where missing, then made visible to
 * the integration user. Optional (the sync works without it, matching by name): a refusal becomes a
 * warning with the manual way, and the run goes on to print its tokens.
 */
export async function externalIdFields(client: SalesforceSetupClient, warnings: string[]): Promise<string> {
  const field = "Attio_Record_Id__c";
  try {
    const states = await client.fieldStates(EXTERNAL_ID_OBJECTS);
    const plain = EXTERNAL_ID_OBJECTS.filter((object) => states[object] === "not-external-id");
    if (plain.length > 0) {
      warnings.push(
        `${field} exists on ${plain.join(", ")} but is not an External ID: edit the field in Setup > Object Manager and tick External ID and Unique.`,
      );
    }
    const absent = EXTERNAL_ID_OBJECTS.filter((object) => states[object] === "absent");
    if (absent.length === 0)
      return plain.length ? "Salesforce External ID fields: see the warning" : "Salesforce External ID fields: present";
    const created: string[] = [];
    for (const object of absent) {
      try {
        await client.createExternalIdField(object);
        created.push(object);
      } catch (error) {
        // Already there but invisible to this user: the grant below is what it lacks.
        if (!(error instanceof SalesforceSetupError && /DUPLICATE_DEVELOPER_NAME/.test(error.message))) throw error;
      }
    }
    const visible = await client.objectsWithField(absent);
    const hidden = absent.filter((object) => !visible.includes(object));
    if (hidden.length > 0) {
      await client.grantFieldAccess(hidden);
      const now = await client.objectsWithField(hidden);
      const still = hidden.filter((object) => !now.includes(object));
      if (still.length > 0) {
        warnings.push(
          `${field} on ${still.join(", ")} is still invisible to the integration user after the permission set ${PERMISSION_SET} was assigned: check its field permissions in Setup.`,
        );
      }
    }
    const granted = hidden.length > 0 ? `; access granted with the permission set ${PERMISSION_SET}` : "";
    return `created ${field} on ${created.join(", ") || "no object"}${granted}`;
  } catch (error) {
    if (!(error instanceof SalesforceSetupError)) throw error;
    warnings.push(
      `${field} could not be set up (${error.message}). Setup needs the integration user to have "Customize Application" (to create the field) and "Assign Permission Sets"; or, by hand: create it in Setup > Object Manager on ${EXTERNAL_ID_OBJECTS.join(", ")} (Text(36), External ID, Unique) and give the integration user Read and Edit on it with a permission set.`,
    );
    return "Salesforce External ID fields: not set up (see the warning)";
  }
}

/** 32 random bytes, base64url: 43 characters, over the Worker's and the relay's minimum of 32. */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * The deployed URL: the `deploy` entry of wrangler's output file (`WRANGLER_OUTPUT_FILE_PATH`, one
 * JSON object per line, its `targets`), else the workers.dev URL wrangler printed.
 */
async function deployedUrl(outputFile: string, stdout: string): Promise<string | null> {
  const lines = (await readText(outputFile))?.split("\n") ?? [];
  for (const line of lines) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as { type?: string; targets?: string[] };
    const url = entry.type === "deploy" ? entry.targets?.find((t) => t.startsWith("https://")) : undefined;
    if (url) return url;
  }
  return stdout.match(/https:\/\/[^\s]+\.workers\.dev/)?.[0] ?? null;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return null;
  }
}

export async function readState(deps: Pick<ExecutorDeps, "root">, names: DeploymentNames): Promise<State> {
  const text = await readText(join(deps.root, names.stateFile));
  return text ? StateSchema.parse(JSON.parse(text)) : {};
}

async function saveState(deps: ExecutorDeps, names: DeploymentNames, state: State): Promise<void> {
  const path = join(deps.root, names.stateFile);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(state, null, 2)}\n`);
}
