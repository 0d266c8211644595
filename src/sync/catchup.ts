import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import { attioAttributesRead, type CompiledMapping } from "../mapping/engine.ts";
import { chunk } from "../store/db.ts";
import { loadIdLookup, type Pair, pairsByAttio, pairsBySalesforce } from "../store/pairs.ts";
import { idMappings } from "../store/schema.ts";
import { budgetPause, saveUsage } from "./budget.ts";
import { attioSide } from "./canon.ts";
import type { SyncDeps } from "./deps.ts";
import { internalAttioMessage, internalSalesforceMessage, type SyncMessage } from "./messages.ts";
import { sameValue } from "./plan-fields.ts";

/**
 * The scheduled catch-up: the guarantee behind webhooks and change events, which get lost.
 *
 * - Salesforce, per mapped object: records whose SystemModstamp is at or after the cursor minus an
 *   overlap (commit lag, equal timestamps), in (SystemModstamp, Id) order, plus the delete log.
 * - Attio has no "updated since": each object is scanned in creation order with an offset that
 *   survives across runs; only records whose mapped values differ from the stored base are queued.
 *   After a complete scan every pair is checked by id: a pair whose Attio record is missing is
 *   queued as a delete (a partial scan never produces delete candidates).
 */

/** Re-read window behind the cursor: covers commit lag and records sharing a timestamp. */
export const OVERLAP_MS = 5 * 60_000;
/** Salesforce's delete log reaches back about 15 days; never ask for more. */
const DELETE_LOG_MS = 14 * 86_400_000;
export const SF_PAGE = 2_000;
const SF_PAGES_PER_RUN = 5;
export const ATTIO_PAGE = 500;
const ATTIO_PAGES_PER_RUN = 4;

const SfCursorSchema = z.object({ stamp: z.string(), reconciledThrough: z.string() });
const DeleteCursorSchema = z.object({ through: z.string() });
const AttioScanSchema = z.object({
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

export interface CatchupOptions {
  now: Date;
  send(messages: SyncMessage[]): Promise<void>;
}

/** Runs the catch-up of every mapping; returns per-object counts (also stored in KV for status). */
export async function runCatchup(
  deps: SyncDeps,
  kv: KVNamespace,
  mappings: readonly CompiledMapping[],
  options: CatchupOptions,
): Promise<Record<string, ObjectReport>> {
  const report: Record<string, ObjectReport & { paused?: string }> = {};
  for (const compiled of mappings) {
    const { attio_object: attioObject, salesforce_object: sfObject } = compiled.mapping;
    const paused = await budgetPause(deps, kv);
    report[sfObject] = paused
      ? { enqueued: 0, deletes: 0, reconciledThrough: null, paused }
      : await salesforceCatchup(deps, kv, compiled, options);
    report[attioObject] = await attioCatchup(deps, kv, compiled, options);
  }
  await saveUsage(deps, kv);
  await kv.put(kvKeys.lastRun, JSON.stringify({ at: options.now.toISOString(), objects: report }));
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
  const stored = SfCursorSchema.safeParse(await kv.get(kvKeys.sfCursor(object), "json"));
  // A first run starts now: what existed before is the initial sync's work, not the catch-up's.
  const from = stored.success ? Date.parse(stored.data.stamp) - OVERLAP_MS : now - OVERLAP_MS;
  let cursor = { stamp: new Date(from).toISOString(), id: "" };
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
      (ids) => internalSalesforceMessage(object, ids),
    );
    enqueued += changed.length;
    const last = rows.at(-1);
    if (last) cursor = { stamp: last.SystemModstamp, id: last.Id };
    if (rows.length < SF_PAGE) {
      complete = true;
      break;
    }
  }
  // The cursor only moves forward, and only after its page was queued.
  const previous = stored.success ? Date.parse(stored.data.stamp) : 0;
  const reached = Math.max(previous, Date.parse(cursor.stamp.replace("+0000", "Z")));
  const reconciledThrough = complete ? new Date(now).toISOString() : new Date(reached).toISOString();
  await kv.put(
    kvKeys.sfCursor(object),
    JSON.stringify({ stamp: new Date(reached || now).toISOString(), reconciledThrough }),
  );
  const deletes = await salesforceDeletes(deps, kv, compiled, options);
  return { enqueued, deletes, reconciledThrough };
}

function syncedVersion(pair: Pair | undefined, stamp: string): boolean {
  if (!pair?.sfSystemModstamp) return false;
  return Date.parse(pair.sfSystemModstamp.replace("+0000", "Z")) >= Date.parse(stamp.replace("+0000", "Z"));
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
  const deleted = await deps.salesforce.deletedBetween(object, new Date(start), options.now);
  const pairs = await pairsBySalesforce(
    deps.db,
    object,
    deleted.map((d) => d.id),
  );
  const linked = deleted.filter((d) => pairs.has(d.id)).map((d) => d.id);
  await sendInChunks(options, linked, (ids) => internalSalesforceMessage(object, ids, "DELETE"));
  await kv.put(kvKeys.sfDeleted(object), JSON.stringify({ through: options.now.toISOString() }));
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
  for (let page = 0; page < ATTIO_PAGES_PER_RUN; page++) {
    if (state.phase === "scan") {
      const records = await deps.attio.scanRecords(object, state.offset, ATTIO_PAGE, attioAttributesRead(compiled));
      const differing = await differingRecords(deps, compiled, records);
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

/** Records with no pair yet, or whose mapped values differ from the Attio side of their base. */
export async function differingRecords(
  deps: SyncDeps,
  compiled: CompiledMapping,
  records: Awaited<ReturnType<SyncDeps["attio"]["scanRecords"]>>,
): Promise<string[]> {
  const pairs = await pairsByAttio(
    deps.db,
    compiled.mapping.attio_object,
    records.map((r) => r.id.record_id),
  );
  const ids = await loadIdLookup(deps.db, [], []);
  return records
    .filter((record) => {
      const base = pairs.get(record.id.record_id)?.base;
      if (!base) return true;
      const now = attioSide(compiled, record.values, { ids }).values;
      return Object.entries(now).some(([field, value]) => field in base.attio && !sameValue(value, base.attio[field]));
    })
    .map((r) => r.id.record_id);
}

/** Checks one page of this object's pairs against Attio by id; returns the ids Attio no longer has. */
async function verifyPairs(
  deps: SyncDeps,
  object: string,
  offset: number,
): Promise<{ checked: number; missing: string[] }> {
  const rows = await deps.db
    .select({ id: idMappings.attioRecordId })
    .from(idMappings)
    .where(eq(idMappings.attioObject, object))
    .orderBy(asc(idMappings.attioRecordId))
    .limit(ATTIO_PAGE)
    .offset(offset);
  const ids = rows.map((r) => r.id);
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
