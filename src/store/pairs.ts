import { and, asc, eq, sql } from "drizzle-orm";
import { chunk } from "../lib/chunk.ts";
import { sha256Hex } from "../lib/hmac.ts";
import type { IdLookup } from "../mapping/transforms.ts";
import { canonicalJson } from "../plan/diff.ts";
import type { Base } from "../plan/plan-fields.ts";
import { type Db, IDS_PER_STATEMENT, NOW, rowsForIds } from "./db.ts";
import { type auditLog, deferredRefs, idMappings, syncState } from "./schema.ts";

/** The engine's imports from here: conflicts and held deletes have their own modules now. */

export type MappingRow = typeof idMappings.$inferSelect;
export type AuditRow = typeof auditLog.$inferInsert;

/** A linked pair with its base (null before the first successful sync of the pair). */
export interface Pair {
  mapping: MappingRow;
  base: Base | null;
  sfSystemModstamp: string | null;
  /**
   * Set by the engine, never stored: the Attio record this pair was linked to before an Attio merge
   * moved it to `mapping.attioRecordId`. Such a pair is stored even when nothing else changes.
   */
  movedFrom?: string;
}

/** The current time as stored, through drizzle. */
const nowSql = sql.raw(`(${NOW})`);

/** Pairs of `attioObject` records among `ids`, keyed by Attio record id. */
export function pairsByAttio(db: Db, attioObject: string, ids: readonly string[]): Promise<Map<string, Pair>> {
  return pairsBy(db, "attio", attioObject, ids);
}

/** Pairs of `sfObject` records among `ids`, keyed by Salesforce Id. */
export function pairsBySalesforce(db: Db, sfObject: string, ids: readonly string[]): Promise<Map<string, Pair>> {
  return pairsBy(db, "salesforce", sfObject, ids);
}

const MAPPING_COLUMNS = `m.id, m.attio_object as attioObject, m.attio_record_id as attioRecordId,
  m.sf_object as sfObject, m.sf_record_id as sfRecordId, m.created_at as createdAt, m.updated_at as updatedAt`;

const PAIRS_BY_ATTIO = `select ${MAPPING_COLUMNS}, s.base_values as baseValues, s.sf_system_modstamp as sfSystemModstamp
  from id_mappings m left join sync_state s on s.mapping_id = m.id
  where m.attio_object = ? and m.attio_record_id in (select value from json_each(?))`;

const PAIRS_BY_SALESFORCE = `select ${MAPPING_COLUMNS}, s.base_values as baseValues, s.sf_system_modstamp as sfSystemModstamp
  from id_mappings m left join sync_state s on s.mapping_id = m.id
  where m.sf_object = ? and m.sf_record_id in (select value from json_each(?))`;

type PairRow = MappingRow & { baseValues: string | null; sfSystemModstamp: string | null };

async function pairsBy(
  db: Db,
  side: "attio" | "salesforce",
  object: string,
  ids: readonly string[],
): Promise<Map<string, Pair>> {
  const query = side === "attio" ? PAIRS_BY_ATTIO : PAIRS_BY_SALESFORCE;
  const out = new Map<string, Pair>();
  for (const row of await rowsForIds<PairRow>(db, query, ids, object)) {
    out.set(side === "attio" ? row.attioRecordId : row.sfRecordId, toPair(row));
  }
  return out;
}

function toPair({ baseValues, sfSystemModstamp, ...mapping }: PairRow): Pair {
  const stored = baseValues ? (JSON.parse(baseValues) as Partial<Base>) : undefined;
  const base = stored?.attio && stored.salesforce ? { attio: stored.attio, salesforce: stored.salesforce } : null;
  return { mapping, base, sfSystemModstamp };
}

const MAPPINGS_BY_ATTIO = `select ${MAPPING_COLUMNS} from id_mappings m
  where m.attio_record_id in (select value from json_each(?))`;

const MAPPINGS_BY_SALESFORCE = `select ${MAPPING_COLUMNS} from id_mappings m
  where m.sf_record_id in (select value from json_each(?))`;

/**
 * An IdLookup over the pairs of the given ids, loaded in bulk so reference transforms can resolve
 * synchronously (the mapping core does no I/O).
 */
export async function loadIdLookup(
  db: Db,
  attioIds: ReadonlyArray<{ object: string; id: string }>,
  sfIds: ReadonlyArray<{ object: string; id: string }>,
): Promise<IdLookup & { link(attioObject: string, attioId: string, sfId: string): void }> {
  const toSf = new Map<string, string>();
  const toAttio = new Map<string, string>();
  const remember = (row: MappingRow) => {
    toSf.set(`${row.attioObject}:${row.attioRecordId}`, row.sfRecordId);
    toAttio.set(`${row.attioObject}:${row.sfRecordId}`, row.attioRecordId);
  };
  const byAttio = attioIds.map((r) => r.id);
  const bySf = sfIds.map((r) => r.id);
  for (const row of await rowsForIds<MappingRow>(db, MAPPINGS_BY_ATTIO, byAttio)) remember(row);
  for (const row of await rowsForIds<MappingRow>(db, MAPPINGS_BY_SALESFORCE, bySf)) remember(row);
  return {
    salesforceIdFor: (attioObject, attioId) => toSf.get(`${attioObject}:${attioId}`),
    attioIdFor: (attioObject, sfId) => toAttio.get(`${attioObject}:${sfId}`),
    link(attioObject, attioId, sfId) {
      toSf.set(`${attioObject}:${attioId}`, sfId);
      toAttio.set(`${attioObject}:${sfId}`, attioId);
    },
  };
}

export interface SavePair {
  mapping: Omit<MappingRow, "createdAt" | "updatedAt">;
  base: Base;
  direction: "attio_to_sf" | "sf_to_attio" | "none";
  sfSystemModstamp: string | null;
  audits: Omit<AuditRow, "mappingId">[];
}

/** Stores the pair, its new base and its audit rows in one D1 batch (one transaction). */
export async function savePair(db: Db, save: SavePair): Promise<void> {
  await savePairs(db, [save]);
}

/** Pairs per statement: keeps each bound JSON parameter far below D1's 2 MB value limit. */
const PAIRS_PER_STATEMENT = 200;

/**
 * Stores many pairs, their bases and audit rows in one D1 batch (one transaction, one round trip):
 * all of them or, if one fails, none. Three statements per PAIRS_PER_STATEMENT pairs, each reading
 * its rows from one JSON parameter: a statement per row would cost a job's page of 2,000 creates
 * 6,000 statements to build and send.
 */
export async function savePairs(db: Db, saves: readonly SavePair[]): Promise<void> {
  const statements = [];
  for (const part of chunk(saves, PAIRS_PER_STATEMENT)) statements.push(...(await pairStatements(db.$client, part)));
  if (statements.length > 0) await db.$client.batch(statements);
}

/** D1 batches one failed save may take to single out its failing pairs; past them the rest fail whole. */
const SPLIT_BATCHES = 64;

/**
 * Stores many pairs in one batch and, if that batch fails (a pair clashing with one another
 * consumer just stored), each half again, down to single pairs, so only the failing ones fail.
 * Halving finds a clash among 1,000 pairs in about 20 batches, not 1,000, and SPLIT_BATCHES caps
 * the search when everything fails (D1 unavailable): D1 counts every statement against an
 * invocation's queries. Returns each save's error, or undefined where it was stored.
 */
export async function savePairsApart(db: Db, saves: readonly SavePair[]): Promise<(unknown | undefined)[]> {
  return saveSplitting(db, saves, { left: SPLIT_BATCHES });
}

async function saveSplitting(
  db: Db,
  saves: readonly SavePair[],
  budget: { left: number },
  parentError?: unknown,
): Promise<(unknown | undefined)[]> {
  if (budget.left <= 0) return saves.map(() => parentError);
  budget.left--;
  try {
    await savePairs(db, saves);
    return saves.map(() => undefined);
  } catch (batchError) {
    if (saves.length === 1) return [batchError];
    const half = Math.ceil(saves.length / 2);
    const first = await saveSplitting(db, saves.slice(0, half), budget, batchError);
    return [...first, ...(await saveSplitting(db, saves.slice(half), budget, batchError))];
  }
}

const INSERT_MAPPINGS = `insert into id_mappings (id, attio_object, attio_record_id, sf_object, sf_record_id)
  select value ->> '$.id', value ->> '$.attioObject', value ->> '$.attioRecordId', value ->> '$.sfObject',
    value ->> '$.sfRecordId'
  from jsonb_each(?) where true
  on conflict (id) do update
  set sf_record_id = excluded.sf_record_id, attio_record_id = excluded.attio_record_id, updated_at = ${NOW}`;

const INSERT_STATES = `insert into sync_state (mapping_id, base_values, base_hash, attio_seen_at, sf_system_modstamp,
    last_direction)
  select value ->> '$.id', value -> '$.base', value ->> '$.hash', ?, value ->> '$.modstamp', value ->> '$.direction'
  from jsonb_each(?) where true
  on conflict (mapping_id) do update
  set base_values = excluded.base_values, base_hash = excluded.base_hash, attio_seen_at = excluded.attio_seen_at,
    sf_system_modstamp = excluded.sf_system_modstamp, last_direction = excluded.last_direction,
    last_synced_at = ${NOW}`;

const INSERT_AUDITS = `insert into audit_log (correlation_id, mapping_id, direction, operation, attio_object,
    attio_record_id, sf_object, sf_record_id, changes, source_event, actor)
  select value ->> '$.correlationId', value ->> '$.mappingId', value ->> '$.direction', value ->> '$.operation',
    value ->> '$.attioObject', value ->> '$.attioRecordId', value ->> '$.sfObject', value ->> '$.sfRecordId',
    value -> '$.changes', value -> '$.sourceEvent', value ->> '$.actor'
  from jsonb_each(?)`;

/**
 * The three statements that store `saves`: pairs, bases (with their hashes), audit rows. Bases,
 * changes and source events go in as JSON objects and are stored as `->` renders them (the same
 * text as JSON.stringify): as strings inside the parameter, every quote in them would be escaped
 * once more on the way to D1, for nothing. `jsonb_each` hands each row over as JSONB, which the
 * extractions read directly; `json_each` hands it over as text that each of a row's 5 to 11
 * extractions parses again (the audit insert took 2.4 times as long so).
 */
async function pairStatements(d1: D1Database, saves: readonly SavePair[]): Promise<D1PreparedStatement[]> {
  const states = await Promise.all(
    saves.map(async (save) => ({
      id: save.mapping.id,
      base: save.base,
      hash: await hashBase(save.base),
      modstamp: save.sfSystemModstamp,
      direction: save.direction,
    })),
  );
  const audits = saves.flatMap(({ mapping, audits }) => audits.map((audit) => ({ ...audit, mappingId: mapping.id })));
  return [
    d1.prepare(INSERT_MAPPINGS).bind(JSON.stringify(saves.map(({ mapping }) => mapping))),
    d1.prepare(INSERT_STATES).bind(new Date().toISOString(), JSON.stringify(states)),
    ...(audits.length > 0 ? [d1.prepare(INSERT_AUDITS).bind(JSON.stringify(audits))] : []),
  ];
}

function hashBase(base: Base): Promise<string> {
  return sha256Hex(canonicalJson(base));
}

/**
 * Points a pair at another record on one side (after a merge) and forgets its base, so the pair is
 * synced again like a first link: blanks filled, differences settled by the conflict strategy.
 */
export async function movePair(
  db: Db,
  mappingId: string,
  to: { sfRecordId?: string; attioRecordId?: string },
): Promise<void> {
  await db.batch([
    db.delete(syncState).where(eq(syncState.mappingId, mappingId)),
    db
      .update(idMappings)
      .set({ ...to, updatedAt: nowSql })
      .where(eq(idMappings.id, mappingId)),
  ]);
}

/** Removes a pair (after a propagated delete): its base goes with it; audit history stays. */
export async function unlinkPair(db: Db, mappingId: string): Promise<void> {
  await db.batch([
    db.delete(syncState).where(eq(syncState.mappingId, mappingId)),
    db.delete(idMappings).where(eq(idMappings.id, mappingId)),
  ]);
}

/** The pair with this id (`id_mappings.id`), if it still exists. */
export async function pairById(db: Db, mappingId: string): Promise<MappingRow | undefined> {
  return db.select().from(idMappings).where(eq(idMappings.id, mappingId)).get();
}

/** The id of the pair a Salesforce record is linked in, if it is. */
export async function pairIdOfSalesforce(db: Db, sfObject: string, sfRecordId: string): Promise<string | undefined> {
  const row = await db
    .select({ id: idMappings.id })
    .from(idMappings)
    .where(and(eq(idMappings.sfObject, sfObject), eq(idMappings.sfRecordId, sfRecordId)))
    .get();
  return row?.id;
}

/** Links two records as a new pair, with no base yet: its first sync fills blanks and settles differences. */
export async function insertPair(db: Db, pair: Omit<MappingRow, "id" | "createdAt" | "updatedAt">): Promise<void> {
  await db.insert(idMappings).values({ id: crypto.randomUUID(), ...pair });
}

/** One page of the Attio ids linked in `attioObject`, in id order. */
export async function linkedAttioIds(db: Db, attioObject: string, limit: number, offset: number): Promise<string[]> {
  const rows = await db
    .select({ id: idMappings.attioRecordId })
    .from(idMappings)
    .where(eq(idMappings.attioObject, attioObject))
    .orderBy(asc(idMappings.attioRecordId))
    .limit(limit)
    .offset(offset);
  return rows.map((r) => r.id);
}

/** Remembers that a record waits for `target` to be linked. */
export async function deferReference(
  db: Db,
  waiting: { side: "attio" | "salesforce"; object: string; recordId: string },
  target: { object: string; id: string },
): Promise<void> {
  await db
    .insert(deferredRefs)
    .values({ ...waiting, targetObject: target.object, targetId: target.id })
    .onConflictDoNothing();
}

/** A record waiting for `targetId` to be linked (a `deferred_refs` row). */
export interface WaitingRecord {
  object: string;
  recordId: string;
  targetId: string;
}

/** Records waiting on any of `targetIds` (one side). They stay until `forgetWaiting` removes them. */
export async function waitingOn(
  db: Db,
  side: "attio" | "salesforce",
  targetIds: readonly string[],
): Promise<WaitingRecord[]> {
  return rowsForIds(db, WAITING_ON, targetIds, side);
}

/**
 * Removes exactly these rows, once their records were asked to sync again. A row added for the
 * same target since `waitingOn` read it stays, and so does every row of a send that failed.
 */
export async function forgetWaiting(
  db: Db,
  side: "attio" | "salesforce",
  rows: readonly WaitingRecord[],
): Promise<void> {
  for (const part of chunk(rows, IDS_PER_STATEMENT)) {
    await db.$client
      .prepare(FORGET_WAITING)
      .bind(side, JSON.stringify(part.map((r) => [r.recordId, r.targetId])))
      .run();
  }
}

const WAITING_ON = `select object, record_id as recordId, target_id as targetId from deferred_refs
  where side = ? and target_id in (select value from json_each(?))`;

const FORGET_WAITING = `delete from deferred_refs where side = ?1 and exists (
  select 1 from json_each(?2) j
  where json_extract(j.value, '$[0]') = deferred_refs.record_id and json_extract(j.value, '$[1]') = deferred_refs.target_id)`;

/**
 * Waiting rows whose target is linked already, oldest first: the ones whose re-sync was never
 * sent (the send failed after the link). The cron's housekeeping sends them again.
 */
export async function waitingOnLinked(
  db: Db,
  limit: number,
): Promise<{ side: "attio" | "salesforce"; rows: WaitingRecord[] }[]> {
  const { results } = await db.$client
    .prepare(WAITING_ON_LINKED)
    .bind(limit)
    .all<WaitingRecord & { side: "attio" | "salesforce" }>();
  return (["attio", "salesforce"] as const).map((side) => ({
    side,
    rows: results.filter((r) => r.side === side).map(({ side: _, ...row }) => row),
  }));
}

const WAITING_ON_LINKED = `select d.side, d.object, d.record_id as recordId, d.target_id as targetId
  from deferred_refs d
  where (d.side = 'attio' and exists (select 1 from id_mappings m where m.attio_record_id = d.target_id))
     or (d.side = 'salesforce' and exists (select 1 from id_mappings m where m.sf_record_id = d.target_id))
  order by d.created_at limit ?`;
