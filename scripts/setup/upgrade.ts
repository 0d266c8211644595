import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SetupError } from "./execute.ts";
import { DeploymentName, deploymentNames } from "./names.ts";
import { MANAGED_VARS } from "./plan.ts";
import type { CommandOptions, WranglerRunner } from "./runner.ts";
import { readDeploymentConfig, renderDeploymentConfig } from "./wrangler-config.ts";

export interface UpgradeDeps {
  run: WranglerRunner;
  root: string;
  log: (line: string) => void;
}

/**
 * `npm run upgrade -- --name <deployment>`, after `git pull`: regenerates the deployment's
 * configuration from the new wrangler.toml (keeping its ids and vars), applies the new D1 migrations,
 * then deploys. Migrations go first: the new code may read a column they add, while the old code,
 * still serving meanwhile, never reads what an appended migration adds (migrations are only ever
 * appended, never edited, so each applies once and in order).
 */
export async function runUpgrade(argv: string[], deps: UpgradeDeps): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { name: { type: "string" } }, strict: true });
  const name = DeploymentName.safeParse(values.name);
  if (!name.success) throw new SetupError(`npm run upgrade -- --name <deployment>: ${name.error.issues[0]?.message}`);
  const names = deploymentNames(name.data);
  const configPath = join(deps.root, names.configFile);
  const previous = await readFile(configPath, "utf8").catch(() => null);
  const known = previous ? readDeploymentConfig(previous) : null;
  if (!known?.ids.database || !known.ids.kv) {
    throw new SetupError(
      `${names.configFile} is missing or incomplete: run \`npm run setup -- --name ${names.deployment}\` first`,
    );
  }
  const base = await readFile(join(deps.root, "wrangler.toml"), "utf8");
  // Only the variables setup manages carry over: the rest come from the new wrangler.toml.
  const vars = Object.fromEntries(
    MANAGED_VARS.flatMap((name) => (known.vars[name] === undefined ? [] : [[name, known.vars[name]]])),
  );
  const config = renderDeploymentConfig(base, names, { database: known.ids.database, kv: known.ids.kv }, vars);
  if (config !== previous) {
    await writeFile(configPath, config);
    deps.log(`  ${names.configFile} regenerated from wrangler.toml`);
  }
  const step = async (what: string, args: string[], options: CommandOptions = {}) => {
    const result = await deps.run(args, options);
    if (result.code !== 0) {
      throw new SetupError(`${what} failed; nothing after it ran:\n${`${result.stderr}\n${result.stdout}`.trim()}`);
    }
    deps.log(`  ${what}: done`);
  };
  await step("D1 migrations (remote)", ["d1", "migrations", "apply", "DB", "--remote", "--config", configPath], {
    env: { CI: "true" },
  });
  await step(`deploy of ${names.worker}`, ["deploy", "--config", configPath]);
}
