import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type SyncConfig, safeParseSyncConfig } from "../../config/config-toml.ts";
import { resolveMappings } from "../../config/effective.ts";
import { SyncError } from "../../lib/errors.ts";
import { loadSchemas } from "../../mapping/schema-source.ts";
import { type ValidationIssue, validateMappings } from "../../mapping/validate.ts";
import { mappingsView } from "../../mapping/view.ts";
import { configVersion, insertConfig, latestConfig, listConfigVersions } from "../../store/config.ts";
import { openDb } from "../../store/db.ts";
import { loadRuntime } from "../../sync/runtime.ts";
import { cachedSchemaSource } from "../../sync/schema-source.ts";
import { errorResponse } from "../errors.ts";
import type { AppEnv } from "../types.ts";
import { define, depsOf, ErrorSchema, json } from "./common.ts";

/** A configuration document: the text of a config.toml (see config.example.toml). */
const ConfigBody = z.strictObject({ toml: z.string().max(200_000) }).openapi("ConfigDocument");
const Report = z
  .object({
    ok: z.boolean(),
    problems: z.array(z.object({ path: z.string(), line: z.number().optional(), message: z.string() })),
    schema: z.unknown().optional(),
  })
  .openapi("ValidationReport");
/** Object API names and slugs are short; the bound also keeps the schema cache's KV keys under KV's 512-byte limit. */
const ObjectParam = z.strictObject({
  object: z
    .string()
    .max(100)
    .regex(/^[A-Za-z0-9_]+$/),
});

export function configRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "get",
      path: "/config",
      summary: "The configuration in force: its version, its text and its parsed form",
      responses: {
        200: json(z.object({ version: z.number(), toml: z.string(), config: z.unknown() }), "Configuration"),
      },
    },
    async (c) => {
      const latest = await latestConfig(openDb(c.env.DB));
      // Shown as well as it can be while a CRM's schema cannot be read.
      const runtime = await loadRuntime(depsOf(c), c.env.CURSORS, "best_effort");
      return c.json({ version: latest?.version ?? 0, toml: latest?.toml ?? "", config: runtime.config }, 200);
    },
  );

  define(
    app,
    {
      method: "get",
      path: "/config/versions",
      summary: "Every stored configuration version, newest first",
      responses: {
        200: json(
          z.object({ items: z.array(z.object({ version: z.number(), created_at: z.string() })) }),
          "Versions (number and time)",
        ),
      },
    },
    async (c) => {
      const rows = await listConfigVersions(openDb(c.env.DB), 200);
      return c.json({ items: rows.map((row) => ({ version: row.version, created_at: row.createdAt })) }, 200);
    },
  );

  define(
    app,
    {
      method: "get",
      path: "/config/versions/{version}",
      summary: "One stored configuration version's text",
      params: z.strictObject({ version: z.coerce.number().int().min(1) }),
      responses: {
        200: json(z.object({ version: z.number(), toml: z.string(), created_at: z.string() }), "The version"),
        404: json(ErrorSchema, "No such version"),
      },
    },
    async (c, { params }) => {
      const row = await configVersion(openDb(c.env.DB), params.version);
      if (!row) throw new SyncError("not_found", `no configuration version ${params.version}`, { status: 404 });
      return c.json({ version: row.version, toml: row.toml, created_at: row.createdAt }, 200);
    },
  );

  define(
    app,
    {
      method: "post",
      path: "/validate",
      summary: "Validate a configuration document against both live schemas without storing it",
      body: ConfigBody,
      responses: { 200: json(Report, "Validation report (ok: false lists every problem)") },
    },
    async (c, { body }) => c.json(await validate(c, body.toml), 200),
  );

  define(
    app,
    {
      method: "put",
      path: "/config",
      summary: "Store a new configuration version; it takes effect without a redeploy",
      description: "Refused with the validation report when the document or its mappings are invalid.",
      body: ConfigBody,
      responses: {
        200: json(z.object({ version: z.number(), report: Report }), "Stored"),
        422: json(Report.extend({ error: ErrorSchema.shape.error }), "Invalid: nothing stored"),
      },
    },
    async (c, { body }) => {
      const report = await validate(c, body.toml);
      if (!report.ok) {
        return c.json(
          {
            ...report,
            error: {
              code: "config_invalid",
              message: "The configuration is invalid; nothing was stored",
              details: report.problems,
            },
          },
          422,
        );
      }
      const version = await insertConfig(openDb(c.env.DB), body.toml);
      c.var.log.info("configuration stored", { version });
      return c.json({ version: version ?? 0, report }, 200);
    },
  );

  define(
    app,
    {
      method: "get",
      path: "/mappings",
      summary: "Effective mappings (defaults + configuration) with each field's direction and transform",
      responses: { 200: json(z.object({ version: z.number(), mappings: z.unknown() }), "Mappings") },
    },
    async (c) => {
      const runtime = await loadRuntime(depsOf(c), c.env.CURSORS, "best_effort");
      const view = mappingsView(
        runtime.mappings.map((m) => m.mapping),
        runtime.strategy,
      );
      return c.json({ version: runtime.configVersion, mappings: view }, 200);
    },
  );

  define(
    app,
    {
      method: "get",
      path: "/schema/attio/{object}",
      summary: "Attributes of an Attio object, from the schema cache",
      params: ObjectParam,
      responses: { 200: json(z.object({ object: z.string(), attributes: z.unknown() }), "Attributes") },
    },
    async (c, { params }) => {
      const deps = depsOf(c);
      const source = cachedSchemaSource(deps.attio, deps.salesforce, c.env.CURSORS);
      const attributes = await source.attioAttributes(params.object);
      if (!attributes)
        return errorResponse(c, new SyncError("not_found", `Attio has no object ${params.object}`, { status: 404 }));
      return c.json({ object: params.object, attributes }, 200);
    },
  );

  define(
    app,
    {
      method: "get",
      path: "/schema/salesforce/{object}",
      summary: "Fields of a Salesforce object (describe), from the schema cache",
      params: ObjectParam,
      responses: { 200: json(z.object({ object: z.string(), fields: z.unknown() }), "Fields") },
    },
    async (c, { params }) => {
      const deps = depsOf(c);
      const source = cachedSchemaSource(deps.attio, deps.salesforce, c.env.CURSORS);
      const describe = await source.salesforceDescribe(params.object);
      if (!describe)
        return errorResponse(
          c,
          new SyncError("not_found", `Salesforce has no object ${params.object}`, { status: 404 }),
        );
      return c.json({ object: params.object, fields: describe.fields }, 200);
    },
  );
}

/**
 * Parses the document, then checks its mappings against what both CRMs really have. Only errors in
 * what the document itself says (its custom mappings, field overrides, match keys and id fields)
 * refuse it; the live schema's verdict on untouched defaults is reported (`schema`) and shown in
 * /api/v1/status, but never blocks a document that does not touch them.
 */
async function validate(c: Context<AppEnv>, toml: string) {
  const parsed = safeParseSyncConfig(toml);
  if (!parsed.ok) return { ok: false, problems: parsed.problems };
  const deps = depsOf(c);
  const runtime = await loadRuntime(deps, c.env.CURSORS);
  const mappings = resolveMappings(parsed.config, runtime.org);
  const schemas = await loadSchemas(cachedSchemaSource(deps.attio, deps.salesforce, c.env.CURSORS), mappings);
  const report = validateMappings(mappings, schemas);
  const problems = report.issues
    .filter((issue) => issue.severity === "error" && declaredBy(parsed.config, issue))
    .map((issue) => ({
      path: [issue.mapping, issue.salesforce ?? issue.attio].filter(Boolean).join("."),
      message: issue.message,
    }));
  return { ok: problems.length === 0, problems, schema: report.issues };
}

/** Whether a validation issue is about something the configuration document declares itself. */
function declaredBy(config: SyncConfig, issue: ValidationIssue): boolean {
  const custom = config.custom_mappings.find((m) => m.name === issue.mapping);
  if (custom) return true;
  const own = config.mappings[issue.mapping as "companies" | "people" | "deals"] as
    | SyncConfig["mappings"]["companies"]
    | undefined;
  if (!own) return false;
  switch (issue.code) {
    case "bad_match_key":
      return own.match_keys !== undefined;
    case "bad_id_field":
      return own.salesforce_external_id_field !== undefined || own.attio_id_attribute !== undefined;
    default:
      return own.fields.some(
        (field) => field.enabled && (field.salesforce === issue.salesforce || field.attio === issue.attio),
      );
  }
}
