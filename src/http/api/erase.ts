import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { openDb } from "../../store/db.ts";
import { type EraseKey, erasePerson } from "../../sync/erase.ts";
import type { AppEnv } from "../types.ts";
import { define, errorResponses, json, operatorName } from "./common.ts";

const KEYS = ["email", "attio_record_id", "salesforce_id"] as const;

const EraseBody = z
  .strictObject({
    email: z
      .email({ error: "must be an email address" })
      .max(320)
      .transform((email) => email.trim().toLowerCase())
      .optional()
      .openapi({ description: "Every record whose stored values hold this email (compared without regard to case)" }),
    attio_record_id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,100}$/, { error: "must be an Attio record id" })
      .optional()
      .openapi({ description: "An Attio record id" }),
    salesforce_id: z
      .string()
      .regex(/^[A-Za-z0-9]{18}$/, { error: "must be an 18-character Salesforce Id (as the API gives it)" })
      .optional()
      .openapi({ description: "A Salesforce record Id, 18 characters" }),
    forget_link: z.boolean().default(false).openapi({
      description:
        "Also remove the pairs (id to id) of the records found: a later change of either record is then treated as never seen (matched again, or created). Default: the pairs stay, without their base",
    }),
  })
  .superRefine((body, ctx) => {
    const given = KEYS.filter((key) => body[key] !== undefined);
    if (given.length === 0) {
      ctx.addIssue({ code: "custom", path: ["email"], message: "give one of email, attio_record_id, salesforce_id" });
    }
    for (const extra of given.slice(1)) {
      ctx.addIssue({
        code: "custom",
        path: [extra],
        message: `give exactly one of email, attio_record_id, salesforce_id (${given[0]} is given)`,
      });
    }
  })
  .openapi("EraseRequest");

const Counts = z
  .object({
    audit_log: z.number(),
    failures: z.number(),
    parked_changes: z.number(),
    conflicts: z.number(),
    pending_deletes: z.number(),
    ambiguous_matches: z.number(),
    mapping_warnings: z.number(),
    issue_dismissals: z.number(),
    sf_field_times: z.number(),
    create_intents: z.number(),
    job_records: z.number(),
    job_match_keys: z.number(),
    job_errors: z.number().openapi({ description: "Entries taken out of jobs' error samples" }),
    deferred_refs: z.number(),
    recent_updates: z.number(),
    held_updates: z.number(),
    sync_state: z.number().openapi({ description: "Bases (the values last synced) of the pairs" }),
    id_mappings: z.number().openapi({ description: "Pairs removed (only with forget_link)" }),
  })
  .openapi("EraseCounts", { description: "Rows removed per table (docs/STORAGE.md)" });

const EraseAnswer = z
  .object({
    erase_id: z
      .string()
      .openapi({ description: "Quote it in the request's ticket: the audit row is `erase:<erase_id>`" }),
    key: z.enum(KEYS),
    record_ids: z.array(z.string()).openapi({
      description:
        "The records found: the one named, or those whose stored values hold the email, and their counterparts",
    }),
    link: z.enum(["kept", "forgotten"]),
    removed: Counts,
    total: z.number(),
  })
  .openapi("EraseResult");

function keyOf(body: z.infer<typeof EraseBody>): EraseKey {
  if (body.email !== undefined) return { kind: "email", email: body.email };
  if (body.attio_record_id !== undefined) return { kind: "attio_record_id", id: body.attio_record_id };
  // The body's check lets exactly one key through: this one.
  return { kind: "salesforce_id", id: String(body.salesforce_id) };
}

/** POST /erase: a person's data, for an erasure request (docs/OPERATIONS.md "Erasing a person's data"). */
export function eraseRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "post",
      path: "/erase",
      summary: "Erase what the sync stores about a person (GDPR), by email or record id",
      description:
        "Removes the audit trail, failures, parked changes, conflicts, held deletes, ambiguous matches, warnings, field times, create intents, job rows and error entries, and the bases of the records found, in one transaction. The CRMs are not touched: delete the person there first. Audited without the key: the audit row says who erased, by which kind of key and how many records. A second call removes nothing.",
      body: EraseBody,
      responses: { 200: json(EraseAnswer, "What was removed, per table"), 400: errorResponses[400] },
    },
    async (c, { body }) => {
      const report = await erasePerson(openDb(c.env.DB), c.var.log, keyOf(body), {
        actor: operatorName(c.var.adminTokenUsed),
        forgetLink: body.forget_link,
      });
      return c.json(report, 200);
    },
  );
}
