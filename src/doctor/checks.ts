import { CRON_STALE_MS } from "../sync/health.ts";

/**
 * The doctor's rules: a pure function from facts read from Attio, Salesforce and the Worker's own
 * storage to one answer per check, each with the fix in plain words. `GET /api/v1/doctor` and
 * `npm run doctor` gather the facts differently (doctor/gather.ts) and share these rules.
 */

export type CheckStatus = "pass" | "warn" | "fail";

export type CheckId =
  | "attio_key"
  | "attio_scopes"
  | "attio_webhook"
  | "salesforce_token"
  | "salesforce_api_version"
  | "salesforce_access"
  | "salesforce_cdc"
  | "salesforce_external_id"
  | "relay_recent"
  | "cron_recent";

export interface CheckResult {
  id: CheckId;
  status: CheckStatus;
  /** What was found. */
  message: string;
  /** What to do about it; absent when the check passes. */
  fix?: string;
}

/** An API call that failed: its SyncError code (`auth_failed`: credentials refused) and message. */
export interface CallFailure {
  code: string;
  message: string;
}

export type Read<T> = { ok: true; value: T } | { ok: false; error: CallFailure };

/** A field of a Salesforce describe, as the checks read it. */
export interface DescribedField {
  name: string;
  createable: boolean;
  updateable: boolean;
  externalId: boolean;
}

/** One enabled mapping's Salesforce side: the object, the fields it writes and reads. */
export interface MappedObject {
  mapping: string;
  object: string;
  readOnly: boolean;
  /** Fields written to Salesforce. */
  writes: string[];
  /** Fields only read from Salesforce. */
  reads: string[];
  /** The External ID field creates upsert on: configured, or ATTIO_RECORD_ID_FIELD when found. */
  externalIdField: string | null;
  /** Whether externalIdField was configured explicitly (then it must exist). */
  externalIdConfigured: boolean;
  describe: Read<{ createable: boolean; updateable: boolean; fields: DescribedField[] }>;
}

export interface DoctorFacts {
  now: Date;
  attio: {
    self: Read<{ active: boolean; scope: string | null }>;
    /** The Attio webhooks, or why they could not be listed (null: not read, the key is unusable). */
    webhooks: Read<{ target: string; status: string; events: string[] }[]> | null;
    /** Where the webhook must deliver: `<worker>/webhooks/attio`; null when the Worker's URL is unknown. */
    expectedTarget: string | null;
  };
  salesforce: {
    token: Read<null>;
    /** The configured SALESFORCE_API_VERSION and what the org serves (null: not read). */
    apiVersion: { wanted: string; available: Read<string[]> | null };
    objects: MappedObject[];
    /** Change event names selected on the standard ChangeEvents channel (null: not read). */
    cdc: Read<string[]> | null;
  };
  /** The Worker's own evidence; null when the doctor runs outside the Worker (`npm run doctor`). */
  worker: {
    /** When the relay last delivered a change event (inbound_events, kept DEDUPE_RETENTION_DAYS). */
    lastRelayEvent: string | null;
    /** `cron:last-run`'s `at`. */
    lastCronRun: string | null;
  } | null;
}

/** Scopes the Worker's Attio key needs (README "Prerequisites"); `read-write` includes `read`. */
export const REQUIRED_ATTIO_SCOPES = [
  "record_permission:read-write",
  "object_configuration:read",
  "user_management:read",
] as const;

/** Events the Worker's Attio webhook must be subscribed to. */
export const WEBHOOK_EVENTS = ["record.created", "record.updated", "record.deleted", "record.merged"] as const;
/** Events that refresh the cached Attio schema at once (without them, within the hour). */
export const SCHEMA_EVENTS = ["object-attribute.created", "object-attribute.updated"] as const;

/** No change event for a day is worth a look (unless nobody edited Salesforce records). */
export const RELAY_QUIET_MS = 24 * 60 * 60 * 1000;

const DEPLOYMENT_DOC = "docs/DEPLOYMENT.md";

/** Every check's answer, in a fixed order. */
export function evaluateDoctor(facts: DoctorFacts): CheckResult[] {
  return [
    ...attioChecks(facts),
    ...salesforceChecks(facts),
    ...(facts.worker ? workerChecks(facts.worker, facts.now) : []),
  ];
}

/** The overall answer: the worst status of any check. */
export function overall(results: readonly CheckResult[]): CheckStatus {
  if (results.some((r) => r.status === "fail")) return "fail";
  if (results.some((r) => r.status === "warn")) return "warn";
  return "pass";
}

const pass = (id: CheckId, message: string): CheckResult => ({ id, status: "pass", message });
const warn = (id: CheckId, message: string, fix: string): CheckResult => ({ id, status: "warn", message, fix });
const fail = (id: CheckId, message: string, fix: string): CheckResult => ({ id, status: "fail", message, fix });

function attioChecks(facts: DoctorFacts): CheckResult[] {
  const { self } = facts.attio;
  if (!self.ok) {
    const refused = self.error.code === "auth_failed";
    return [
      fail(
        "attio_key",
        refused ? `Attio refused ATTIO_API_KEY: ${self.error.message}` : `Attio did not answer: ${self.error.message}`,
        refused
          ? "Create an API key in Attio (Workspace settings → Developers → New access token) and set it: `wrangler secret put ATTIO_API_KEY` (ATTIO_API_KEY in .dev.vars locally)"
          : "Check ATTIO_API_URL and Attio's status page, then run the doctor again",
      ),
    ];
  }
  if (!self.value.active) {
    return [
      fail(
        "attio_key",
        "ATTIO_API_KEY is not active (revoked or expired)",
        "Create a new API key in Attio (Workspace settings → Developers) and set it: `wrangler secret put ATTIO_API_KEY`",
      ),
    ];
  }
  return [pass("attio_key", "ATTIO_API_KEY is valid and active"), scopeCheck(self.value.scope), webhookCheck(facts)];
}

/** The token's scopes as a set, `x:read-write` also granting `x:read`. */
function grantedScopes(scope: string): Set<string> {
  const granted = new Set<string>();
  for (const s of scope.split(/\s+/).filter(Boolean)) {
    granted.add(s);
    if (s.endsWith(":read-write")) granted.add(s.replace(/:read-write$/, ":read"));
  }
  return granted;
}

function scopeCheck(scope: string | null): CheckResult {
  if (scope === null) {
    return warn(
      "attio_scopes",
      "Attio did not report the key's scopes",
      `Check in Attio (Workspace settings → Developers → the key) that it has ${REQUIRED_ATTIO_SCOPES.join(", ")}`,
    );
  }
  const granted = grantedScopes(scope);
  const missing = REQUIRED_ATTIO_SCOPES.filter((s) => !granted.has(s));
  if (missing.length > 0) {
    return fail(
      "attio_scopes",
      `ATTIO_API_KEY lacks the scopes ${missing.join(", ")}`,
      "In Attio, Workspace settings → Developers → the key: grant those scopes (no new key needed)",
    );
  }
  return pass("attio_scopes", `ATTIO_API_KEY has ${REQUIRED_ATTIO_SCOPES.join(", ")}`);
}

function webhookCheck(facts: DoctorFacts): CheckResult {
  const { webhooks, expectedTarget, self } = facts.attio;
  const scope = self.ok ? self.value.scope : null;
  if (scope !== null && !grantedScopes(scope).has("webhook:read")) {
    return warn(
      "attio_webhook",
      "The webhook cannot be checked: ATTIO_API_KEY has no webhook:read scope",
      "Grant webhook:read to the key in Attio, or check Workspace settings → Developers → Webhooks by hand",
    );
  }
  if (webhooks === null) return warn("attio_webhook", "The Attio webhooks were not read", "Run the doctor again");
  if (!webhooks.ok) {
    return warn(
      "attio_webhook",
      `The Attio webhooks could not be listed: ${webhooks.error.message}`,
      "Check Workspace settings → Developers → Webhooks in Attio by hand",
    );
  }
  const register = `register it: \`npm run attio-webhook\` (or see ${DEPLOYMENT_DOC}, "Attio webhook")`;
  const ours = webhooks.value.filter((w) =>
    expectedTarget === null ? /\/webhooks\/attio\/?$/.test(w.target) : sameUrl(w.target, expectedTarget),
  );
  if (ours.length === 0) {
    return fail(
      "attio_webhook",
      expectedTarget === null
        ? "No Attio webhook delivers to a /webhooks/attio URL"
        : `No Attio webhook delivers to ${expectedTarget}`,
      `Until one does, Attio changes reach Salesforce only through the 5-minute catch-up: ${register}`,
    );
  }
  const usable = ours.filter((w) => w.status !== "inactive");
  if (usable.length === 0) {
    return fail(
      "attio_webhook",
      "The Attio webhook to this Worker is inactive (Attio gave up after 7 days of failed deliveries)",
      `Fix what refused the deliveries (GET /api/v1/status), then delete the webhook in Attio and ${register}`,
    );
  }
  const webhook = usable.find((w) => w.status === "active") ?? usable[0];
  const missing = WEBHOOK_EVENTS.filter((e) => !webhook?.events.includes(e));
  if (missing.length > 0) {
    return fail(
      "attio_webhook",
      `The Attio webhook to this Worker is not subscribed to ${missing.join(", ")}`,
      `Add those subscriptions to the webhook (PATCH /v2/webhooks/{id}), or delete it and ${register}`,
    );
  }
  const schemaMissing = SCHEMA_EVENTS.filter((e) => !webhook?.events.includes(e));
  if (schemaMissing.length > 0) {
    return warn(
      "attio_webhook",
      `The Attio webhook to this Worker is not subscribed to ${schemaMissing.join(", ")}: a new or changed Attio attribute is seen within the hour instead of at once`,
      `Add those subscriptions to the webhook, or delete it and ${register}`,
    );
  }
  if (webhook?.status === "degraded") {
    return warn(
      "attio_webhook",
      "The Attio webhook to this Worker is degraded: recent deliveries failed",
      "Look at GET /api/v1/status for why the Worker refused them; after 7 days degraded Attio marks it inactive",
    );
  }
  if (usable.length > 1) {
    return warn(
      "attio_webhook",
      `${usable.length} Attio webhooks deliver to this Worker: every change arrives more than once`,
      "Delete all but one in Attio (Workspace settings → Developers → Webhooks); duplicates are dropped, but cost requests",
    );
  }
  return pass("attio_webhook", "An active Attio webhook delivers to this Worker with every record event");
}

function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, "").toLowerCase() === b.replace(/\/+$/, "").toLowerCase();
}

function salesforceChecks(facts: DoctorFacts): CheckResult[] {
  const sf = facts.salesforce;
  if (!sf.token.ok) {
    const refused = sf.token.error.code === "auth_failed";
    return [
      fail(
        "salesforce_token",
        `No Salesforce token: ${sf.token.error.message}`,
        refused
          ? `Check SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (the External Client App's consumer key and secret), that the app has "Enable Client Credentials Flow" with a Run As user, and that SALESFORCE_LOGIN_URL is the org's My Domain URL (${DEPLOYMENT_DOC}, "Salesforce")`
          : "Check SALESFORCE_LOGIN_URL (the org's My Domain URL) and Salesforce's status, then run the doctor again",
      ),
    ];
  }
  return [
    pass("salesforce_token", "A Salesforce token was issued for the client credentials"),
    apiVersionCheck(sf.apiVersion),
    accessCheck(sf.objects),
    cdcCheck(sf.cdc, sf.objects),
    externalIdCheck(sf.objects),
  ];
}

function apiVersionCheck({ wanted, available }: DoctorFacts["salesforce"]["apiVersion"]): CheckResult {
  if (available === null || !available.ok) {
    return warn(
      "salesforce_api_version",
      `The org's API versions could not be read${available && !available.ok ? `: ${available.error.message}` : ""}`,
      "Run the doctor again",
    );
  }
  if (!available.value.includes(wanted)) {
    const newest = [...available.value].sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))[0];
    return fail(
      "salesforce_api_version",
      `The org does not serve API version ${wanted}${newest ? ` (newest: ${newest})` : ""}`,
      `Set SALESFORCE_API_VERSION to a version the org serves${newest ? `, e.g. "${newest}"` : ""}`,
    );
  }
  return pass("salesforce_api_version", `The org serves API version ${wanted}`);
}

/** The integration user's access to each mapped object and field, from describe. */
function accessCheck(objects: readonly MappedObject[]): CheckResult {
  const problems: string[] = [];
  const notes: string[] = [];
  for (const object of objects) {
    if (!object.describe.ok) {
      problems.push(
        `${object.object} (mapping ${object.mapping}) cannot be described: ${object.describe.error.message}`,
      );
      continue;
    }
    const { fields, createable, updateable } = object.describe.value;
    if (!object.readOnly && object.writes.length > 0 && (!createable || !updateable)) {
      problems.push(`${object.object}: the integration user cannot ${createable ? "edit" : "create"} records`);
    }
    const byName = new Map(fields.map((f) => [f.name, f]));
    for (const name of object.writes) {
      const field = byName.get(name);
      if (!field) problems.push(`${object.object}.${name} is not visible to the integration user`);
      else if (!field.updateable && !field.createable) problems.push(`${object.object}.${name} is read-only`);
      else if (!field.updateable) problems.push(`${object.object}.${name} is not updateable`);
      else if (!field.createable) notes.push(`${object.object}.${name} is not createable (set on updates only)`);
    }
    for (const name of object.reads) {
      if (!byName.has(name)) problems.push(`${object.object}.${name} is not visible to the integration user`);
    }
  }
  const fix =
    "Give the integration user (the External Client App's Run As user) a permission set with Read, Create and Edit on those objects and Edit access to those fields (Setup → Permission Sets → Object Settings), or remove the fields from config.toml (PUT /api/v1/config)";
  if (problems.length > 0) return fail("salesforce_access", problems.join("; "), fix);
  if (notes.length > 0) return warn("salesforce_access", notes.join("; "), fix);
  const count = objects.reduce((n, o) => n + o.writes.length + o.reads.length, 0);
  return pass(
    "salesforce_access",
    `The integration user can read and write ${count} mapped fields on ${objects.map((o) => o.object).join(", ") || "no object"}`,
  );
}

/** `Account` -> `AccountChangeEvent`; `Project__c` -> `Project__ChangeEvent`. */
export function changeEventName(object: string): string {
  return object.endsWith("__c") ? `${object.slice(0, -3)}__ChangeEvent` : `${object}ChangeEvent`;
}

function cdcCheck(cdc: DoctorFacts["salesforce"]["cdc"], objects: readonly MappedObject[]): CheckResult {
  if (cdc === null || !cdc.ok) {
    return warn(
      "salesforce_cdc",
      `Change Data Capture cannot be checked${cdc && !cdc.ok ? `: ${cdc.error.message}` : ""}`,
      `The Tooling API query needs the View Setup and Configuration permission; otherwise check Setup → Integrations → Change Data Capture by hand (see ${DEPLOYMENT_DOC}, "Change Data Capture")`,
    );
  }
  const selected = new Set(cdc.value);
  const needed = objects.filter((o) => !o.readOnly).map((o) => o.object);
  const missing = needed.filter((o) => !selected.has(changeEventName(o)));
  if (missing.length > 0) {
    return fail(
      "salesforce_cdc",
      `Change Data Capture is not enabled for ${missing.join(", ")}: their Salesforce changes arrive only through the 5-minute catch-up`,
      `Setup → Integrations → Change Data Capture: move ${missing.join(", ")} to Selected Entities (5 entities without the add-on license)`,
    );
  }
  if (selected.has("UserChangeEvent")) {
    return warn(
      "salesforce_cdc",
      `Change Data Capture is enabled for ${needed.join(", ")}, and for User, whose events the Worker drops`,
      "Setup → Integrations → Change Data Capture: remove User from Selected Entities; it uses one of the org's entity selections for nothing",
    );
  }
  return pass("salesforce_cdc", `Change Data Capture is enabled for ${needed.join(", ") || "no mapped object"}`);
}

function externalIdCheck(objects: readonly MappedObject[]): CheckResult {
  const problems: string[] = [];
  const absent: string[] = [];
  for (const object of objects) {
    if (object.readOnly || !object.describe.ok) continue;
    const name = object.externalIdField;
    const field = name ? object.describe.value.fields.find((f) => f.name === name) : undefined;
    if (object.externalIdConfigured && name && !field?.externalId) {
      problems.push(
        `${object.object}.${name} (salesforce_external_id_field of ${object.mapping}) ${field ? "is not an External ID" : "does not exist"}`,
      );
    } else if (!field?.externalId) {
      absent.push(object.object);
    }
  }
  if (problems.length > 0) {
    return fail(
      "salesforce_external_id",
      problems.join("; "),
      "Create the field as Text(36), Unique, External ID, visible to the integration user, or remove salesforce_external_id_field from config.toml",
    );
  }
  if (absent.length > 0) {
    return warn(
      "salesforce_external_id",
      `${absent.join(", ")} ${absent.length === 1 ? "has" : "have"} no Attio_Record_Id__c External ID field: a create whose answer is lost can be retried into a duplicate`,
      `Create Attio_Record_Id__c (Text(36), Unique, External ID) on ${absent.join(", ")} (the setup command offers to), visible and editable by the integration user`,
    );
  }
  return pass(
    "salesforce_external_id",
    "Every mapped object creates through its External ID field (idempotent creates)",
  );
}

function workerChecks(worker: NonNullable<DoctorFacts["worker"]>, now: Date): CheckResult[] {
  return [cronCheck(worker.lastCronRun, now), relayCheck(worker.lastRelayEvent, now)];
}

function ago(at: string, now: Date): string {
  const minutes = Math.round((now.getTime() - Date.parse(at)) / 60_000);
  return minutes < 120 ? `${minutes} min ago` : `${Math.round(minutes / 60)} h ago`;
}

function cronCheck(lastRun: string | null, now: Date): CheckResult {
  const fix =
    'Check that wrangler.toml has `[triggers] crons = ["*/5 * * * *"]` and that `wrangler deploy` listed the schedule; Cloudflare dashboard → the Worker → Settings → Trigger Events shows it. A new deployment\'s first run is within 5 minutes';
  if (lastRun === null) return fail("cron_recent", "The cron has never run", fix);
  if (now.getTime() - Date.parse(lastRun) > CRON_STALE_MS) {
    return fail("cron_recent", `The cron last ran ${ago(lastRun, now)} (it runs every 5 minutes)`, fix);
  }
  return pass("cron_recent", `The cron ran ${ago(lastRun, now)}`);
}

function relayCheck(lastEvent: string | null, now: Date): CheckResult {
  const fix =
    "Run the CDC relay (docs/RELAY.md) with this Worker's URL and RELAY_SECRET, check its health endpoint and logs, then edit a Salesforce record of a mapped object";
  if (lastEvent === null) {
    return warn("relay_recent", "No change event from the relay in the last 7 days (or ever)", fix);
  }
  if (now.getTime() - Date.parse(lastEvent) > RELAY_QUIET_MS) {
    return warn(
      "relay_recent",
      `The relay last delivered a change event ${ago(lastEvent, now)}: fine if nobody edited a mapped record since`,
      fix,
    );
  }
  return pass("relay_recent", `The relay delivered a change event ${ago(lastEvent, now)}`);
}
