/**
 * `npm run doctor`: the deployment checks of GET /api/v1/doctor, run on this machine before
 * deploying, against the credentials the Worker will use. Settings come from the environment,
 * then `.dev.vars`, then `[vars]` of wrangler.toml (the first that has one wins).
 *
 *   npm run doctor                       # Attio and Salesforce checks
 *   npm run doctor -- --url https://attio-sfdc.example.workers.dev   # and the webhook's target
 *   npm run doctor -- --config config.toml --json
 *
 * The relay's and the cron's checks need the deployed Worker's records: GET /api/v1/doctor.
 * Exit status: 0 when nothing fails (warnings allowed), 1 when a check fails, 2 on bad settings.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import { AttioClient } from "../src/attio/client.ts";
import { EnvConfigSchema } from "../src/config/env.ts";
import { type CheckResult, evaluateDoctor, overall } from "../src/doctor/checks.ts";
import { gatherRemoteFacts } from "../src/doctor/gather.ts";
import { noLimiter } from "../src/durable/limiter.ts";
import { SalesforceClient } from "../src/salesforce/client.ts";

/** The settings the checks need: validated with the Worker's own rules, so the messages agree. */
const DoctorSettingsSchema = EnvConfigSchema.pick({
  ATTIO_API_URL: true,
  ATTIO_API_KEY: true,
  SALESFORCE_LOGIN_URL: true,
  SALESFORCE_CLIENT_ID: true,
  SALESFORCE_CLIENT_SECRET: true,
  SALESFORCE_API_VERSION: true,
  SALESFORCE_CLIENT_NAME: true,
  SYNC_DIRECTION: true,
  UPSTREAM_TIMEOUT_SECONDS: true,
});

/** `KEY=value` lines (wrangler's .dev.vars format); `#` comments and blank lines skipped, quotes removed. */
export function parseDevVars(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match?.[1] || line.trimStart().startsWith("#")) continue;
    vars[match[1]] = (match[2] ?? "").replace(/^(["'])(.*)\1$/, "$2");
  }
  return vars;
}

/** The settings from the environment, `.dev.vars` and wrangler.toml's `[vars]`, in that order. */
export function loadSettings(dir: string, env: Record<string, string | undefined>): Record<string, string> {
  const devVarsPath = resolve(dir, ".dev.vars");
  const wranglerPath = resolve(dir, "wrangler.toml");
  const devVars = existsSync(devVarsPath) ? parseDevVars(readFileSync(devVarsPath, "utf8")) : {};
  const tomlVars = existsSync(wranglerPath)
    ? (z
        .object({ vars: z.record(z.string(), z.unknown()).optional() })
        .parse(parseToml(readFileSync(wranglerPath, "utf8"))).vars ?? {})
    : {};
  const settings: Record<string, string> = {};
  for (const key of Object.keys(DoctorSettingsSchema.shape)) {
    const value = env[key] || devVars[key] || (typeof tomlVars[key] === "string" ? tomlVars[key] : undefined);
    // Empty means unset, as in the Worker: the default applies.
    if (value) settings[key] = value;
  }
  return settings;
}

export interface DoctorRun {
  status: "pass" | "warn" | "fail";
  checks: CheckResult[];
}

/** Runs the checks with these settings; throws a readable error naming each bad setting. */
export async function runDoctor(
  settings: Record<string, string>,
  options: { workerUrl?: string | undefined; configToml?: string | undefined; fetch?: typeof fetch } = {},
): Promise<DoctorRun> {
  const parsed = DoctorSettingsSchema.safeParse(settings);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(
      `Settings to fix first (environment, .dev.vars or wrangler.toml [vars]):\n  ${problems.join("\n  ")}`,
    );
  }
  const config = parsed.data;
  const timeoutMs = config.UPSTREAM_TIMEOUT_SECONDS * 1000;
  const attio = new AttioClient({
    apiUrl: config.ATTIO_API_URL,
    apiKey: config.ATTIO_API_KEY,
    limiter: noLimiter,
    timeoutMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const salesforce = new SalesforceClient({
    token: {
      loginUrl: config.SALESFORCE_LOGIN_URL,
      clientId: config.SALESFORCE_CLIENT_ID,
      clientSecret: config.SALESFORCE_CLIENT_SECRET,
      timeoutMs,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    },
    apiVersion: config.SALESFORCE_API_VERSION,
    clientName: config.SALESFORCE_CLIENT_NAME,
    limiter: noLimiter,
  });
  const facts = await gatherRemoteFacts(
    {
      attio,
      salesforce,
      apiVersion: config.SALESFORCE_API_VERSION,
      direction: config.SYNC_DIRECTION,
      configToml: options.configToml ?? "",
      workerUrl: options.workerUrl ?? null,
    },
    new Date(),
  );
  const checks = evaluateDoctor({ ...facts, worker: null });
  return { status: overall(checks), checks };
}

const MARK = { pass: "PASS", warn: "WARN", fail: "FAIL" } as const;

/** The checks as lines a person reads: status, what was found, and the fix under it. */
export function formatRun(run: DoctorRun): string {
  const lines = run.checks.flatMap((check) => [
    `${MARK[check.status]}  ${check.id.padEnd(24)} ${check.message}`,
    ...(check.fix ? [`      fix: ${check.fix}`] : []),
  ]);
  lines.push(
    "",
    `Overall: ${MARK[run.status]}. The relay's and the cron's checks run on the deployed Worker: GET /api/v1/doctor.`,
  );
  return lines.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      config: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("npm run doctor -- [--url <deployed Worker URL>] [--config <config.toml>] [--json]");
    return 0;
  }
  const settings = loadSettings(process.cwd(), process.env);
  let run: DoctorRun;
  try {
    run = await runDoctor(settings, {
      workerUrl: values.url ?? process.env["WORKER_URL"],
      configToml: values.config ? readFileSync(values.config, "utf8") : undefined,
    });
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  console.log(values.json ? JSON.stringify(run, null, 2) : formatRun(run));
  return run.status === "fail" ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main();
}
