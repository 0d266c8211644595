import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { resolveMappings } from "../../config/effective.ts";
import { readOneRecord } from "../../engine/read-one.ts";
import type { Side } from "../../plan/decision.ts";
import { explain, type MappingState, REASON_CODES, REASONS } from "../../plan/explain.ts";
import { lastDecisionOf, openItemsOf } from "../../store/record-items.ts";
import type { SyncDeps } from "../../sync/deps.ts";
import { loadDirectory } from "../../sync/directory.ts";
import { currentMode } from "../../sync/mode.ts";
import { loadRuntime, type Runtime } from "../../sync/runtime.ts";
import type { AppEnv } from "../types.ts";
import { define, depsOf, errorResponses, json, snakeKeys } from "./common.ts";

/** One record named by its side, its object as that side names it, and its id. */
export const RecordParams = z.strictObject({
  side: z.enum(["attio", "salesforce"]).openapi({ description: "The side the id is from" }),
  object: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,80}$/)
    .openapi({
      description: "As that side names it: an Attio object slug (`people`) or a Salesforce object (`Contact`)",
    }),
  record_id: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/)
    .openapi({ description: "An Attio record id or a Salesforce Id" }),
});

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]).optional();

const ReasonSchema = z.enum(REASON_CODES).openapi("ExplainReason", {
  description: Object.entries(REASONS)
    .map(([code, r]) => `\`${code}\`: ${r.meaning}`)
    .join(" "),
});

const ExplanationSchema = z
  .object({
    in_sync: z.boolean().openapi({ description: "True only when both sides hold the mapped values of the base" }),
    reason: ReasonSchema,
    meaning: z.string(),
    next_step: z.string(),
    mode: z.enum(["setup", "running", "paused"]),
    mapping: z.string().nullable(),
    record: z.object({ side: z.string(), object: z.string(), record_id: z.string(), exists: z.boolean() }),
    counterpart: z
      .object({
        side: z.string(),
        object: z.string(),
        record_id: z.string(),
        linked: z.boolean().openapi({ description: "False: the record a sync would link (a match found)" }),
        exists: z.boolean(),
      })
      .nullable(),
    decision: z
      .object({ kind: z.string(), detail: z.record(z.string(), z.unknown()) })
      .nullable()
      .openapi({ description: "What a sync would do now: the engine's decision, not executed" }),
    fields: z.array(
      z.object({
        field: z.string().openapi({ description: "The Salesforce field" }),
        attribute: z.string().openapi({ description: "The Attio attribute (or `slug.part`)" }),
        direction: z.string(),
        attio: Scalar.openapi({ description: "The Attio value as mapped to the field; absent: cannot be mapped" }),
        salesforce: Scalar,
        base: z.object({ attio: Scalar, salesforce: Scalar }).nullable(),
        in_sync: z.boolean(),
        newer: z.enum(["attio", "salesforce", "none"]).openapi({ description: "Whose change since the base is newer" }),
        would: z.enum([
          "nothing",
          "write_to_salesforce",
          "write_to_attio",
          "hold_conflict",
          "wait",
          "not_synced",
          "none",
        ]),
        value: Scalar,
        winner: z.enum(["attio", "salesforce"]).optional(),
      }),
    ),
    open_items: z.object({
      failures: z.array(z.unknown()),
      warnings: z.array(z.unknown()),
      conflicts: z.array(z.unknown()),
      deletes: z.array(z.unknown()),
      matches: z.array(z.unknown()),
      parked: z.array(z.unknown()),
    }),
    last_decision: z
      .object({
        at: z.string(),
        operation: z.string(),
        direction: z.string(),
        actor: z.string().nullable(),
        correlation_id: z.string(),
      })
      .nullable()
      .openapi({ description: "The newest audited decision about the record" }),
  })
  .openapi("Explanation");

/** Explain: why a record is (not) in sync, read live from both sides. */
export function explainRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "get",
      path: "/explain/{side}/{object}/{record_id}",
      summary: "Why a record is or is not in sync: a reason code, the field-by-field table, open items, next step",
      description:
        "Reads the record and its counterpart live (two API calls through the rate limiter) and runs the engine's decision on them without executing it.",
      params: RecordParams,
      responses: {
        200: json(ExplanationSchema, "The explanation"),
        400: errorResponses[400],
      },
    },
    async (c, { params }) => {
      const deps = depsOf(c);
      const runtime = await loadRuntime(deps, c.env.CURSORS);
      const side: Side = params.side;
      const mapping = mappingState(runtime, side, params.object);
      const read =
        mapping.kind === "enabled"
          ? await readOneRecord(
              deps,
              mapping.compiled,
              optionsOf(deps, c.env, runtime, mapping.name),
              side,
              params.record_id,
            )
          : undefined;
      const pair = read?.facts.pair?.mapping;
      const ids = pair ? [pair.attioRecordId, pair.sfRecordId] : [params.record_id];
      const [items, lastDecision, mode] = await Promise.all([
        openItemsOf(deps.db, { ids, pairId: pair?.id }),
        lastDecisionOf(deps.db, ids),
        currentMode(deps.db, c.env.CURSORS).then((row) => row.mode),
      ]);
      const state: MappingState =
        mapping.kind === "enabled" && read ? { kind: "enabled", ctx: read.ctx } : toState(mapping);
      const answer = explain({
        side,
        object: params.object,
        recordId: params.record_id,
        mode,
        mapping: state,
        facts: read?.facts,
        items,
        lastDecision,
      });
      const open = Object.fromEntries(
        Object.entries(answer.open_items).map(([kind, rows]) => [kind, rows.map(snakeKeys)]),
      ) as Record<keyof typeof answer.open_items, Record<string, unknown>[]>;
      const last = answer.last_decision ? snakeKeys({ ...answer.last_decision }) : null;
      return c.json({ ...answer, open_items: open, last_decision: last }, 200);
    },
  );
}

type Found =
  | { kind: "enabled"; name: string; compiled: NonNullable<ReturnType<Runtime["byAttioObject"]>> }
  | Exclude<MappingState, { kind: "enabled" }>;

/** The mapping of a side's object: in force, switched off (and why), or none. */
function mappingState(runtime: Runtime, side: Side, object: string): Found {
  const compiled = side === "attio" ? runtime.byAttioObject(object) : runtime.bySalesforceObject(object);
  if (compiled) return { kind: "enabled", name: compiled.mapping.name, compiled };
  const configured = resolveMappings(runtime.config, runtime.org).find((m) =>
    side === "attio" ? m.attio_object === object : m.salesforce_object === object,
  );
  if (!configured) return { kind: "not_mapped" };
  const why = runtime.issues
    .filter((issue) => issue.mapping === configured.name && issue.effect === "mapping_off")
    .map((issue) => issue.message);
  if (!configured.enabled) why.unshift("enabled = false in the configuration");
  if (configured.read_only) why.push("a read-only mapping: nothing is written through it");
  return { kind: "disabled", name: configured.name, why };
}

function toState(found: Found): MappingState {
  return found.kind === "enabled" ? { kind: "not_mapped" } : found;
}

function optionsOf(deps: SyncDeps, env: Env, runtime: Runtime, name: string) {
  return {
    strategy: runtime.strategy,
    direction: runtime.direction,
    deletePolicy: runtime.deletePolicy(name),
    attioTitles: runtime.attioTitles(runtime.mappings.find((m) => m.mapping.name === name)?.mapping.attio_object ?? ""),
    users: () => loadDirectory(deps, env.CURSORS, runtime.directoryOptions),
  };
}
