import { chunk } from "../lib/chunk.ts";
import { toSyncError } from "../lib/errors.ts";
import { attioAttributesRead, type CompiledMapping } from "../mapping/engine.ts";
import type { UserLookup } from "../mapping/transforms.ts";
import { type ModstampCursor, parseSalesforceTime } from "../salesforce/soql.ts";
import { linkedAttioIds, type Pair, pairsBySalesforce } from "../store/pairs.ts";
import { budgetPause, saveUsage } from "../sync/budget.ts";
import {
  AttioScanSchema,
  type AttioScanState,
  type CatchupEntry,
  CatchupEntrySchema,
  CatchupRunSchema,
  DeleteCursorSchema,
  kvKeys,
  type ObjectReport,
  type SfCursor,
  SfCursorSchema,
} from "../sync/catchup-state.ts";
import type { SyncDeps } from "../sync/deps.ts";
import { internalAttioMessage, internalSalesforceMessage, type SyncMessage } from "../sync/messages.ts";
import { ATTIO_PAGE, differingRecords, SF_PAGE } from "../sync/scan.ts";

/**
 * The scheduled catch-up: the guarantee behind webhooks and change events, which get lost.
 *
 * - Salesforce, per mapped object: records in (SystemModstamp, Id) order by keyset, plus the delete
 *   log. A run that stopped after its pages resumes exactly after the last record it read; only
 *   after a run that read to the end does the next one start an overlap earlier (commit lag).
 * - Attio has no "updated since": each object is scanned in creation order with an offset that
 *   survives across runs; only records whose mapped values differ from the stored base are queued.
 *   After a complete scan every pair is checked by id: a pair whose Attio record is missing is
 *   queued as a delete (a partial scan never produces delete candidates).
 */

/**
 * Re-read window behind a completed run: covers commit lag (a record committed after the query
 * with an earlier SystemModstamp) and a few minutes of clock difference with Salesforce.
 */
export const OVERLAP_MS = 5 * 60_000;
/** Salesforce's delete log reaches back about 15 days; never ask for more. */
const DELETE_LOG_MS = 14 * 86_400_000;
const SF_PAGES_PER_RUN = 5;
/**
 * Pages of 500 the Attio scan of an object takes per run: at least the minimum, then more while
 * the run's scan budget (`CatchupOptions.scanUntil`) lasts, up to the maximum. Attio has no
 * "modified since" filter, so the scan is the only repair for a lost webhook: a pass over the whole
 * object per run keeps a lost change at most one cron period old (M10 in the reliability audit).
 */
const ATTIO_MIN_PAGES_PER_RUN = 4;
const ATTIO_MAX_PAGES_PER_RUN = 1_000;
/**
 * Wall time the Attio scans of one cron run may take beyond their minimum, all objects together.
 * About 200 pages (100,000 records, read at a fraction of Attio's 100 reads/s) fit; Cron Triggers
 * may run for 15 minutes, and the next trigger is 5 minutes away.
 */
export const ATTIO_SCAN_BUDGET_MS = 90_000;

export interface CatchupOptions {
  now: Date;
  send(messages: SyncMessage[]): Promise<void>;
  /** The owner directory, for mappings with an owner field (an owner change is a change too). */
  users?: (() => Promise<UserLookup>) | undefined;
  /**
   * Until when (epoch ms) the Attio scans may take more than their minimum of pages; absent, each
   * takes the minimum. The scheduled handler sets it to its start plus ATTIO_SCAN_BUDGET_MS.
   */
  scanUntil?: number | undefined;
}

/** The entries of the previous run that can still be read (older formats are ignored). */
async function previousEntries(kv: KVNamespace): Promise<Record<string, CatchupEntry>> {
  const stored = CatchupRunSchema.safeParse(await kv.get(kvKeys.lastRun, "json"));
  if (!stored.success) return {};
  const entries: Record<string, CatchupEntry> = {};
  for (const [object, raw] of Object.entries(stored.data.objects)) {
    const entry = CatchupEntrySchema.safeParse(raw);
    if (entry.success) entries[object] = entry.data;
  }
  return entries;
}

/**
 * Runs the catch-up of every mapping, each object and side on its own: one that fails (a query
 * Salesforce refuses, Attio down) is recorded with its error and never stops the others. Returns
 * the entries, also stored in KV for /api/v1/status.
 */
export async function runCatchup(
  deps: SyncDeps,
  kv: KVNamespace,
  mappings: readonly CompiledMapping[],
  options: CatchupOptions,
): Promise<Record<string, CatchupEntry>> {
  const previous = await previousEntries(kv);
  const report: Record<string, CatchupEntry> = {};
  const at = options.now.toISOString();
  const attempt = async (side: CatchupEntry["side"], object: string, work: () => Promise<ObjectReport | string>) => {
    try {
      const done = await work();
      // A paused catch-up reconciled nothing new: it keeps the time reached before.
      const reconciledThrough = previous[object]?.reconciledThrough ?? null;
      report[object] =
        typeof done === "string"
          ? { side, enqueued: 0, deletes: 0, reconciledThrough, paused: done, consecutiveFailures: 0, at }
          : { side, ...done, consecutiveFailures: 0, at };
    } catch (thrown) {
      const error = toSyncError(thrown);
      const before = previous[object];
      const failures = (before?.consecutiveFailures ?? 0) + 1;
      const failingSince = before?.error ? (before.failingSince ?? before.at) : at;
      report[object] = {
        side,
        enqueued: 0,
        deletes: 0,
        reconciledThrough: before?.reconciledThrough ?? null,
        error: { code: error.code, message: error.message },
        consecutiveFailures: failures,
        failingSince,
        at,
      };
      // One line per object and run, whatever the retries inside it.
      deps.log.error("catch-up failed", {
        side,
        object,
        code: error.code,
        error: error.message,
        consecutive_failures: failures,
      });
    }
  };
  for (const compiled of mappings) {
    const { attio_object: attioObject, salesforce_object: sfObject } = compiled.mapping;
    await attempt("salesforce", sfObject, async () => {
      const paused = await budgetPause(deps, kv);
      return paused ?? (await salesforceCatchup(deps, kv, compiled, options));
    });
    await attempt("attio", attioObject, () => attioCatchup(deps, kv, compiled, options));
  }
  try {
    await saveUsage(deps, kv);
  } catch (err) {
    deps.log.warn("could not store the Salesforce API usage", { error: String(err) });
  }
  await kv.put(kvKeys.lastRun, JSON.stringify({ at, objects: report }));
  return report;
}

/** Changes and deletes of one Salesforce object since its cursor. */
export async function salesforceCatchup(
  deps: SyncDeps,
  kv: KVNamespace,
  compiled: CompiledMapping,
  options: CatchupOptions,
): Promise<ObjectReport> {
  const object = compiled.mapping.salesforce_object;
  const now = options.now.getTime();
  const parsed = SfCursorSchema.safeParse(await kv.get(kvKeys.sfCursor(object), "json"));
  const stored = parsed.success ? parsed.data : null;
  let cursor = startOf(stored, now);
  let enqueued = 0;
  let complete = false;
  for (let page = 0; page < SF_PAGES_PER_RUN; page++) {
    const rows = await deps.salesforce.changedSince(object, cursor, SF_PAGE);
    const pairs = await pairsBySalesforce(
      deps.db,
      object,
      rows.map((r) => r.Id),
    );
    // A version already synced (same SystemModstamp in the base) is not queued again.
    const changed = rows.filter((r) => !syncedVersion(pairs.get(r.Id), r.SystemModstamp));
    await sendInChunks(
      options,
      changed.map((r) => r.Id),
      (ids) => internalSalesforceMessage(object, ids, "UPDATE", "catch-up: changed in Salesforce"),
    );
    enqueued += changed.length;
    const last = rows.at(-1);
    if (last) cursor = { stamp: last.SystemModstamp, id: last.Id };
    if (rows.length < SF_PAGE) {
      complete = true;
      break;
    }
  }
  // Stored only after its pages were queued: a run that fails resumes where the last one stopped.
  const next = nextCursor(stored, cursor, complete, now);
  await kv.put(kvKeys.sfCursor(object), JSON.stringify(next));
  const deletes = await salesforceDeletes(deps, kv, compiled, options);
  return { enqueued, deletes, reconciledThrough: next.reconciledThrough };
}

/**
 * Where a run starts: strictly after the last record read when the previous run stopped mid-way;
 * the overlap behind the stored stamp after one that completed; the overlap behind now on a first
 * run (what existed before is the initial sync's work, not the catch-up's).
 */
function startOf(stored: SfCursor | null, now: number): ModstampCursor {
  if (!stored) return { stamp: new Date(now - OVERLAP_MS).toISOString() };
  switch (stored.complete) {
    case false:
      return { stamp: stored.stamp, id: stored.id };
    case true:
      return { stamp: new Date(parseSalesforceTime(stored.stamp) - OVERLAP_MS).toISOString() };
  }
}

/**
 * The cursor after a run. A run that read to the end has seen every record stamped up to now (and
 * up to its last record, should Salesforce's clock be ahead), late commits aside: the next run reads
 * the overlap behind that, and everything before now is reconciled. A run that stopped after its
 * pages resumes after its last record; it reconciled up to that record's stamp, never less than before.
 */
function nextCursor(stored: SfCursor | null, reached: ModstampCursor, complete: boolean, now: number): SfCursor {
  const time = (value: string | null | undefined) => {
    const ms = value ? parseSalesforceTime(value) : Number.NaN;
    return Number.isFinite(ms) ? ms : 0;
  };
  const iso = (ms: number) => new Date(ms).toISOString();
  const before = time(stored?.reconciledThrough);
  // A run stops mid-way only after full pages, so it has a last record (an id).
  if (complete || !reached.id) {
    const through = Math.max(now, time(stored?.stamp), time(reached.stamp));
    return { complete: true, stamp: iso(through), reconciledThrough: iso(Math.max(now, before)) };
  }
  const reconciled = Math.max(before, time(reached.stamp));
  return {
    complete: false,
    stamp: iso(time(reached.stamp)),
    id: reached.id,
    reconciledThrough: reconciled > 0 ? iso(reconciled) : null,
  };
}

function syncedVersion(pair: Pair | undefined, stamp: string): boolean {
  if (!pair?.sfSystemModstamp) return false;
  return parseSalesforceTime(pair.sfSystemModstamp) >= parseSalesforceTime(stamp);
}

async function salesforceDeletes(
  deps: SyncDeps,
  kv: KVNamespace,
  compiled: CompiledMapping,
  options: CatchupOptions,
): Promise<number> {
  const object = compiled.mapping.salesforce_object;
  const now = options.now.getTime();
  const stored = DeleteCursorSchema.safeParse(await kv.get(kvKeys.sfDeleted(object), "json"));
  const start = Math.max(
    now - DELETE_LOG_MS,
    stored.success ? Date.parse(stored.data.through) - OVERLAP_MS : now - OVERLAP_MS,
  );
  const { records: deleted, latestDateCovered } = await deps.salesforce.deletedBetween(
    object,
    new Date(start),
    options.now,
  );
  const pairs = await pairsBySalesforce(
    deps.db,
    object,
    deleted.map((d) => d.id),
  );
  const linked = deleted.filter((d) => pairs.has(d.id)).map((d) => d.id);
  await sendInChunks(options, linked, (ids) =>
    internalSalesforceMessage(object, ids, "DELETE", "catch-up: deleted in Salesforce"),
  );
  // The next request starts where the log is known complete (latestDateCovered), never later than now.
  const covered = latestDateCovered ? Date.parse(latestDateCovered) : Number.NaN;
  const through = Number.isFinite(covered) ? Math.min(covered, now) : now;
  await kv.put(kvKeys.sfDeleted(object), JSON.stringify({ through: new Date(through).toISOString() }));
  return linked.length;
}

/** One slice of the Attio scan of an object, resumed from where the previous run stopped. */
export async function attioCatchup(
  deps: SyncDeps,
  kv: KVNamespace,
  compiled: CompiledMapping,
  options: CatchupOptions,
): Promise<ObjectReport> {
  const object = compiled.mapping.attio_object;
  const parsed = AttioScanSchema.safeParse(await kv.get(kvKeys.attioScan(object), "json"));
  let state: AttioScanState = parsed.success
    ? parsed.data
    : { phase: "scan", offset: 0, startedAt: options.now.toISOString(), reconciledThrough: null };
  let enqueued = 0;
  let deletes = 0;
  const more = (page: number) =>
    page < ATTIO_MIN_PAGES_PER_RUN || (page < ATTIO_MAX_PAGES_PER_RUN && Date.now() < (options.scanUntil ?? 0));
  for (let page = 0; more(page); page++) {
    if (state.phase === "scan") {
      const records = await deps.attio.scanRecords(object, state.offset, ATTIO_PAGE, attioAttributesRead(compiled));
      const differing = await differingRecords(deps, compiled, records, options.users);
      await sendInChunks(options, differing, (ids) => ids.map((id) => internalAttioMessage(object, id, "catch-up")));
      enqueued += differing.length;
      state =
        records.length < ATTIO_PAGE
          ? { ...state, phase: "verify", offset: 0 }
          : { ...state, offset: state.offset + records.length };
    } else {
      const { checked, missing } = await verifyPairs(deps, object, state.offset);
      await sendInChunks(options, missing, (ids) =>
        ids.map((id) => ({
          ...internalAttioMessage(object, id, "catch-up delete"),
          eventType: "record.deleted" as const,
        })),
      );
      deletes += missing.length;
      if (checked < ATTIO_PAGE) {
        // A full pass is done: the next run starts a new one.
        state = { phase: "scan", offset: 0, startedAt: options.now.toISOString(), reconciledThrough: state.startedAt };
        break;
      }
      state = { ...state, offset: state.offset + checked };
    }
  }
  await kv.put(kvKeys.attioScan(object), JSON.stringify(state));
  return { enqueued, deletes, reconciledThrough: state.reconciledThrough };
}

/** Checks one page of this object's pairs against Attio by id; returns the ids Attio no longer has. */
async function verifyPairs(
  deps: SyncDeps,
  object: string,
  offset: number,
): Promise<{ checked: number; missing: string[] }> {
  const ids = await linkedAttioIds(deps.db, object, ATTIO_PAGE, offset);
  if (ids.length === 0) return { checked: 0, missing: [] };
  const found = new Set<string>();
  for (const part of chunk(ids, 100)) {
    for (const record of await deps.attio.queryRecords(object, { record_id: { $in: part } }))
      found.add(record.id.record_id);
  }
  return { checked: ids.length, missing: ids.filter((id) => !found.has(id)) };
}

async function sendInChunks(
  options: CatchupOptions,
  ids: readonly string[],
  build: (ids: string[]) => SyncMessage | SyncMessage[],
): Promise<void> {
  for (const part of chunk(ids, 100)) {
    const built = build(part);
    await options.send(Array.isArray(built) ? built : [built]);
  }
}

/** What the next catch-up run of one side will consider; `error` when that side could not be asked. */
export type SidePreview<T> = ({ ok: true } & T) | { ok: false; error: string };

export interface CatchupPreview {
  mapping: string;
  salesforce: SidePreview<{ object: string; changedSince: string; records: number; perRunLimit: number }>;
  attio: SidePreview<{ object: string; records: number; exact: boolean; fromOffset: number; linked: number }>;
}

/**
 * What the next catch-up will consider for a mapping, without running it (POST /api/v1/start
 * answers it): on Salesforce, the records changed since where its cursor starts (on a first run
 * the overlap behind now: older records are an initial sync's work, not the catch-up's), counted
 * with one COUNT() query; on Attio, every record from where its scan resumes (the whole object on
 * a first run: those with no counterpart yet are matched or created in Salesforce), counted by
 * AttioClient.countRecords, beside the pairs already linked.
 */
export async function catchupPreview(
  deps: SyncDeps,
  kv: KVNamespace,
  compiled: CompiledMapping,
  now: Date,
  linked: number,
): Promise<CatchupPreview> {
  const { name, attio_object: attioObject, salesforce_object: sfObject } = compiled.mapping;
  const side = async <T>(work: () => Promise<T>): Promise<SidePreview<T>> => {
    try {
      return { ok: true, ...(await work()) };
    } catch (thrown) {
      const error = toSyncError(thrown);
      return { ok: false, error: `${error.code}: ${error.message}` };
    }
  };
  const [salesforce, attio] = await Promise.all([
    side(async () => {
      const parsed = SfCursorSchema.safeParse(await kv.get(kvKeys.sfCursor(sfObject), "json"));
      const start = startOf(parsed.success ? parsed.data : null, now.getTime());
      const records = await deps.salesforce.countChangedSince(sfObject, start.stamp);
      return { object: sfObject, changedSince: start.stamp, records, perRunLimit: SF_PAGES_PER_RUN * SF_PAGE };
    }),
    side(async () => {
      const scan = AttioScanSchema.safeParse(await kv.get(kvKeys.attioScan(attioObject), "json"));
      const fromOffset = scan.success && scan.data.phase === "scan" ? scan.data.offset : 0;
      const { count, exact } = await deps.attio.countRecords(attioObject);
      return { object: attioObject, records: Math.max(0, count - fromOffset), exact, fromOffset, linked };
    }),
  ]);
  return { mapping: name, salesforce, attio };
}
