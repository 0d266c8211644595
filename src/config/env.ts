import { z } from "zod";
import { SyncError } from "../lib/errors.ts";
import { LOG_LEVELS } from "../lib/log.ts";

const secret = (name: string) =>
  z.string({ error: `${name} is not set (use \`wrangler secret put ${name}\`, or .dev.vars locally)` }).min(1, {
    error: `${name} is empty`,
  });

/** Bearer tokens and HMAC keys: long enough that guessing them is hopeless (`openssl rand -hex 32`). */
export const MIN_TOKEN_LENGTH = 32;

const token = (name: string) =>
  secret(name).min(MIN_TOKEN_LENGTH, {
    error: `${name} must be at least ${MIN_TOKEN_LENGTH} characters (generate one with \`openssl rand -hex 32\`)`,
  });

const httpUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .transform((url) => url.replace(/\/+$/, ""));

/**
 * The configuration contract: every variable and secret the Worker reads. Names are stable:
 * users' deployments and the sandbox depend on them (README "Configuration").
 */
export const EnvConfigSchema = z.object({
  ATTIO_API_URL: httpUrl.default("https://api.attio.com"),
  ATTIO_API_KEY: secret("ATTIO_API_KEY"),
  ATTIO_WEBHOOK_SECRET: secret("ATTIO_WEBHOOK_SECRET"),
  /**
   * The next webhook's secret during a rotation (`npm run attio-webhook -- rotate`): deliveries
   * signed with either secret are accepted until ATTIO_WEBHOOK_SECRET is replaced, so no gap.
   */
  ATTIO_WEBHOOK_SECRET_NEXT: secret("ATTIO_WEBHOOK_SECRET_NEXT").optional(),
  /**
   * The org's My Domain URL (https://<domain>.my.salesforce.com): the client credentials flow is
   * not served by login.salesforce.com or test.salesforce.com.
   */
  SALESFORCE_LOGIN_URL: httpUrl
    .refine((url) => !/^https?:\/\/YOUR-DOMAIN\./i.test(url), {
      error: "is still the placeholder of wrangler.toml: set it to your org's My Domain URL",
    })
    .refine((url) => !/^https?:\/\/(login|test)\.salesforce\.com$/i.test(url), {
      error:
        "must be your org's My Domain URL (https://<domain>.my.salesforce.com): login.salesforce.com and test.salesforce.com do not serve the client credentials flow",
    }),
  SALESFORCE_CLIENT_ID: secret("SALESFORCE_CLIENT_ID"),
  SALESFORCE_CLIENT_SECRET: secret("SALESFORCE_CLIENT_SECRET"),
  SALESFORCE_API_VERSION: z
    .string()
    .regex(/^\d{2,3}\.0$/, { error: 'must look like "62.0"' })
    .default("62.0"),
  RELAY_SECRET: token("RELAY_SECRET"),
  ADMIN_TOKEN: token("ADMIN_TOKEN"),
  /** The next admin token during a rotation: both are accepted until ADMIN_TOKEN is replaced. */
  ADMIN_TOKEN_NEXT: token("ADMIN_TOKEN_NEXT").optional(),
  /** A read-only token: accepted for the management API's GET routes only (dashboards, monitoring). */
  ADMIN_READ_TOKEN: token("ADMIN_READ_TOKEN").optional(),
  SYNC_DIRECTION: z.enum(["bidirectional", "attio_to_sf", "sf_to_attio"]).default("bidirectional"),
  CONFLICT_RESOLUTION: z.enum(["last_write", "attio_wins", "sf_wins", "manual"]).default("last_write"),
  /** Records per sObject Collections request (Salesforce's maximum, 200, unless an org needs fewer). */
  BATCH_SIZE: z.coerce.number().int().min(1).max(200).default(200),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  /**
   * `on`: a webhook bringing a few changes made by people syncs them in its own invocation, with a
   * queued backup (queue/inline.ts); `off` (the default): every change waits for the queue's delivery.
   */
  LIVE_SYNC_INLINE: z.enum(["on", "off"]).default("off"),
  /**
   * `on` (the default): once our actor is known, an Attio webhook that still delivers the echoes of
   * our writes gets a filter leaving our actor out (sync/echo-filter.ts); `off`: the Worker never
   * changes a webhook, and the echoes are dropped on arrival.
   */
  ATTIO_ECHO_FILTER: z.enum(["on", "off"]).default("on"),
  /**
   * `max_retries` of the live and job queues' consumers in wrangler.toml (a Worker cannot read its
   * own queue settings): on the last delivery a change is recorded with its own error, and an
   * outage is parked by then at the latest. Change both together.
   */
  QUEUE_MAX_RETRIES: z.coerce.number().int().min(0).max(100).default(8),
  /** Share of Salesforce's daily API allocation left to the org's other integrations (0-0.9). */
  SALESFORCE_BUDGET_RESERVE: z.coerce.number().min(0).max(0.9).default(0.2),
  /**
   * Salesforce writes of at least this many records in one call go through a Bulk API 2.0 job
   * instead of sObject Collections. config.toml's `[salesforce] bulk_threshold` wins when set.
   */
  SALESFORCE_BULK_THRESHOLD: z.coerce.number().int().min(1).default(2000),
  /**
   * The APIs' rate limits the shared limiter keeps under (Attio publishes 100 reads/s and 25
   * writes/s per workspace and may lower them; Salesforce calls are spaced to be polite). Work runs
   * at 98% of each Attio limit and no one-second window exceeds it.
   */
  ATTIO_READS_PER_SECOND: z.coerce.number().min(1).max(1000).default(100),
  ATTIO_WRITES_PER_SECOND: z.coerce.number().min(1).max(1000).default(25),
  SALESFORCE_CALLS_PER_SECOND: z.coerce.number().min(1).max(1000).default(20),
  /**
   * Longest wait for an answer from Attio or Salesforce's token endpoint: a hung request fails as
   * retryable instead of holding its batch (and the leases it renews) until the invocation dies.
   */
  UPSTREAM_TIMEOUT_SECONDS: z.coerce.number().min(1).max(600).default(30),
  /**
   * Longest wait for an answer to one Salesforce API request. Longer than Attio's: a Collections
   * write of 200 records runs the org's triggers and flows, which can legitimately take a minute.
   * A request with no answer by then fails as retryable instead of holding its batch until the
   * invocation dies (jsforce's fetch transport has no timeout of its own).
   */
  SALESFORCE_TIMEOUT_SECONDS: z.coerce.number().min(1).max(600).default(120),
  /** A sync job with no progress for this long is driven again by the cron (lost messages). */
  JOB_STALL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /** Audit history older than this is deleted by the scheduled cleanup (src/plan/retention.ts). */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
  /**
   * Finished jobs (with their records, plans and match indexes) and decided items (failures
   * replayed or dismissed, conflicts resolved, held deletes and mass updates approved or rejected,
   * ambiguous matches settled, warnings cleared) older than this are deleted by the cron.
   * Open items and running jobs are kept whatever their age (src/plan/retention.ts).
   */
  RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /**
   * Where alerts are posted when a problem of /api/v1/status opens or clears (docs/OPERATIONS.md
   * "Alerts"); unset: no alerts. A Slack incoming-webhook URL works as it is.
   */
  ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  /** Signs each alert (HMAC-SHA256 of "timestamp.body"): required with ALERT_WEBHOOK_URL. A secret. */
  ALERT_WEBHOOK_SECRET: token("ALERT_WEBHOOK_SECRET").optional(),
  /** Identifies our writes in Salesforce change events (Sforce-Call-Options: client=...). */
  SALESFORCE_CLIENT_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: "letters, digits, - and _ only" })
    .default("attio-sfdc"),
});

export type EnvConfig = z.infer<typeof EnvConfigSchema>;

/** Only the string variables of the Worker's env take part; bindings are checked where used. */
function pickVars(env: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(EnvConfigSchema.shape)) {
    const value = (env as Record<string, unknown>)[key];
    // Empty strings in wrangler.toml mean "unset" so that defaults apply.
    if (value !== undefined && value !== "") out[key] = value;
  }
  return out;
}

/**
 * Validates the env at the start of a handler. The error names every missing or invalid variable and
 * never echoes a value, so a secret cannot leak into a log or a response.
 */
export function parseEnvConfig(env: object): EnvConfig {
  const known = parsed.get(env);
  if (known) return known;
  const config = parseVars(env);
  parsed.set(env, config);
  return config;
}

/**
 * Configurations already parsed, per env object. The runtime hands every request and batch of an
 * isolate the same env, whose variables cannot change while it lives (a new deployment or secret
 * starts a new isolate), so each isolate validates them once instead of on every webhook.
 */
const parsed = new WeakMap<object, EnvConfig>();

/** Variables that only work together. */
function together(config: EnvConfig): { variable: string; problem: string }[] {
  if (config.ALERT_WEBHOOK_URL && !config.ALERT_WEBHOOK_SECRET) {
    return [
      {
        variable: "ALERT_WEBHOOK_SECRET",
        problem:
          "is required with ALERT_WEBHOOK_URL: every alert is signed (use `wrangler secret put ALERT_WEBHOOK_SECRET`)",
      },
    ];
  }
  return [];
}

function parseVars(env: object): EnvConfig {
  const result = EnvConfigSchema.safeParse(pickVars(env));
  const problems = result.success
    ? together(result.data)
    : result.error.issues.map((issue) => ({ variable: issue.path.join("."), problem: issue.message }));
  if (result.success && problems.length === 0) return result.data;
  throw new SyncError(
    "config_invalid",
    `Invalid configuration: ${problems.map((p) => `${p.variable}: ${p.problem}`).join("; ")}`,
    {
      status: 500,
      detail: { problems },
    },
  );
}
