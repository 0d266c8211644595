import type { EnvConfig } from "../config/env.ts";
import type { Logger } from "../lib/log.ts";

/** Hono's typing of this Worker: its bindings and what middleware puts on the context. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    config: EnvConfig;
    log: Logger;
    correlationId: string;
    /** Which admin token authenticated the request (set by requireAdmin). */
    adminTokenUsed: "current" | "next" | "read";
  };
}
