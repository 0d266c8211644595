import { AttioClient } from "../attio/client.ts";
import { saveOwnActor } from "../attio/own-actor.ts";
import type { EnvConfig } from "../config/env.ts";
import { type Limiter, sharedLimiter } from "../durable/limiter.ts";
import { bucketsFor } from "../durable/limits.ts";
import type { Logger } from "../lib/log.ts";
import { SalesforceClient } from "../salesforce/client.ts";
import { type Db, openDb } from "../store/db.ts";

/** What the pipeline needs from the outside world, built once per invocation from the env. */
export interface SyncDeps {
  config: EnvConfig;
  db: Db;
  attio: AttioClient;
  salesforce: SalesforceClient;
  locks: Env["RECORD_LOCK"];
  log: Logger;
}

export function buildDeps(env: Env, config: EnvConfig, log: Logger): SyncDeps {
  const limiter = limiterOf(env, config);
  return {
    config,
    db: openDb(env.DB),
    attio: attioClient(env, config, log, limiter),
    salesforce: new SalesforceClient({
      token: {
        loginUrl: config.SALESFORCE_LOGIN_URL,
        clientId: config.SALESFORCE_CLIENT_ID,
        clientSecret: config.SALESFORCE_CLIENT_SECRET,
        timeoutMs: config.UPSTREAM_TIMEOUT_SECONDS * 1000,
      },
      apiVersion: config.SALESFORCE_API_VERSION,
      clientName: config.SALESFORCE_CLIENT_NAME,
      limiter,
      bulkThreshold: config.SALESFORCE_BULK_THRESHOLD,
      collectionSize: config.BATCH_SIZE,
      requestTimeoutMs: config.SALESFORCE_TIMEOUT_SECONDS * 1000,
    }),
    locks: env.RECORD_LOCK,
    log,
  };
}

/** The Attio client of the sync: it stores our own actor when its creates reveal it (own-actor.ts). */
export function attioClient(env: Env, config: EnvConfig, log: Logger, limiter: Limiter): AttioClient {
  return new AttioClient({
    apiUrl: config.ATTIO_API_URL,
    apiKey: config.ATTIO_API_KEY,
    limiter,
    timeoutMs: config.UPSTREAM_TIMEOUT_SECONDS * 1000,
    onOwnActor: async (actor) => {
      // Only saves work: a KV failure must not fail the write that taught it.
      try {
        await saveOwnActor(env.CURSORS, actor);
        log.info("learned our own Attio actor: the echoes of our writes are dropped on arrival", {
          actor_type: actor.type,
        });
      } catch (err) {
        log.warn("could not store our own Attio actor", { error: String(err) });
      }
    },
  });
}

/** The shared rate limiter at the configured rates. */
export function limiterOf(env: Env, config: EnvConfig): Limiter {
  const buckets = bucketsFor({
    attioReadsPerSecond: config.ATTIO_READS_PER_SECOND,
    attioWritesPerSecond: config.ATTIO_WRITES_PER_SECOND,
    salesforceCallsPerSecond: config.SALESFORCE_CALLS_PER_SECOND,
  });
  return sharedLimiter(env.RATE_LIMITER, buckets);
}
