import { dirname, join } from "node:path";
import { z } from "zod";
import { SyncError } from "../../src/lib/errors.ts";
import { LOG_LEVELS, type LogLevel } from "../../src/lib/log.ts";
import { isChangeEventChannel } from "./catchup.ts";

/** Plain http is allowed only to this machine (the local sandbox and tests); anything else must be https. */
function isLoopback(hostname: string): boolean {
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
}

const secureUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .refine((value) => {
    const url = new URL(value);
    return url.protocol === "https:" || isLoopback(url.hostname);
  }, "must be https (plain http only to 127.0.0.1 / localhost)")
  .transform((value) => value.replace(/\/+$/, ""));

const secret = z.string().min(1, { error: "is empty" });

const int = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` })
    .default(fallback);

const csv = z.string().transform((value) =>
  value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0),
);

/** host:port of the Pub/Sub API; loopback endpoints are reached without TLS (the local fake server). */
const endpoint = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, { error: "must be host:port" });

/**
 * Every variable the relay reads. The Salesforce and RELAY_SECRET names are shared with the Worker
 * (same meaning, same values); the RELAY_* ones are the relay's own.
 */
export const RelayEnvSchema = z.object({
  SALESFORCE_LOGIN_URL: secureUrl,
  SALESFORCE_CLIENT_ID: secret,
  SALESFORCE_CLIENT_SECRET: secret,
  // The same minimum as the Worker's (src/config/env.ts MIN_TOKEN_LENGTH).
  RELAY_SECRET: secret.refine(
    (value) => value.length >= 32,
    "must be at least 32 characters (generate one with `openssl rand -hex 32`)",
  ),
  WORKER_URL: secureUrl,
  RELAY_CHANNELS: csv
    .default(["/data/ChangeEvents"])
    .refine((channels) => channels.length > 0, "lists no channel")
    .refine(
      (channels) => channels.every(isChangeEventChannel),
      "each channel must be a change data capture channel: /data/ChangeEvents, /data/<Object>ChangeEvent or /data/<Name>__chn",
    )
    .refine((channels) => new Set(channels).size === channels.length, "lists a channel twice"),
  RELAY_CATCHUP_ENTITIES: csv
    .default(["Account", "Contact", "Opportunity"])
    .refine((names) => names.every((name) => /^\w+$/.test(name)), "must be object API names, comma separated"),
  RELAY_REPLAY_STORE: z.string().min(1).default("./.relay/replay-ids.json"),
  /** Defaults to dead-letters.jsonl beside the replay store. */
  RELAY_DEAD_LETTER_FILE: z.string().min(1).optional(),
  RELAY_MAX_REJECTIONS: int(1, 100, 5),
  RELAY_PUBSUB_ENDPOINT: endpoint.default("api.pubsub.salesforce.com:7443"),
  RELAY_HEALTH_HOST: z.string().min(1).default("127.0.0.1"),
  /** PORT is what Cloud Run and most container hosts set. */
  RELAY_HEALTH_PORT: int(0, 65535, 8080),
  RELAY_BATCH_SIZE: int(1, 1000, 100),
  RELAY_BATCH_MAX_BYTES: int(1024, 50 * 1024 * 1024, 5 * 1024 * 1024),
  RELAY_BATCH_LINGER_MS: int(0, 60_000, 1000),
  RELAY_BUFFER_CAPACITY: int(1, 100_000, 1000),
  RELAY_WORKER_TIMEOUT_MS: int(1000, 300_000, 30_000),
  RELAY_RETRY_BASE_MS: int(10, 60_000, 1000),
  RELAY_RETRY_MAX_MS: int(100, 3_600_000, 60_000),
  RELAY_STALL_AFTER_MS: int(1000, 86_400_000, 300_000),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
});

export interface RelayConfig {
  salesforce: { loginUrl: string; clientId: string; clientSecret: string; pubSubEndpoint: string };
  worker: { url: string; secret: string; timeoutMs: number };
  channels: string[];
  catchupEntities: string[];
  replayStorePath: string;
  /** JSON lines of the events the relay gave up on. */
  deadLetterPath: string;
  /** POSTs of a batch the Worker refuses for its content before its events are parked. */
  maxRejections: number;
  health: { host: string; port: number; stallAfterMs: number };
  batch: { maxEvents: number; maxBytes: number; lingerMs: number };
  bufferCapacity: number;
  retry: { baseMs: number; maxMs: number };
  logLevel: LogLevel;
}

/** One bad setting: the environment variable and what is wrong with it, never its value. */
export interface ConfigProblem {
  variable: string;
  problem: string;
}

/** Edits (insert, delete, replace a character) between two names. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const replace = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, replace);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * A RELAY_ variable the schema does not know, within two edits of one it does, is a typo (say
 * RELAY_BATCHSIZE) whose setting would otherwise be silently ignored. Others are left alone: a
 * platform may set its own (Kubernetes injects RELAY_SERVICE_HOST, RELAY_PORT... for a Service
 * named "relay").
 */
function misspeltVariables(env: Record<string, string | undefined>): ConfigProblem[] {
  const known = Object.keys(RelayEnvSchema.shape);
  return Object.keys(env)
    .filter((key) => key.startsWith("RELAY_") && !known.includes(key))
    .sort()
    .flatMap((variable) => {
      const [closest] = known
        .map((name) => ({ name, distance: editDistance(variable, name) }))
        .filter(({ distance }) => distance <= 2)
        .sort((a, b) => a.distance - b.distance);
      return closest ? [{ variable, problem: `is not a relay setting: did you mean ${closest.name}?` }] : [];
    });
}

/** Settings that are each valid but contradict one another. */
function crossProblems(e: z.infer<typeof RelayEnvSchema>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (e.RELAY_RETRY_MAX_MS < e.RELAY_RETRY_BASE_MS) {
    problems.push({ variable: "RELAY_RETRY_MAX_MS", problem: "is below RELAY_RETRY_BASE_MS" });
  }
  if (e.RELAY_BUFFER_CAPACITY < e.RELAY_BATCH_SIZE) {
    problems.push({
      variable: "RELAY_BUFFER_CAPACITY",
      problem: "must be at least RELAY_BATCH_SIZE, or batches never fill",
    });
  }
  return problems;
}

/**
 * Reads the relay's configuration from the environment. The error lists every bad or missing
 * variable by name (in `detail.problems`, one per setting) and never repeats a value, so a secret
 * cannot end up in a log.
 */
export function loadRelayConfig(env: Record<string, string | undefined>): RelayConfig {
  const input: Record<string, string> = {};
  for (const key of Object.keys(RelayEnvSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== "") input[key] = value;
  }
  if (input["RELAY_HEALTH_PORT"] === undefined && env["PORT"]) input["RELAY_HEALTH_PORT"] = env["PORT"];
  const result = RelayEnvSchema.safeParse(input);
  const problems = misspeltVariables(env);
  if (result.success) problems.push(...crossProblems(result.data));
  else {
    for (const issue of result.error.issues) {
      const variable = issue.path.join(".");
      // One line per setting: the first problem found is the one to fix first.
      if (problems.some((p) => p.variable === variable)) continue;
      // A required variable that is absent says so, whatever its schema's wording for a bad value.
      const missing = issue.code === "invalid_type" && input[variable] === undefined;
      problems.push({ variable, problem: missing ? "is not set" : issue.message });
    }
  }
  if (!result.success || problems.length > 0) {
    throw new SyncError(
      "config_invalid",
      `Invalid relay configuration: ${problems.map((p) => `${p.variable}: ${p.problem}`).join("; ")}`,
      { detail: { problems } },
    );
  }
  const e = result.data;
  return {
    salesforce: {
      loginUrl: e.SALESFORCE_LOGIN_URL,
      clientId: e.SALESFORCE_CLIENT_ID,
      clientSecret: e.SALESFORCE_CLIENT_SECRET,
      pubSubEndpoint: e.RELAY_PUBSUB_ENDPOINT,
    },
    worker: { url: e.WORKER_URL, secret: e.RELAY_SECRET, timeoutMs: e.RELAY_WORKER_TIMEOUT_MS },
    channels: e.RELAY_CHANNELS,
    catchupEntities: e.RELAY_CATCHUP_ENTITIES,
    replayStorePath: e.RELAY_REPLAY_STORE,
    deadLetterPath: e.RELAY_DEAD_LETTER_FILE ?? join(dirname(e.RELAY_REPLAY_STORE), "dead-letters.jsonl"),
    maxRejections: e.RELAY_MAX_REJECTIONS,
    health: { host: e.RELAY_HEALTH_HOST, port: e.RELAY_HEALTH_PORT, stallAfterMs: e.RELAY_STALL_AFTER_MS },
    batch: { maxEvents: e.RELAY_BATCH_SIZE, maxBytes: e.RELAY_BATCH_MAX_BYTES, lingerMs: e.RELAY_BATCH_LINGER_MS },
    bufferCapacity: e.RELAY_BUFFER_CAPACITY,
    retry: { baseMs: e.RELAY_RETRY_BASE_MS, maxMs: e.RELAY_RETRY_MAX_MS },
    logLevel: e.LOG_LEVEL,
  };
}

export function isLoopbackEndpoint(hostPort: string): boolean {
  return isLoopback(hostPort.slice(0, hostPort.lastIndexOf(":")));
}
