import { z } from "zod";

/**
 * A deployment's name (`--name staging`): every Cloudflare resource it owns is named after it, so
 * several deployments (staging, production, one per team) share one account without colliding.
 * Queues are named from the tracked wrangler.toml's (`attio-sfdc-sync` → `attio-sfdc-<name>-sync`).
 */
export const DeploymentName = z.string().regex(/^[a-z][a-z0-9-]{0,29}$/, {
  error: "--name must be 1-30 lowercase letters, digits or dashes, starting with a letter (e.g. staging)",
});

/** Every name a deployment's resources and local files take. */
export interface DeploymentNames {
  deployment: string;
  /** The Worker (its workers.dev host is `<worker>.<account subdomain>.workers.dev`). */
  worker: string;
  database: string;
  kv: string;
  /** The generated, git-ignored wrangler configuration the deployment's commands use. */
  configFile: string;
  /** Non-secret facts setup remembers between runs (the Worker's URL, the Attio webhook's id). */
  stateFile: string;
}

export function deploymentNames(name: string): DeploymentNames {
  const deployment = DeploymentName.parse(name);
  const prefix = `attio-sfdc-${deployment}`;
  return {
    deployment,
    worker: prefix,
    database: prefix,
    kv: `${prefix}-cursors`,
    configFile: `wrangler.${deployment}.toml`,
    stateFile: `.deployments/${deployment}.json`,
  };
}
