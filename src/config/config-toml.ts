import { parse, TomlError } from "smol-toml";
import { z } from "zod";
import { SyncError } from "../lib/errors.ts";
import { parseAttioPath } from "../mapping/engine.ts";
import { CLOSE_DATE_FALLBACK_DAYS, TRANSFORM_NAMES } from "../mapping/transforms.ts";
import { ConflictOwnerSchema, DirectionSchema, MatchKeySchema, TransformOptionsSchema } from "../mapping/types.ts";
import { indexTomlLines, lineOf } from "./toml-lines.ts";

/**
 * config.toml: what a deployment chooses beyond env vars (which sync, which mappings). Every table is
 * strict, so a misspelt key is an error naming it rather than a setting silently ignored.
 */

/**
 * Secrets are read from fixed names (wrangler secret put NAME); these keys are accepted only with
 * that name, so an older document still loads and a different name is an error, never ignored.
 */
const fixedEnvName = (name: string) =>
  z
    .literal(name, { error: `the Worker always reads the secret ${name}; remove this key (it cannot name another)` })
    .optional();

const attioPath = z.string().superRefine((path, ctx) => {
  const parsed = parseAttioPath(path);
  if ("error" in parsed) ctx.addIssue({ code: "custom", message: parsed.error });
});

export const FieldOverrideSchema = z.strictObject({
  attio: attioPath,
  salesforce: z.string().min(1),
  transform: z.enum(TRANSFORM_NAMES).default("text"),
  direction: DirectionSchema.default("both"),
  conflict_owner: ConflictOwnerSchema.optional(),
  options: TransformOptionsSchema.optional(),
  /** false removes the default field that writes the same Salesforce field. */
  enabled: z.boolean().default(true),
});
export type FieldOverride = z.infer<typeof FieldOverrideSchema>;

const stringTable = z.record(z.string().min(1), z.string().min(1));

const mappingCommon = {
  enabled: z.boolean().default(true),
  /**
   * What a delete on one side does to the other: `hold` (default) waits for approval in
   * /api/v1/deletes, `propagate` deletes the counterpart, `ignore` only unlinks the pair.
   */
  delete_policy: z.enum(["hold", "propagate", "ignore"]).default("hold"),
  fields: z.array(FieldOverrideSchema).default([]),
  match_keys: z.array(z.strictObject(MatchKeySchema.shape)).optional(),
  salesforce_external_id_field: z.string().min(1).optional(),
  attio_id_attribute: z.string().min(1).optional(),
};

export const DefaultMappingConfigSchema = z.strictObject({
  ...mappingCommon,
  /** Attio category title -> Industry; these rows win over the default table. */
  industries: stringTable.optional(),
});

export const DealsMappingConfigSchema = z.strictObject({
  ...mappingCommon,
  /** Attio status (title or key) -> StageName; replaces the default stage table. */
  stages: stringTable.optional(),
  /**
   * Slugs of the deal attributes a new workspace does not have. Unset: the common slugs are tried
   * (mapping/defaults.ts DEAL_ATTRIBUTE_CANDIDATES); one the workspace lacks is left out with a
   * warning, and CloseDate (required) is then derived from the deal's creation day.
   */
  close_date_attribute: z.string().min(1).optional(),
  probability_attribute: z.string().min(1).optional(),
  source_attribute: z.string().min(1).optional(),
  /** CloseDate of a deal with no close date: its creation day + this many days. */
  close_date_fallback_days: z.number().int().min(0).max(3650).default(CLOSE_DATE_FALLBACK_DAYS),
});

export const CustomMappingConfigSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, { error: "must be snake_case, e.g. projects" }),
  attio_object: z.string().min(1),
  salesforce_object: z.string().min(1),
  ...mappingCommon,
  stages: stringTable.optional(),
  industries: stringTable.optional(),
});
export type CustomMappingConfig = z.infer<typeof CustomMappingConfigSchema>;

export const SyncConfigSchema = z
  .strictObject({
    sync: z
      .strictObject({
        direction: z.enum(["bidirectional", "attio_to_sf", "sf_to_attio"]).default("bidirectional"),
        /** Records per Salesforce Collections request (1-200); unset: BATCH_SIZE. */
        batch_size: z.number().int().min(1).max(200).optional(),
        conflict_resolution: z.enum(["last_write", "attio_wins", "sf_wins", "manual"]).default("last_write"),
      })
      .prefault({}),
    attio: z
      .strictObject({
        api_key_env: fixedEnvName("ATTIO_API_KEY"),
        webhook_secret_env: fixedEnvName("ATTIO_WEBHOOK_SECRET"),
      })
      .prefault({}),
    salesforce: z
      .strictObject({
        login_url_env: fixedEnvName("SALESFORCE_LOGIN_URL"),
        client_id_env: fixedEnvName("SALESFORCE_CLIENT_ID"),
        client_secret_env: fixedEnvName("SALESFORCE_CLIENT_SECRET"),
        /** Writes of at least this many records in one call use Bulk API 2.0 (else SALESFORCE_BULK_THRESHOLD). */
        bulk_threshold: z.number().int().min(1).optional(),
      })
      .prefault({}),
    mappings: z
      .strictObject({
        companies: DefaultMappingConfigSchema.prefault({}),
        people: DefaultMappingConfigSchema.prefault({}),
        deals: DealsMappingConfigSchema.prefault({}),
        users: z
          .strictObject({
            enabled: z.boolean().default(true),
            /**
             * The workspace member (by email) who owns an Attio record whose Salesforce owner has no
             * member with the same email. Unset: the workspace's first admin.
             */
            default_owner_email: z.email().optional(),
          })
          .prefault({}),
      })
      .prefault({}),
    custom_mappings: z.array(CustomMappingConfigSchema).default([]),
    /**
     * The mass-update breaker (docs/OPERATIONS.md "Mass-update breaker"): more than `max_records`
     * records of an object, or more than `max_share` of its linked records (never at or below
     * `min_records`), updated within `window_minutes` holds the writes for approval.
     */
    breaker: z
      .strictObject({
        enabled: z.boolean().default(true),
        max_records: z.number().int().min(1).default(500),
        max_share: z.number().gt(0).max(1).default(0.2),
        min_records: z.number().int().min(0).default(20),
        window_minutes: z.number().int().min(1).max(1440).default(10),
      })
      .prefault({}),
    /**
     * When two problems of /api/v1/status (and so their alerts) open: `failures_recent` at this
     * many open failures in the last hour, `catchup_behind` when a catch-up lags by more than this.
     */
    health: z
      .strictObject({
        failures: z.number().int().min(1).default(1),
        catchup_lag_minutes: z.number().int().min(5).max(10_080).default(15),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const seen = new Set(["companies", "people", "deals", "users"]);
    config.custom_mappings.forEach((custom, index) => {
      if (seen.has(custom.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["custom_mappings", index, "name"],
          message: `"${custom.name}" is already used`,
        });
      }
      seen.add(custom.name);
    });
    const checkFields = (fields: readonly FieldOverride[], path: (string | number)[]) => {
      const targets = new Set<string>();
      fields.forEach((f, index) => {
        if (targets.has(f.salesforce)) {
          ctx.addIssue({
            code: "custom",
            path: [...path, index, "salesforce"],
            message: `${f.salesforce} is mapped twice in this mapping`,
          });
        }
        targets.add(f.salesforce);
      });
    };
    for (const name of ["companies", "people", "deals"] as const) {
      checkFields(config.mappings[name].fields, ["mappings", name, "fields"]);
    }
    config.custom_mappings.forEach((custom, index) => {
      checkFields(custom.fields, ["custom_mappings", index, "fields"]);
    });
  });

export type SyncConfig = z.infer<typeof SyncConfigSchema>;

export interface ConfigProblem {
  /** Dotted key path, e.g. `mappings.deals.fields.1.transform`; "" for a syntax error. */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export type ConfigResult = { ok: true; config: SyncConfig } | { ok: false; problems: ConfigProblem[] };

/** Parses and validates config.toml text; never throws. An empty file gives the defaults. */
export function safeParseSyncConfig(text: string): ConfigResult {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    if (err instanceof TomlError) {
      const message = err.message.split("\n")[0] ?? err.message;
      return { ok: false, problems: [{ path: "", line: err.line, column: err.column, message }] };
    }
    throw err;
  }
  const result = SyncConfigSchema.safeParse(raw);
  if (result.success) return { ok: true, config: result.data };
  const lines = indexTomlLines(text);
  const problems = result.error.issues.map((issue): ConfigProblem => {
    // Unrecognised keys are reported on their parent; point at the key itself.
    const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
    const path = keys.length === 1 ? [...issue.path, keys[0] as string] : issue.path;
    const line = lineOf(lines, path);
    return { path: path.map(String).join("."), ...(line === undefined ? {} : { line }), message: issue.message };
  });
  // In file order, so the report reads top to bottom like the file.
  problems.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
  return { ok: false, problems };
}

/** Like safeParseSyncConfig, but an invalid file throws a config_invalid SyncError listing every problem. */
export function parseSyncConfig(text: string): SyncConfig {
  const result = safeParseSyncConfig(text);
  if (result.ok) return result.config;
  const summary = result.problems
    .map((p) => `${p.path || "config.toml"}${p.line === undefined ? "" : ` (line ${p.line})`}: ${p.message}`)
    .join("; ");
  throw new SyncError("config_invalid", `Invalid config.toml: ${summary}`, {
    status: 400,
    detail: { problems: result.problems },
  });
}
