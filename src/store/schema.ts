import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { JobCheckpoint, JobProgress, StoredJobParams } from "./job-schemas.ts";

/**
 * D1 schema. docs/STORAGE.md documents every table and column; keep the two in step.
 * Timestamps are ISO-8601 UTC strings; JSON columns hold plain data validated where read.
 */
const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

/** One row per linked record pair. Each side's object+id is unique: a record is linked at most once. */
export const idMappings = sqliteTable(
  "id_mappings",
  {
    id: text("id").primaryKey(),
    attioObject: text("attio_object").notNull(),
    attioRecordId: text("attio_record_id").notNull(),
    sfObject: text("sf_object").notNull(),
    sfRecordId: text("sf_record_id").notNull(),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("id_mappings_attio_uq").on(t.attioObject, t.attioRecordId),
    uniqueIndex("id_mappings_sf_uq").on(t.sfObject, t.sfRecordId),
  ],
);

/**
 * The base of three-way comparison: the canonical values last written to (or read identically from)
 * both sides, their hash, and each side's version when they were last seen.
 */
export const syncState = sqliteTable("sync_state", {
  mappingId: text("mapping_id")
    .primaryKey()
    .references(() => idMappings.id, { onDelete: "cascade" }),
  baseValues: text("base_values", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  baseHash: text("base_hash").notNull(),
  attioSeenAt: text("attio_seen_at"),
  sfSystemModstamp: text("sf_system_modstamp"),
  lastDirection: text("last_direction", { enum: ["attio_to_sf", "sf_to_attio", "none"] }).notNull(),
  lastSyncedAt: text("last_synced_at").notNull().default(now),
});

/** Append-only history of every write (and every decision not to write) with before/after per field. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: text("at").notNull().default(now),
    correlationId: text("correlation_id").notNull(),
    mappingId: text("mapping_id"),
    direction: text("direction", { enum: ["attio_to_sf", "sf_to_attio"] }).notNull(),
    operation: text("operation", {
      enum: ["create", "update", "link", "unchanged", "delete", "conflict", "failed", "skipped", "operator"],
    }).notNull(),
    attioObject: text("attio_object"),
    attioRecordId: text("attio_record_id"),
    sfObject: text("sf_object"),
    sfRecordId: text("sf_record_id"),
    changes: text("changes", { mode: "json" }).$type<Record<string, { before: unknown; after: unknown }>>().notNull(),
    sourceEvent: text("source_event", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    actor: text("actor"),
  },
  (t) => [
    index("audit_log_attio_idx").on(t.attioObject, t.attioRecordId),
    index("audit_log_sf_idx").on(t.sfObject, t.sfRecordId),
    index("audit_log_at_idx").on(t.at),
  ],
);

/** Delivery keys already enqueued, so a redelivered webhook or relay batch does no work twice. */
export const inboundEvents = sqliteTable(
  "inbound_events",
  {
    key: text("key").primaryKey(),
    source: text("source", { enum: ["attio", "salesforce"] }).notNull(),
    receivedAt: text("received_at").notNull().default(now),
    /** When a webhook's own invocation synced this event (queue/inline.ts): its queued backup is skipped. */
    handledInlineAt: text("handled_inline_at"),
  },
  (t) => [index("inbound_events_received_idx").on(t.receivedAt)],
);

/**
 * When a Salesforce change event last set each field of a record, and to what: `last_write`'s
 * per-field time on the Salesforce side (src/plan/field-times.ts). Written by /webhooks/salesforce
 * as events arrive (before they are queued), read by the engine for the records of a run, pruned
 * by the cron after DEDUPE_RETENTION_DAYS.
 */
export const sfFieldTimes = sqliteTable(
  "sf_field_times",
  {
    entity: text("entity").notNull(),
    recordId: text("record_id").notNull(),
    /** The flat field name (`BillingCity`, not `BillingAddress.City`). */
    field: text("field").notNull(),
    /** The event's commitTimestamp, epoch milliseconds. */
    at: integer("at").notNull(),
    /** The value the event gave the field, as JSON; null when too large to keep (then unknown). */
    value: text("value"),
  },
  (t) => [primaryKey({ columns: [t.entity, t.recordId, t.field] }), index("sf_field_times_at_idx").on(t.at)],
);

/** Messages that exhausted their retries or were rejected permanently, kept for replay. */
export const failures = sqliteTable(
  "failures",
  {
    id: text("id").primaryKey(),
    status: text("status", { enum: ["open", "replayed", "dismissed"] })
      .notNull()
      .default("open"),
    messageKind: text("message_kind").notNull(),
    message: text("message", { mode: "json" }).$type<unknown>().notNull(),
    errorCode: text("error_code").notNull(),
    errorMessage: text("error_message").notNull(),
    attempted: text("attempted", { mode: "json" }).$type<unknown>(),
    attempts: integer("attempts").notNull(),
    correlationId: text("correlation_id").notNull(),
    recordKey: text("record_key"),
    firstFailedAt: text("first_failed_at").notNull().default(now),
    lastFailedAt: text("last_failed_at").notNull().default(now),
  },
  (t) => [index("failures_status_idx").on(t.status, t.lastFailedAt)],
);

/**
 * Changes parked while an API is out (an outage, Salesforce's daily budget spent): acked off the
 * queue without spending their retries, and sent again by the drain once both APIs answer. One
 * row per record (or message, when it names several): parking the same change again refreshes it.
 */
export const parkedChanges = sqliteTable(
  "parked_changes",
  {
    /** The record key: `side:object-or-mapping:record id` (src/queue/settle.ts `recordKey`). */
    key: text("key").primaryKey(),
    /** Which queue the message goes back to. */
    queue: text("queue", { enum: ["sync", "jobs"] }).notNull(),
    message: text("message", { mode: "json" }).$type<unknown>().notNull(),
    /** Why it waits: the error code (`upstream_unavailable`, `rate_limited`). */
    reason: text("reason").notNull(),
    errorMessage: text("error_message").notNull(),
    /** How many times it was parked (parked again when the drain's send met the outage again). */
    times: integer("times").notNull().default(1),
    firstParkedAt: text("first_parked_at").notNull().default(now),
    lastParkedAt: text("last_parked_at").notNull().default(now),
  },
  (t) => [index("parked_changes_reason_idx").on(t.reason, t.firstParkedAt)],
);

/** Initial, manual and catch-up sync jobs, resumable from their checkpoint. */
export const syncJobs = sqliteTable("sync_jobs", {
  id: text("id").primaryKey(),
  kind: text("kind", { enum: ["full", "incremental", "records", "catchup"] }).notNull(),
  state: text("state", { enum: ["queued", "running", "done", "failed", "cancelled"] }).notNull(),
  params: text("params", { mode: "json" }).$type<StoredJobParams>().notNull(),
  checkpoint: text("checkpoint", { mode: "json" }).$type<JobCheckpoint>(),
  progress: text("progress", { mode: "json" }).$type<JobProgress>().notNull(),
  errorSample: text("error_sample", { mode: "json" }).$type<unknown[]>().notNull(),
  createdAt: text("created_at").notNull().default(now),
  updatedAt: text("updated_at").notNull().default(now),
});

/**
 * Every record a job queued, one row per (job, side, record), and its latest outcome: `outcome` is
 * null while the record is queued, then one of the job counters (created, updated, linked,
 * unchanged, conflicts, ambiguous, deferred, deleted, failed). Counting distinct rows instead of
 * incrementing counters keeps a job's counts exact when a message is delivered twice; a dry run
 * also keeps each record's plan (`action`, `detail`).
 */
export const jobRecords = sqliteTable(
  "job_records",
  {
    jobId: text("job_id")
      .notNull()
      .references(() => syncJobs.id, { onDelete: "cascade" }),
    mapping: text("mapping").notNull(),
    side: text("side", { enum: ["attio", "salesforce"] }).notNull(),
    recordId: text("record_id").notNull(),
    outcome: text("outcome"),
    action: text("action"),
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>(),
  },
  (t) => [
    primaryKey({ columns: [t.jobId, t.side, t.recordId] }),
    index("job_records_outcome_idx").on(t.jobId, t.mapping, t.side, t.outcome),
  ],
);

/**
 * A job's match index: the first match key of every record of a Salesforce object (normalized as
 * the mapping's match key says), read once in pages of 2,000 before the job lists the Attio side,
 * so matching 100,000 Attio records costs no per-record Salesforce query.
 */
export const jobMatchKeys = sqliteTable(
  "job_match_keys",
  {
    jobId: text("job_id")
      .notNull()
      .references(() => syncJobs.id, { onDelete: "cascade" }),
    mapping: text("mapping").notNull(),
    key: text("key").notNull(),
    sfId: text("sf_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.mapping, t.key, t.sfId] })],
);

/** A field changed on both sides to different values since the base, awaiting a decision. */
export const conflicts = sqliteTable(
  "conflicts",
  {
    id: text("id").primaryKey(),
    mappingId: text("mapping_id")
      .notNull()
      .references(() => idMappings.id, { onDelete: "cascade" }),
    field: text("field").notNull(),
    baseValue: text("base_value", { mode: "json" }).$type<unknown>(),
    attioValue: text("attio_value", { mode: "json" }).$type<unknown>(),
    sfValue: text("sf_value", { mode: "json" }).$type<unknown>(),
    /** `dismissed`: an operator left both values as they are (issue_dismissals says who and when). */
    status: text("status", { enum: ["open", "resolved", "dismissed"] })
      .notNull()
      .default("open"),
    resolution: text("resolution", { mode: "json" }).$type<unknown>(),
    createdAt: text("created_at").notNull().default(now),
    resolvedAt: text("resolved_at"),
  },
  (t) => [
    index("conflicts_status_idx").on(t.status),
    // At most one open conflict per field of a pair: a repeated event refreshes it.
    uniqueIndex("conflicts_open_field_uq").on(t.mappingId, t.field).where(sql`status = 'open'`),
  ],
);

/**
 * A record written without one of its references because the referenced record has no counterpart
 * yet (a Contact whose Account is not synced). When the target gets linked, the waiting record is
 * synced again and the reference completed.
 */
export const deferredRefs = sqliteTable(
  "deferred_refs",
  {
    /** The waiting record: its side, object and id. */
    side: text("side", { enum: ["attio", "salesforce"] }).notNull(),
    object: text("object").notNull(),
    recordId: text("record_id").notNull(),
    /** The referenced record, on the same side. */
    targetObject: text("target_object").notNull(),
    targetId: text("target_id").notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("deferred_refs_uq").on(t.side, t.recordId, t.targetId),
    index("deferred_refs_target_idx").on(t.side, t.targetId),
  ],
);

/** A record deleted on one side whose delete waits for approval (the default delete policy). */
export const pendingDeletes = sqliteTable("pending_deletes", {
  id: text("id").primaryKey(),
  mappingId: text("mapping_id").notNull(),
  deletedOn: text("deleted_on", { enum: ["attio", "salesforce"] }).notNull(),
  status: text("status", { enum: ["pending", "approved", "rejected"] })
    .notNull()
    .default("pending"),
  detectedAt: text("detected_at").notNull().default(now),
  decidedAt: text("decided_at"),
  /**
   * Why it is held: `policy` (delete_policy = "hold"), `merged_into_linked` (an Attio or Salesforce
   * merge a person must settle), `mass_delete` (the circuit breaker: too many deletes in one run).
   */
  reason: text("reason", { enum: ["policy", "merged_into_linked", "mass_delete"] })
    .notNull()
    .default("policy"),
  /** The deletes the circuit breaker held together share this id. */
  batchId: text("batch_id"),
});

/** A record that matched more than one candidate on the other side, awaiting a choice. */
export const ambiguousMatches = sqliteTable("ambiguous_matches", {
  id: text("id").primaryKey(),
  side: text("side", { enum: ["attio", "salesforce"] }).notNull(),
  object: text("object").notNull(),
  recordId: text("record_id").notNull(),
  candidates: text("candidates", { mode: "json" }).$type<string[]>().notNull(),
  /**
   * `retried`: an operator had the record matched again (a new row opens if it is still ambiguous);
   * `dismissed`: an operator left it unlinked (issue_dismissals says who and when).
   */
  status: text("status", { enum: ["open", "resolved", "retried", "dismissed"] })
    .notNull()
    .default("open"),
  createdAt: text("created_at").notNull().default(now),
});

/** Versioned mapping and configuration documents changed through /api/v1 without a redeploy. */
export const configVersions = sqliteTable("config_versions", {
  version: integer("version").primaryKey({ autoIncrement: true }),
  kind: text("kind", { enum: ["mappings", "config"] }).notNull(),
  document: text("document", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  createdAt: text("created_at").notNull().default(now),
});

/**
 * A value the sync did not write (or replaced with a default) because the other side cannot take
 * it: an unknown country, an invalid email, a select option or stage with no counterpart, an owner
 * with no user. One open row per (direction, source record, field): seeing it again refreshes it;
 * a later sync that writes the field clears it. The rest of the record syncs regardless.
 */
export const mappingWarnings = sqliteTable(
  "mapping_warnings",
  {
    id: text("id").primaryKey(),
    mapping: text("mapping").notNull(),
    /** attio_to_sf: an Attio value Salesforce cannot take; sf_to_attio: the other way. */
    direction: text("direction", { enum: ["attio_to_sf", "sf_to_attio"] }).notNull(),
    /** The record holding the value: the Attio record (attio_to_sf) or the Salesforce record. */
    sourceObject: text("source_object").notNull(),
    sourceRecordId: text("source_record_id").notNull(),
    attioObject: text("attio_object").notNull(),
    attioRecordId: text("attio_record_id"),
    sfObject: text("sf_object").notNull(),
    sfRecordId: text("sf_record_id"),
    /** The Salesforce field of the mapping's field (its key in bases and plans). */
    field: text("field").notNull(),
    /** The Attio attribute (or `slug.part`). */
    attribute: text("attribute").notNull(),
    code: text("code").notNull(),
    message: text("message").notNull(),
    value: text("value", { mode: "json" }).$type<unknown>(),
    status: text("status", { enum: ["open", "cleared", "dismissed"] })
      .notNull()
      .default("open"),
    occurrences: integer("occurrences").notNull().default(1),
    correlationId: text("correlation_id").notNull(),
    firstSeenAt: text("first_seen_at").notNull().default(now),
    lastSeenAt: text("last_seen_at").notNull().default(now),
    clearedAt: text("cleared_at"),
  },
  (t) => [
    uniqueIndex("mapping_warnings_open_uq")
      .on(t.direction, t.sourceObject, t.sourceRecordId, t.field)
      .where(sql`status = 'open'`),
    index("mapping_warnings_record_idx").on(t.sourceRecordId, t.status),
    index("mapping_warnings_status_idx").on(t.status, t.lastSeenAt),
  ],
);

/**
 * A create about to be sent without a key that makes it idempotent (no External ID, no unique
 * Attio attribute): stored before the write, closed once the pair is stored. A retry that finds an
 * open intent looks for what the first attempt created (docs/SYNC_SEMANTICS.md) before creating.
 */
export const createIntents = sqliteTable(
  "create_intents",
  {
    sourceSide: text("source_side", { enum: ["attio", "salesforce"] }).notNull(),
    sourceObject: text("source_object").notNull(),
    sourceRecordId: text("source_record_id").notNull(),
    targetSide: text("target_side", { enum: ["attio", "salesforce"] }).notNull(),
    targetObject: text("target_object").notNull(),
    /** The values the create wrote, keyed by Salesforce field: what a retry compares candidates with. */
    marker: text("marker", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** When the first attempt that may have created the record was about to send it. */
    createdAt: text("created_at").notNull().default(now),
    state: text("state", { enum: ["open", "closed"] })
      .notNull()
      .default("open"),
    closedAt: text("closed_at"),
  },
  (t) => [
    primaryKey({ columns: [t.sourceSide, t.sourceObject, t.sourceRecordId, t.targetSide] }),
    index("create_intents_state_idx").on(t.state, t.closedAt),
  ],
);

/**
 * Who dismissed an open issue (GET /api/v1/issues) and when: a failure, a warning, a conflict or an
 * ambiguous match. The item's own status becomes `dismissed`, which takes it out of every count;
 * this row keeps the operator's action after the audit trail is pruned. An item that happens again
 * (the record fails again, the value is seen again) is open again, whatever this row says.
 */
export const issueDismissals = sqliteTable(
  "issue_dismissals",
  {
    kind: text("kind", { enum: ["failure", "warning", "conflict", "ambiguous_match"] }).notNull(),
    itemId: text("item_id").notNull(),
    /** The reason code of its group when it was dismissed (src/sync/issue-reasons.ts). */
    reason: text("reason").notNull(),
    dismissedBy: text("dismissed_by").notNull(),
    dismissedAt: text("dismissed_at").notNull().default(now),
    note: text("note"),
  },
  (t) => [primaryKey({ columns: [t.kind, t.itemId] }), index("issue_dismissals_at_idx").on(t.dismissedAt)],
);

/**
 * The deployment's mode (src/sync/mode.ts): `setup` until an operator starts it, then `running`,
 * or `paused` while an operator holds every write. One row, kept in D1 rather than KV: a pause must
 * reach every consumer within seconds, and KV may serve a stale value for up to a minute.
 */
export const deploymentMode = sqliteTable("deployment_mode", {
  /** Always `deployment`: the table holds one row. */
  id: text("id").primaryKey(),
  mode: text("mode", { enum: ["setup", "running", "paused"] }).notNull(),
  /** When it entered this mode. */
  since: text("since").notNull().default(now),
  /** Who moved it there: `operator:admin-token`, `job:<id>`, `upgrade` (pairs existed before modes did), `new deployment`. */
  changedBy: text("changed_by").notNull(),
});

/**
 * The mass-update breaker's sliding window: when each record of an object was last updated by the
 * sync, per mapping and the side written (src/engine/breaker.ts). One row per record, so a count
 * over the window is a count of distinct records; rows past the longest window are pruned by the cron.
 */
export const recentUpdates = sqliteTable(
  "recent_updates",
  {
    mapping: text("mapping").notNull(),
    /** The side the update was written to. */
    side: text("side", { enum: ["attio", "salesforce"] }).notNull(),
    /** The touched record (whose change would be written to `side`). */
    recordId: text("record_id").notNull(),
    at: text("at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.mapping, t.side, t.recordId] }),
    index("recent_updates_at_idx").on(t.mapping, t.side, t.at),
  ],
);

/**
 * A mass update the breaker held: one approval item per mapping and side written, open (`pending`)
 * until a person approves (the held records are synced again, breaker bypassed) or rejects it (the
 * records are re-based: neither side is written, see docs/SYNC_SEMANTICS.md).
 */
export const updateHolds = sqliteTable(
  "update_holds",
  {
    id: text("id").primaryKey(),
    mapping: text("mapping").notNull(),
    /** The side the held updates would have written. */
    side: text("side", { enum: ["attio", "salesforce"] }).notNull(),
    status: text("status", { enum: ["pending", "approved", "rejected"] })
      .notNull()
      .default("pending"),
    /** Records updated within the window when it tripped (held ones included), and the threshold. */
    count: integer("count").notNull(),
    threshold: integer("threshold").notNull(),
    windowMinutes: integer("window_minutes").notNull(),
    detectedAt: text("detected_at").notNull().default(now),
    decidedAt: text("decided_at"),
    decidedBy: text("decided_by"),
  },
  (t) => [
    // One open hold per mapping and side: further updates join it until a person decides.
    uniqueIndex("update_holds_pending_uq").on(t.mapping, t.side).where(sql`status = 'pending'`),
    index("update_holds_status_idx").on(t.status, t.detectedAt),
  ],
);

/** The touched records a held mass update keeps, to be synced again (approve) or re-based (reject). */
export const heldUpdates = sqliteTable(
  "held_updates",
  {
    holdId: text("hold_id").notNull(),
    /** The side the touch came from and its record: what a records.sync message names again. */
    side: text("side", { enum: ["attio", "salesforce"] }).notNull(),
    recordId: text("record_id").notNull(),
    heldAt: text("held_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.holdId, t.side, t.recordId] })],
);

/**
 * Alerts (src/sync/alerts.ts): each problem of /api/v1/status by its key (code and what it
 * affects), so one alert is posted when it opens and one when it clears, however many cron runs
 * see it, and a failed post is retried by the next run.
 */
export const alerts = sqliteTable("alerts", {
  /** `code|affects`: the problem's identity across runs. */
  key: text("key").primaryKey(),
  code: text("code").notNull(),
  affects: text("affects").notNull(),
  /** The problem's message when it was last seen open. */
  message: text("message").notNull(),
  action: text("action").notNull(),
  openedAt: text("opened_at").notNull(),
  /** When the `opened` alert was posted; null: not yet (no URL, or the post failed). */
  openSentAt: text("open_sent_at"),
  clearedAt: text("cleared_at"),
  clearSentAt: text("clear_sent_at"),
});

/**
 * Readings the cron samples every run (src/sync/metrics.ts) for the console's 24-hour charts: each
 * catch-up's lag, Salesforce's daily API use, Attio and Salesforce calls through the limiters, the
 * queue backlog estimate. Writes and failures are not sampled: they are counted from the audit
 * trail and the failures. Pruned after METRIC_RETENTION_HOURS.
 */
export const metricSamples = sqliteTable(
  "metric_samples",
  {
    /** What is measured: `lag_seconds`, `salesforce_api_used`, `salesforce_api_limit`, `limiter_calls`, `queue_backlog`. */
    metric: text("metric").notNull(),
    /** Of what: `<mapping>:salesforce` or `<mapping>:attio` for a lag, a limiter's name, `all`. */
    subject: text("subject").notNull(),
    /** The cron run's scheduled time (ISO). */
    at: text("at").notNull(),
    value: integer("value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.metric, t.subject, t.at] }), index("metric_samples_at_idx").on(t.at)],
);

/**
 * The queue backlog estimate (src/sync/queue-depth.ts): messages sent to the sync and jobs queues
 * (`sent:sync`, `sent:jobs`) and messages their consumers settled for good (`settled:sync`,
 * `settled:jobs`, `settled:dlq`). Cloudflare Queues tell a Worker nothing of their depth; the
 * difference is an estimate (docs/CONSOLE.md says what makes it drift).
 */
export const queueCounts = sqliteTable("queue_counts", {
  counter: text("counter").primaryKey(),
  n: integer("n").notNull(),
  updatedAt: text("updated_at").notNull().default(now),
});
