import { z } from "zod";

/**
 * The JSON columns of `sync_jobs` (params, progress, checkpoint): typed on the drizzle columns and
 * parsed where store/jobs.ts reads a job, so no caller casts them. Here rather than in src/jobs/,
 * which builds on the store: the store never imports the folders above it.
 */

/** A job's request (POST /api/v1/sync): what to sync, which way, how. */
export const JobParamsSchema = z.strictObject({
  /** Mapping names (companies, people, deals, custom ones); default: every enabled mapping. */
  objects: z.array(z.string().min(1)).max(50).optional(),
  /** Which side's records to enumerate: both, or only one. */
  direction: z.enum(["both", "attio_to_sf", "sf_to_attio"]).default("both"),
  mode: z.enum(["full", "incremental", "records"]).default("full"),
  /** mode=records: the records to sync. */
  record_ids: z
    .strictObject({
      attio: z.array(z.string().min(1)).max(1000).optional(),
      salesforce: z.array(z.string().min(1)).max(1000).optional(),
    })
    .optional(),
  /** mode=incremental: Salesforce records changed since (default: 24 hours before the job). */
  since: z.iso.datetime().optional(),
  dry_run: z.boolean().default(false),
});
export type JobParams = z.infer<typeof JobParamsSchema>;

export const JobStepSchema = z.object({
  mapping: z.string(),
  side: z.enum(["attio", "salesforce"]),
  /** Read the Salesforce object's match keys into the job's match index (before the Attio step). */
  index: z.boolean().optional(),
});
export type JobStep = z.infer<typeof JobStepSchema>;

/** The stored params: the request and the steps it was planned into. */
export const StoredJobParamsSchema = JobParamsSchema.extend({ steps: z.array(JobStepSchema) }).strip();
export type StoredJobParams = z.infer<typeof StoredJobParamsSchema>;

/**
 * How far one step got: `mapping:side` when listing records (complete once its last page is
 * listed), `mapping:index` for a match index (since when it looks for others' changes, and how many
 * keys it holds).
 */
export const StepProgressSchema = z.object({
  complete: z.boolean(),
  since: z.string().optional(),
  indexed: z.number().optional(),
});

/** A job's listing progress: one entry per step (keys with a colon), and the job's own marks. */
export const JobProgressSchema = z.intersection(
  z.object({
    /** Every step is listed: the job is done once every listed record has an outcome. */
    enumerated: z.boolean().optional(),
    /** Why listing waits (Salesforce's daily budget), while it does. */
    paused: z.string().optional(),
    /** How often the stall recovery re-queued the job's records. */
    restarts: z.number().optional(),
  }),
  z.looseRecord(z.templateLiteral([z.string(), ":", z.string()]), StepProgressSchema),
);
export type JobProgress = z.infer<typeof JobProgressSchema>;

/** Where listing resumes: the next page's step, offset and Salesforce cursor. */
export const JobCheckpointSchema = z.object({
  step: z.number().int().min(0),
  offset: z.number().int().min(0).default(0),
  cursor: z.object({ stamp: z.string(), id: z.string() }).optional(),
});
export type JobCheckpoint = z.infer<typeof JobCheckpointSchema>;
