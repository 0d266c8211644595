import { parseSyncConfig, type SyncConfig } from "../config/config-toml.ts";
import { resolveMappings } from "../config/effective.ts";
import { SyncError, toSyncError } from "../lib/errors.ts";
import { type CompiledMapping, compileMapping } from "../mapping/engine.ts";
import {
  type OrgCapabilities,
  orgCapabilities,
  PLAIN_ORG,
  type SObjectDescribe,
} from "../mapping/schema-salesforce.ts";
import { loadSchemas } from "../mapping/schema-source.ts";
import type { ObjectMapping } from "../mapping/types.ts";
import type { DirectoryOptions } from "../mapping/users.ts";
import { type ValidationIssue, validateMappings } from "../mapping/validate.ts";
import type { DeletePolicy } from "../plan/decision.ts";
import type { BreakerLimits } from "../plan/mass-update.ts";
import type { Strategy, SyncDirection } from "../plan/plan-fields.ts";
import { latestConfig } from "../store/config.ts";
import type { SyncDeps } from "./deps.ts";
import { cachedSchemaSource } from "./schema-source.ts";

/** The mappings in force, compiled once per config version and org. */
export interface Runtime {
  configVersion: number;
  /** What the org has, as learnt from describe. */
  org: OrgCapabilities;
  /** From a stored config document when there is one, else from SYNC_DIRECTION / CONFLICT_RESOLUTION. */
  direction: SyncDirection;
  strategy: Strategy;
  config: SyncConfig;
  mappings: CompiledMapping[];
  byAttioObject(slug: string): CompiledMapping | undefined;
  bySalesforceObject(name: string): CompiledMapping | undefined;
  deletePolicy(mappingName: string): DeletePolicy;
  /** Option/status titles per Attio object and attribute, so no value Attio lacks is ever written. */
  attioTitles(attioObject: string): Readonly<Record<string, readonly string[]>> | undefined;
  /** Problems found when the mappings were checked against both live schemas. */
  issues: ValidationIssue[];
  /** Whether the mappings were checked against both live schemas (false: an API was down). */
  validated: boolean;
  /** Where owners come from: `[mappings.users]` (see directory.ts). */
  directoryOptions: DirectoryOptions;
  /** What trips the mass-update breaker: `[breaker]` (plan/mass-update.ts). */
  breaker: BreakerLimits;
}

/** KV key of the org's capabilities learnt from describe (country picklists, multi-currency, ...). */
export const ORG_CAPABILITIES_KEY = "schema:salesforce:capabilities";
const CAPABILITIES_TTL_SECONDS = 3600;

let cached: { key: string; runtime: Runtime } | undefined;

/**
 * Drops the isolate's runtime, so the next call builds it from the (possibly new) schemas: after
 * an Attio schema change event has emptied the schema cache.
 */
export function forgetRuntime(): void {
  cached = undefined;
}

/**
 * How a caller takes a runtime whose schemas cannot be read right now (Salesforce cannot describe
 * the org, Attio cannot list attributes): `required` (syncing) fails with a retryable error, since
 * mappings guessed without them would write other fields than a healthy run; `best_effort` (reports
 * such as /api/v1/status) gets the plainest org and unchecked mappings, for this call only.
 */
export type SchemaNeed = "required" | "best_effort";

/**
 * The effective configuration: the newest config document stored through `/api/v1/config` (D1
 * `config_versions`), else the defaults, applied to the org's capabilities. Only a runtime built
 * from schemas read in full is kept for the hour.
 */
export async function loadRuntime(
  deps: SyncDeps,
  kv: KVNamespace,
  schemas: SchemaNeed = "required",
  /** The stored configuration when the caller started reading it already (see storedConfig). */
  stored: Promise<StoredConfig> = latestConfig(deps.db),
): Promise<Runtime> {
  const latest = await stored;
  const capabilities = await loadCapabilities(deps, kv, schemas, () =>
    parseSyncConfig(latest?.toml ?? "").custom_mappings.map((custom) => custom.salesforce_object),
  );
  const org = capabilities ?? PLAIN_ORG;
  // Schemas are re-read (from their KV cache) at least hourly.
  const hour = Math.floor(Date.now() / 3_600_000);
  const key = `${latest?.version ?? 0}:${JSON.stringify(org)}:${deps.config.SYNC_DIRECTION}:${deps.config.CONFLICT_RESOLUTION}:${hour}`;
  if (capabilities && cached?.key === key) return withBulkThreshold(deps, cached.runtime);
  const config = parseSyncConfig(latest?.toml ?? "");
  const sync = latest
    ? config.sync
    : { direction: deps.config.SYNC_DIRECTION, conflict_resolution: deps.config.CONFLICT_RESOLUTION };
  const validation = await loadValidation(deps, kv, resolveMappings(config, org), schemas);
  const runtime = buildRuntime(latest?.version ?? 0, config, org, sync.direction, sync.conflict_resolution, validation);
  // A runtime built without the live schemas (an API was down) is used for this call only.
  if (capabilities && validation) cached = { key, runtime };
  return withBulkThreshold(deps, runtime);
}

type StoredConfig = Awaited<ReturnType<typeof latestConfig>>;

/**
 * Starts reading the stored configuration for a later loadRuntime: the queue consumer reads it
 * while it reads the mode, one D1 round trip instead of two before a batch's work begins. A read
 * that fails is left to loadRuntime's caller.
 */
export function storedConfig(deps: SyncDeps): Promise<StoredConfig> {
  const reading = latestConfig(deps.db);
  reading.catch(() => undefined);
  return reading;
}

/** The error a sync gets when the schemas it needs cannot be read: retried, never guessed around. */
function schemasUnavailable(what: string, thrown: unknown): SyncError {
  const error = toSyncError(thrown);
  return new SyncError("upstream_unavailable", `${what}: ${error.message}`, {
    status: 503,
    retryable: true,
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
    detail: { cause_code: error.code },
    cause: error,
  });
}

/**
 * A stored config's `[salesforce] bulk_threshold` and `[sync] batch_size` replace
 * SALESFORCE_BULK_THRESHOLD and BATCH_SIZE on this invocation's client.
 */
function withBulkThreshold(deps: SyncDeps, runtime: Runtime): Runtime {
  const threshold = runtime.config.salesforce.bulk_threshold;
  if (threshold !== undefined) deps.salesforce.setBulkThreshold(threshold);
  const size = runtime.config.sync.batch_size;
  if (size !== undefined) deps.salesforce.setCollectionSize(size);
  return runtime;
}

export function buildRuntime(
  version: number,
  config: SyncConfig,
  org: OrgCapabilities,
  direction: SyncDirection,
  strategy: Strategy,
  validated?: Validation,
): Runtime {
  const mappings = (validated?.mappings ?? resolveMappings(config, org))
    .filter((m) => m.enabled && !m.read_only)
    .map(compileMapping);
  const policies = deletePolicies(config);
  return {
    configVersion: version,
    org,
    direction,
    strategy,
    config,
    mappings,
    byAttioObject: (slug) => mappings.find((m) => m.mapping.attio_object === slug),
    bySalesforceObject: (name) => mappings.find((m) => m.mapping.salesforce_object === name),
    deletePolicy: (name) => policies[name] ?? "hold",
    attioTitles: (object) => validated?.titles[object],
    issues: validated?.issues ?? [],
    validated: validated !== undefined,
    directoryOptions: { defaultOwnerEmail: config.mappings.users.default_owner_email },
    breaker: breakerLimits(config),
  };
}

/** config.toml `[breaker]` as the policy reads it. */
export function breakerLimits(config: SyncConfig): BreakerLimits {
  const { breaker } = config;
  return {
    enabled: breaker.enabled,
    maxRecords: breaker.max_records,
    maxShare: breaker.max_share,
    minRecords: breaker.min_records,
    windowMinutes: breaker.window_minutes,
  };
}

function deletePolicies(config: SyncConfig): Record<string, DeletePolicy> {
  const { companies, people, deals } = config.mappings;
  return {
    companies: companies.delete_policy,
    people: people.delete_policy,
    deals: deals.delete_policy,
    ...Object.fromEntries(config.custom_mappings.map((custom) => [custom.name, custom.delete_policy])),
  };
}

/**
 * What the org has (State & Country picklists, multi-currency, LinkedIn__c, the objects with an
 * Attio_Record_Id__c External ID, custom mappings' objects included), from describe, cached
 * in KV for an hour. An object describe answers "no such object" for counts as absent (the org
 * genuinely lacks it). When Salesforce cannot answer at all, a sync fails (retried later) and a
 * best-effort caller gets undefined (the plainest org, for this call only).
 */
async function loadCapabilities(
  deps: SyncDeps,
  kv: KVNamespace,
  need: SchemaNeed,
  customObjects: () => readonly string[],
): Promise<OrgCapabilities | undefined> {
  const stored = await kv.get<OrgCapabilities>(ORG_CAPABILITIES_KEY, "json");
  // Stored by an older version, a key may be missing: the plain org's value stands in.
  if (stored) return { ...PLAIN_ORG, ...stored };
  try {
    // The same cached describes the schema validation reads: each object is described once.
    const source = cachedSchemaSource(deps.attio, deps.salesforce, kv);
    const describes: Record<string, SObjectDescribe> = {};
    // Custom mappings' objects too: each may have the conventional External ID field.
    for (const object of new Set(["Account", "Contact", "Opportunity", ...customObjects()])) {
      const describe = await source.salesforceDescribe(object);
      if (describe) describes[object] = describe;
    }
    const capabilities = orgCapabilities(describes);
    await kv.put(ORG_CAPABILITIES_KEY, JSON.stringify(capabilities), { expirationTtl: CAPABILITIES_TTL_SECONDS });
    return capabilities;
  } catch (err) {
    if (need === "required") throw schemasUnavailable("Salesforce could not describe the org", err);
    deps.log.warn("describe failed; assuming a plain org for this call", { error: toSyncError(err).message });
    return undefined;
  }
}

interface Validation {
  mappings: ObjectMapping[];
  titles: Record<string, Record<string, string[]>>;
  issues: ValidationIssue[];
}

/**
 * The mappings checked against both live schemas (cached in KV): fields that name an attribute or
 * field the CRM lacks are dropped and directions narrowed to what each side can write, so such a
 * field is reported once instead of failing every record. Without the schemas (an API is down) a
 * sync fails and is retried; a best-effort caller gets undefined (the mappings unchecked).
 */
async function loadValidation(
  deps: SyncDeps,
  kv: KVNamespace,
  mappings: ObjectMapping[],
  need: SchemaNeed,
): Promise<Validation | undefined> {
  let schemas: Awaited<ReturnType<typeof loadSchemas>>;
  try {
    schemas = await loadSchemas(cachedSchemaSource(deps.attio, deps.salesforce, kv), mappings);
  } catch (err) {
    if (need === "required") throw schemasUnavailable("the CRM schemas cannot be read", err);
    deps.log.warn("schemas unavailable; mappings unchecked for this call", { error: toSyncError(err).message });
    return undefined;
  }
  const report = validateMappings(mappings, schemas);
  for (const issue of report.issues) deps.log.warn("mapping issue", { ...issue });
  // A mapping that cannot run at all (an object, a match key or a required field the CRMs lack)
  // comes back switched off; /api/v1/status reports it as a problem. A field that cannot run is
  // dropped and the rest of its mapping runs.
  return { mappings: report.mappings, titles: schemas.attioTitles, issues: report.issues };
}
