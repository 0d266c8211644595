import { EnvConfigSchema } from "../../src/config/env.ts";
import type { DeploymentNames } from "./names.ts";
import { deploymentQueues, readDeploymentConfig, renderDeploymentConfig, requiredSecrets } from "./wrangler-config.ts";

/** Secrets a person supplies (the rest are generated, or returned by Attio). */
export const CREDENTIALS = ["ATTIO_API_KEY", "SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET"] as const;
export type Credential = (typeof CREDENTIALS)[number];

/** Secrets setup chooses itself: 32 random bytes each. */
export const GENERATED = ["ADMIN_TOKEN", "RELAY_SECRET"] as const;
export type GeneratedSecret = (typeof GENERATED)[number];

/** The variables setup writes into the deployment's [vars]. */
export const MANAGED_VARS = ["SALESFORCE_LOGIN_URL", "ATTIO_API_URL"] as const;

export interface SetupInputs {
  names: DeploymentNames;
  /** The tracked wrangler.toml. */
  baseConfig: string;
  /** What the person supplied on this run (prompt or environment); absent: not given. */
  credentials: Partial<Record<Credential, string>>;
  /** SALESFORCE_LOGIN_URL, and ATTIO_API_URL when it is not Attio's own, given on this run. */
  vars: Partial<Record<(typeof MANAGED_VARS)[number], string>>;
  /** `--rotate`: new ADMIN_TOKEN and RELAY_SECRET even though they are set. */
  rotate: boolean;
  /** `--update-credentials`: put the given credentials even where the Worker has them. */
  updateCredentials: boolean;
  /** Create the Salesforce External ID fields where they are missing. */
  createField: boolean;
}

/** What the account already has for this deployment (read by the executor before planning). */
export interface Existing {
  databaseId: string | null;
  kvId: string | null;
  /** Names of this deployment's queues that exist. */
  queues: string[];
  /** Whether the Worker exists, and the names of its secrets. */
  worker: { exists: boolean; secrets: string[] };
  /** The generated configuration file's text, when one was written before. */
  configFile: string | null;
}

export type Step =
  | { kind: "check-attio" }
  | { kind: "check-salesforce" }
  | { kind: "create-database"; name: string }
  | { kind: "create-kv"; title: string }
  | { kind: "create-queue"; name: string }
  | { kind: "write-config"; vars: Record<string, string> }
  | { kind: "generate-token"; secret: GeneratedSecret }
  | { kind: "apply-migrations" }
  /** The first deploy uploads every secret with it: a Worker that does not exist cannot have secrets put. */
  | { kind: "deploy"; first: boolean; secrets: string[] }
  | { kind: "put-secrets"; secrets: string[] }
  | { kind: "attio-webhook" }
  | { kind: "external-id-field" }
  | { kind: "skip"; what: string; reason: string };

export type Plan = { ok: true; steps: Step[] } | { ok: false; problems: string[] };

/**
 * The steps that bring a deployment from what exists to what it needs, and nothing more: a rerun
 * over a complete deployment creates nothing, generates nothing and does not deploy (only the
 * migrations are applied, which is a no-op when none is new). Pure: inputs and facts in, steps out.
 */
export function planSetup(inputs: SetupInputs, existing: Existing): Plan {
  const problems: string[] = [];
  const stored = new Set(existing.worker.exists ? existing.worker.secrets : []);
  const previousVars = existing.configFile ? readDeploymentConfig(existing.configFile).vars : {};
  const vars: Record<string, string> = {};
  for (const name of MANAGED_VARS) {
    const value = inputs.vars[name] ?? previousVars[name];
    if (value !== undefined) vars[name] = value;
  }
  const loginUrl = EnvConfigSchema.shape.SALESFORCE_LOGIN_URL.safeParse(vars["SALESFORCE_LOGIN_URL"]);
  if (vars["SALESFORCE_LOGIN_URL"] === undefined) {
    problems.push("SALESFORCE_LOGIN_URL is not given: your org's My Domain URL (https://<domain>.my.salesforce.com)");
  } else if (!loginUrl.success) {
    problems.push(`SALESFORCE_LOGIN_URL ${loginUrl.error.issues[0]?.message ?? "is invalid"}`);
  } else {
    vars["SALESFORCE_LOGIN_URL"] = loginUrl.data;
  }
  for (const name of CREDENTIALS) {
    if (!stored.has(name) && !inputs.credentials[name]) {
      problems.push(`${name} is not set on the Worker and not given (answer the prompt, or set it in the environment)`);
    }
  }
  if (problems.length > 0) return { ok: false, problems };

  const steps: Step[] = [];
  const given = (name: Credential) => Boolean(inputs.credentials[name]);
  // Credentials are checked before anything is created: a typo fails in seconds, not after a deploy.
  if (given("ATTIO_API_KEY")) steps.push({ kind: "check-attio" });
  const salesforceGiven = given("SALESFORCE_CLIENT_ID") && given("SALESFORCE_CLIENT_SECRET");
  if (salesforceGiven) steps.push({ kind: "check-salesforce" });

  const created: Step[] = [];
  if (!existing.databaseId) created.push({ kind: "create-database", name: inputs.names.database });
  if (!existing.kvId) created.push({ kind: "create-kv", title: inputs.names.kv });
  for (const queue of deploymentQueues(inputs.baseConfig, inputs.names)) {
    if (!existing.queues.includes(queue)) created.push({ kind: "create-queue", name: queue });
  }
  steps.push(...created, { kind: "write-config", vars });

  const generated = GENERATED.filter((name) => inputs.rotate || !stored.has(name));
  steps.push(...generated.map((secret): Step => ({ kind: "generate-token", secret })));
  steps.push({ kind: "apply-migrations" });

  const credentialsToPut = CREDENTIALS.filter((name) => given(name) && (!stored.has(name) || inputs.updateCredentials));
  const toPut = [...credentialsToPut, ...generated];
  if (!existing.worker.exists) {
    // The webhook's secret exists only once Attio has the Worker's URL: a random placeholder goes
    // first (it verifies nothing anyone can sign), replaced by the real one a few seconds later.
    steps.push({ kind: "deploy", first: true, secrets: requiredSecrets(inputs.baseConfig) });
  } else {
    if (toPut.length > 0) steps.push({ kind: "put-secrets", secrets: toPut });
    const unchanged =
      created.length === 0 &&
      existing.configFile !== null &&
      existing.databaseId !== null &&
      existing.kvId !== null &&
      renderDeploymentConfig(
        inputs.baseConfig,
        inputs.names,
        { database: existing.databaseId, kv: existing.kvId },
        vars,
      ) === existing.configFile;
    if (!unchanged) steps.push({ kind: "deploy", first: false, secrets: [] });
  }

  if (given("ATTIO_API_KEY")) steps.push({ kind: "attio-webhook" });
  else steps.push({ kind: "skip", what: "Attio webhook", reason: "ATTIO_API_KEY not given on this run" });

  if (!inputs.createField) {
    steps.push({ kind: "skip", what: "Salesforce External ID fields", reason: "not asked for" });
  } else if (!salesforceGiven) {
    steps.push({
      kind: "skip",
      what: "Salesforce External ID fields",
      reason: "SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET not given on this run",
    });
  } else {
    steps.push({ kind: "external-id-field" });
  }
  return { ok: true, steps };
}
