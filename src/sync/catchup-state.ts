import { z } from "zod";

/** What the catch-up keeps in KV between runs: cursors, scan positions and the last run (see docs/STORAGE.md). */
/**
 * Where the Salesforce catch-up of one object resumes, a tagged union on `complete`:
 * - `complete: true`: the last run read to the end; the next one starts at `stamp` minus the overlap
 *   (records committed late with an earlier SystemModstamp are read again). `stamp` is the latest of
 *   the last record read and the time of that run.
 * - `complete: false`: the last run stopped after its pages; the next one resumes strictly after
 *   (`stamp`, `id`), the last record it read, with no overlap (an overlap would read the same pages
 *   again and again when more records than one run reads share the window).
 * `reconciledThrough`: every change before it was read (queued or already synced).
 * A value of the first format (`{stamp, reconciledThrough}`) reads as a complete run, as it meant.
 */
const SfCursorDone = z.object({
  complete: z.literal(true),
  stamp: z.string(),
  reconciledThrough: z.string().nullable(),
});
const SfCursorResume = z.object({
  complete: z.literal(false),
  stamp: z.string(),
  id: z.string(),
  reconciledThrough: z.string().nullable(),
});
export const SfCursorSchema = z.preprocess(
  (value) => (value && typeof value === "object" && !("complete" in value) ? { ...value, complete: true } : value),
  z.discriminatedUnion("complete", [SfCursorDone, SfCursorResume]),
);
export type SfCursor = z.infer<typeof SfCursorSchema>;
export const DeleteCursorSchema = z.object({ through: z.string() });
export const AttioScanSchema = z.object({
  phase: z.enum(["scan", "verify"]),
  offset: z.number().int().min(0),
  startedAt: z.string(),
  /** When the last complete pass started: every change before it is known (synced or queued). */
  reconciledThrough: z.string().nullable(),
});
export type AttioScanState = z.infer<typeof AttioScanSchema>;

export const kvKeys = {
  sfCursor: (object: string) => `cursor:salesforce:${object}`,
  sfDeleted: (object: string) => `cursor:salesforce-deleted:${object}`,
  attioScan: (object: string) => `scan:attio:${object}`,
  lastRun: "catchup:last-run",
};

export interface ObjectReport {
  enqueued: number;
  deletes: number;
  reconciledThrough: string | null;
}

/**
 * One object and side of one catch-up run, as stored in KV (`catchup:last-run`) for /api/v1/status:
 * what it did, or why it did not (paused, or the error it met), and how many runs in a row failed.
 */
export const CatchupEntrySchema = z.object({
  side: z.enum(["attio", "salesforce"]),
  enqueued: z.number(),
  deletes: z.number(),
  reconciledThrough: z.string().nullable(),
  paused: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** Runs in a row that failed, this one included (0 when it worked). */
  consecutiveFailures: z.number().int().min(0).default(0),
  /** When the current run of failures began. */
  failingSince: z.string().optional(),
  at: z.string(),
});
export type CatchupEntry = z.infer<typeof CatchupEntrySchema>;

export const CatchupRunSchema = z.object({
  at: z.string(),
  objects: z.record(z.string(), CatchupEntrySchema.or(z.unknown())),
});
