import type { Mode } from "../../plan/explain.ts";

/**
 * The deployment's mode as explain reads it: one function, so the modes store has one place to
 * plug in. Replaced at merge by the modes store; until then every deployment runs.
 */
export async function currentMode(_env: Env): Promise<Mode> {
  return "running";
}
