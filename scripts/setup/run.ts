import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { discover, type ExecutorDeps, executeSetup, SetupError, type SetupOutcome } from "./execute.ts";
import { DeploymentName, deploymentNames } from "./names.ts";
import { type Credential, planSetup, type SetupInputs } from "./plan.ts";
import type { Prompt } from "./prompt.ts";
import { readDeploymentConfig } from "./wrangler-config.ts";

export const USAGE = `npm run setup -- --name <deployment> [options]

Creates or reuses everything a deployment needs in your Cloudflare account (D1, KV, queues named
attio-sfdc-<deployment>...), checks the Attio and Salesforce credentials, applies the migrations,
deploys, registers the Attio webhook and (if asked) creates the Salesforce External ID fields.
Safe to run again: what exists is kept.

  --name NAME              the deployment (staging, production, ...): names its resources
  --yes                    non-interactive: read everything from the environment (also CI=1)
  --rotate                 new ADMIN_TOKEN and RELAY_SECRET even though they are set
  --update-credentials     put the given Attio/Salesforce credentials even where they are set
  --create-field           create Attio_Record_Id__c where missing (asked interactively otherwise)
  --worker-url URL         the Worker's public URL, when not the workers.dev one (custom domain)

Environment (--yes): ATTIO_API_KEY, SALESFORCE_LOGIN_URL, SALESFORCE_CLIENT_ID,
SALESFORCE_CLIENT_SECRET; optional ATTIO_API_URL, WORKER_URL, SETUP_CREATE_FIELD=1.
Needs \`npx wrangler login\` (or CLOUDFLARE_API_TOKEN) first.`;

const PROMPTS: Record<Credential | "SALESFORCE_LOGIN_URL", string> = {
  ATTIO_API_KEY: "Attio API key (Workspace settings > Developers; scopes in README): ",
  SALESFORCE_LOGIN_URL: "Salesforce My Domain URL (https://<domain>.my.salesforce.com): ",
  SALESFORCE_CLIENT_ID: "Salesforce external client app's consumer key: ",
  SALESFORCE_CLIENT_SECRET: "Salesforce external client app's consumer secret: ",
};

/**
 * `npm run setup`: arguments and environment → discovered facts → plan → execution → next steps.
 * Everything outside (wrangler, the prompt, the output) comes in through `deps`, so the walk-through
 * test runs it whole.
 */
export async function runSetup(
  argv: string[],
  env: Record<string, string | undefined>,
  deps: Omit<ExecutorDeps, "workerUrl"> & { prompt?: Prompt },
): Promise<SetupOutcome> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: "string" },
      yes: { type: "boolean", default: false },
      rotate: { type: "boolean", default: false },
      "update-credentials": { type: "boolean", default: false },
      "create-field": { type: "boolean" },
      "worker-url": { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help || !values.name) throw new SetupError(USAGE);
  const name = DeploymentName.safeParse(values.name);
  if (!name.success) throw new SetupError(name.error.issues[0]?.message ?? "invalid --name");
  const names = deploymentNames(name.data);
  const interactive = !values.yes && !env["CI"] && deps.prompt !== undefined;
  const workerUrl = values["worker-url"] ?? env["WORKER_URL"];
  const executor: ExecutorDeps = { ...deps, ...(workerUrl ? { workerUrl } : {}) };
  const log = deps.log;

  log(`Deployment "${names.deployment}": Worker ${names.worker}, D1 ${names.database}, KV ${names.kv}`);
  log("Looking at what the account has...");
  const baseConfig = await readFile(join(deps.root, "wrangler.toml"), "utf8");
  const existing = await discover(executor, names, baseConfig);

  const stored = new Set(existing.worker.secrets);
  const credentials: SetupInputs["credentials"] = {};
  const vars: SetupInputs["vars"] = {};
  const given = (name: string) => env[name]?.trim() || undefined;
  for (const name of ["ATTIO_API_KEY", "SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET"] as const) {
    const value =
      given(name) ??
      (interactive && !stored.has(name) ? await deps.prompt?.ask(PROMPTS[name], { secret: true }) : undefined);
    if (value) credentials[name] = value;
  }
  const previousLogin = existing.configFile
    ? readDeploymentConfig(existing.configFile).vars["SALESFORCE_LOGIN_URL"]
    : undefined;
  const login =
    given("SALESFORCE_LOGIN_URL") ??
    (interactive && !previousLogin ? await deps.prompt?.ask(PROMPTS.SALESFORCE_LOGIN_URL) : undefined);
  if (login) vars.SALESFORCE_LOGIN_URL = login;
  const attioUrl = given("ATTIO_API_URL");
  if (attioUrl) vars.ATTIO_API_URL = attioUrl;

  let createField = values["create-field"] ?? (given("SETUP_CREATE_FIELD") === "1" ? true : undefined);
  if (createField === undefined && interactive && credentials.SALESFORCE_CLIENT_ID) {
    createField = await deps.prompt?.confirm(
      "Create the External ID field Attio_Record_Id__c on Account, Contact and Opportunity (creates from Attio become retry-safe upserts)?",
    );
  }

  const inputs: SetupInputs = {
    names,
    baseConfig,
    credentials,
    vars,
    rotate: values.rotate,
    updateCredentials: values["update-credentials"],
    createField: createField ?? false,
  };
  const plan = planSetup(inputs, existing);
  if (!plan.ok)
    throw new SetupError(`Cannot set up "${names.deployment}":\n${plan.problems.map((p) => `  - ${p}`).join("\n")}`);

  log("Setting up...");
  const outcome = await executeSetup(executor, inputs, existing, plan.steps);
  for (const line of summary(outcome, names.configFile)) log(line);
  return outcome;
}

/** The end of the run: tokens (once), warnings, and what to do next. */
function summary(outcome: SetupOutcome, configFile: string): string[] {
  const url = outcome.workerUrl ?? "https://<your-worker>";
  const lines = [""];
  const tokens = Object.entries(outcome.tokens);
  if (tokens.length > 0) {
    lines.push("Generated (shown this once: keep them in your password manager; the Worker has them as secrets):");
    for (const [name, value] of tokens) lines.push(`  ${name}=${value}`);
    lines.push("");
  }
  for (const warning of outcome.warnings) lines.push(`Warning: ${warning}`);
  lines.push(
    "Next:",
    "  1. Salesforce: Setup > Change Data Capture: select Account, Contact and Opportunity (not User).",
    `  2. Run the CDC relay (docs/RELAY.md) with WORKER_URL=${url}, RELAY_SECRET and the Salesforce credentials.`,
    "  3. Look before writing: the deployment is in mode `setup` and writes nothing yet.",
    `       curl -s -H "Authorization: Bearer $ADMIN_TOKEN" ${url}/api/v1/status`,
    `       curl -s -H "Authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' ${url}/api/v1/sync -d '{"dry_run":true}'`,
    `  4. Start syncing: curl -s -X POST -H "Authorization: Bearer $ADMIN_TOKEN" ${url}/api/v1/start`,
    `Later: \`npm run upgrade -- --name <deployment>\` after \`git pull\`; wrangler commands for this deployment take \`--config ${configFile}\`.`,
  );
  return lines;
}
