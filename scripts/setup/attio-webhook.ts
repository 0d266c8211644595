import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { AttioSetupClient } from "./attio.ts";
import { readState, SetupError } from "./execute.ts";
import { DeploymentName, deploymentNames } from "./names.ts";
import type { WranglerRunner } from "./runner.ts";
import { ensureWebhook, rotateWebhook, verifyWebhook, type WorkerSecrets } from "./webhook.ts";
import { readDeploymentConfig } from "./wrangler-config.ts";

export const USAGE = `npm run attio-webhook -- <register|verify|rotate> --name <deployment> [--worker-url URL]

  register  make sure one Attio webhook targets the Worker and the Worker has its secret
  verify    the webhook exists, is active, has every event, and the Worker's route answers
  rotate    a new webhook and secret with no gap (ATTIO_WEBHOOK_SECRET_NEXT during the switch)

Reads ATTIO_API_KEY (with webhook:read-write) from the environment.`;

export interface WebhookDeps {
  run: WranglerRunner;
  root: string;
  log: (line: string) => void;
}

/** `npm run attio-webhook`: returns whether the command succeeded (verify: whether every check passed). */
export async function runAttioWebhook(
  argv: string[],
  env: Record<string, string | undefined>,
  deps: WebhookDeps,
): Promise<boolean> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { name: { type: "string" }, "worker-url": { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  const command = positionals[0];
  const name = DeploymentName.safeParse(values.name);
  if (!name.success || (command !== "register" && command !== "verify" && command !== "rotate")) {
    throw new SetupError(USAGE);
  }
  const names = deploymentNames(name.data);
  const configPath = join(deps.root, names.configFile);
  const config = await readFile(configPath, "utf8").catch(() => null);
  if (!config)
    throw new SetupError(`${names.configFile} is missing: run \`npm run setup -- --name ${names.deployment}\` first`);
  const workerUrl = values["worker-url"] ?? env["WORKER_URL"] ?? (await readState(deps, names)).worker_url;
  if (!workerUrl) throw new SetupError("the Worker's URL is unknown: pass --worker-url");
  const apiKey = env["ATTIO_API_KEY"];
  if (!apiKey) throw new SetupError("set ATTIO_API_KEY (a key with webhook:read-write) in the environment");
  const attio = new AttioSetupClient(
    env["ATTIO_API_URL"] ?? readDeploymentConfig(config).vars["ATTIO_API_URL"] ?? "https://api.attio.com",
    apiKey,
  );
  const secrets: WorkerSecrets = {
    put: async (secret, value) => {
      const result = await deps.run(["secret", "put", secret, "--config", configPath], { input: value });
      if (result.code !== 0) throw new SetupError(`wrangler secret put ${secret} failed:\n${result.stderr}`);
      deps.log(`  ${secret} stored on ${names.worker}`);
    },
    delete: async (secret) => {
      const result = await deps.run(["secret", "delete", secret, "--config", configPath], { env: { CI: "true" } });
      if (result.code !== 0) throw new SetupError(`wrangler secret delete ${secret} failed:\n${result.stderr}`);
      deps.log(`  ${secret} removed from ${names.worker}`);
    },
  };

  switch (command) {
    case "register": {
      const list = await deps.run(["secret", "list", "--config", configPath, "--format", "json"]);
      const secretSet = list.code === 0 && list.stdout.includes('"ATTIO_WEBHOOK_SECRET"');
      const outcome = await ensureWebhook(attio, workerUrl, secretSet, secrets);
      deps.log(outcome.kind === "kept" ? `Webhook ${outcome.id} kept.` : `Webhook ${outcome.id} registered.`);
      return true;
    }
    case "verify": {
      const check = await verifyWebhook(attio, workerUrl);
      for (const finding of check.findings) deps.log(`  ${finding.ok ? "ok  " : "FAIL"} ${finding.text}`);
      return check.ok;
    }
    case "rotate": {
      const rotated = await rotateWebhook(attio, workerUrl, secrets);
      deps.log(`Webhook ${rotated.id} now delivers; replaced ${rotated.replaced.join(", ") || "none"}.`);
      return true;
    }
  }
}
