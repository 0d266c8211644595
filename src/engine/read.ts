import type { AttioRecord } from "../attio/record-schema.ts";
import { type SyncError, toSyncError } from "../lib/errors.ts";
import { attioReferences, type CompiledMapping } from "../mapping/engine.ts";
import { salesforceFieldsOf } from "../plan/canon.ts";
import type { RecordFacts } from "../plan/decision.ts";
import { attioEchoCandidate } from "../plan/settle-early.ts";
import type { Touch } from "../plan/touch.ts";
import type { SfRecordRow } from "../salesforce/client.ts";
import { loadIdLookup, type Pair, pairsByAttio, pairsBySalesforce } from "../store/pairs.ts";
import type { SyncDeps } from "../sync/deps.ts";
import type { EngineOptions } from "./options.ts";

/** Salesforce objects that support merges (others have no MasterRecordId field). */
const MERGEABLE = new Set(["Account", "Contact", "Lead", "Case"]);

/**
 * The pairs of the touched records. An Attio merge moves an original's pair to the record it was
 * merged into, unless that record already has one. With both originals linked, the older pair
 * moves (mergedAway holds the other).
 */
export async function loadPairs(
  deps: SyncDeps,
  compiled: CompiledMapping,
  touches: readonly Touch[],
): Promise<Map<Touch, Pair>> {
  const { mapping } = compiled;
  const attioIds = touches.filter((t) => t.side === "attio").flatMap((t) => [t.recordId, ...(t.mergedFrom ?? [])]);
  const sfIds = touches.filter((t) => t.side === "salesforce").map((t) => t.recordId);
  const [byAttio, bySf] = await Promise.all([
    pairsByAttio(deps.db, mapping.attio_object, attioIds),
    pairsBySalesforce(deps.db, mapping.salesforce_object, sfIds),
  ]);
  const out = new Map<Touch, Pair>();
  for (const touch of touches) {
    const pair = touch.side === "attio" ? byAttio.get(touch.recordId) : bySf.get(touch.recordId);
    if (pair) out.set(touch, pair);
  }
  for (const touch of touches) {
    if (!touch.mergedFrom?.length || out.has(touch)) continue;
    const [loser] = touch.mergedFrom
      .map((id) => byAttio.get(id))
      .filter((pair): pair is Pair => pair !== undefined)
      .sort((a, b) => a.mapping.createdAt.localeCompare(b.mapping.createdAt));
    if (loser) {
      const movedFrom = loser.mapping.attioRecordId;
      out.set(touch, { ...loser, movedFrom, mapping: { ...loser.mapping, attioRecordId: touch.recordId } });
    }
  }
  return out;
}

/** Records read by id, per side, so that no step reads them again. */
export interface Known {
  attio: ReadonlyMap<string, AttioRecord>;
  salesforce: ReadonlyMap<string, SfRecordRow>;
}

/**
 * Both records of each Attio webhook on a linked record (settle-early rule 4 needs the Attio one),
 * read in parallel, with the id map the Attio records' references need. The Salesforce read is
 * wasted when the webhook turns out to be an echo; our own writes' echoes are dropped on arrival
 * (attio/own-actor.ts), so what comes here is mostly a person's edit, which needs both sides: one
 * round trip instead of two.
 */
export async function readAttioEchoes(
  deps: SyncDeps,
  compiled: CompiledMapping,
  touches: readonly Touch[],
  pairs: ReadonlyMap<Touch, Pair>,
): Promise<{ known: Known; ids: Awaited<ReturnType<typeof loadIdLookup>> | undefined }> {
  const linked = touches.flatMap((touch) => {
    const pair = pairs.get(touch);
    return attioEchoCandidate(touch, pair) ? [pair.mapping] : [];
  });
  if (linked.length === 0) return { known: { attio: new Map(), salesforce: new Map() }, ids: undefined };
  const { mapping } = compiled;
  const [records, rows] = await Promise.all([
    deps.attio.queryRecords(mapping.attio_object, { record_id: { $in: linked.map((m) => m.attioRecordId) } }),
    deps.salesforce.retrieve(
      mapping.salesforce_object,
      linked.map((m) => m.sfRecordId),
      salesforceFieldsOf(compiled),
    ),
  ]);
  const refs = records.flatMap((record) => attioReferences(compiled, record.values));
  const lookup = await loadIdLookup(
    deps.db,
    refs.map((r) => ({ object: r.targetObject, id: r.id })),
    [],
  );
  const attio = new Map(records.map((record) => [record.id.record_id, record]));
  // A Salesforce record the read did not return is read again with the others (it may be gone).
  const salesforce = new Map(rows.map((row) => [row.Id, row]));
  return { known: { attio, salesforce }, ids: lookup };
}

/**
 * Both sides of every touched record, in bulk and in parallel, plus what a record gone on one side
 * needs to be decided: an Attio record is read by id before it counts as gone, and a Salesforce one
 * is looked up among merges. Records in `known` (read moments ago, or listed by a job page) are not
 * read again.
 */
export async function readFacts(
  deps: SyncDeps,
  compiled: CompiledMapping,
  touches: readonly Touch[],
  pairs: ReadonlyMap<Touch, Pair>,
  known: Known,
): Promise<{ facts: RecordFacts[]; unread: Map<Touch, SyncError> }> {
  const { mapping } = compiled;
  const attioIds = new Set<string>();
  const sfIds = new Set<string>();
  for (const touch of touches) {
    const pair = pairs.get(touch);
    if (touch.side === "attio" || pair) attioIds.add(pair?.mapping.attioRecordId ?? touch.recordId);
    if (touch.side === "salesforce" || pair) sfIds.add(pair?.mapping.sfRecordId ?? touch.recordId);
  }
  const unread = [...attioIds].filter((id) => !known.attio.has(id));
  const sfUnread = [...sfIds].filter((id) => !known.salesforce.has(id));
  const [attioRecords, sfRows] = await Promise.all([
    unread.length > 0 ? deps.attio.queryRecords(mapping.attio_object, { record_id: { $in: unread } }) : [],
    sfUnread.length > 0
      ? deps.salesforce.retrieve(mapping.salesforce_object, sfUnread, salesforceFieldsOf(compiled))
      : [],
  ]);
  const attioById = new Map([...known.attio, ...attioRecords.map((r) => [r.id.record_id, r] as const)]);
  const sfById = new Map([...known.salesforce, ...sfRows.map((r) => [r.Id, r] as const)]);
  const facts = touches.map((touch): RecordFacts => {
    const pair = pairs.get(touch);
    const attioId = pair?.mapping.attioRecordId ?? (touch.side === "attio" ? touch.recordId : undefined);
    const sfId = pair?.mapping.sfRecordId ?? (touch.side === "salesforce" ? touch.recordId : undefined);
    return {
      touch,
      pair,
      attio: attioId === undefined ? undefined : (attioById.get(attioId) ?? null),
      salesforce: sfId === undefined ? undefined : (sfById.get(sfId) ?? null),
    };
  });
  const failed = new Map<Touch, SyncError>();
  await Promise.all([confirmAttioGone(deps, compiled, facts, failed), findSalesforceMerges(deps, compiled, facts)]);
  return { facts: facts.filter((fact) => !failed.has(fact.touch)), unread: failed };
}

/**
 * An Attio record a query did not return is read by id before it counts as gone: the result of a
 * merge Attio is still applying reads 404 merge_in_progress (the client throws record_busy, and the
 * touch is retried) rather than being taken for a delete.
 */
async function confirmAttioGone(
  deps: SyncDeps,
  compiled: CompiledMapping,
  facts: RecordFacts[],
  unread: Map<Touch, SyncError>,
): Promise<void> {
  await Promise.all(
    facts.map(async (fact) => {
      if (fact.attio !== null) return;
      const id = fact.pair?.mapping.attioRecordId ?? fact.touch.recordId;
      try {
        const record = await deps.attio.getRecord(compiled.mapping.attio_object, id);
        if (record) fact.attio = record;
      } catch (thrown) {
        // This record only (a merge still being applied): the batch's others go on.
        unread.set(fact.touch, toSyncError(thrown));
      }
    }),
  );
}

/**
 * A linked Salesforce record the read did not return counts as deleted only once the Recycle Bin
 * has it (queryAll, IsDeleted = true) or Salesforce reported its delete (a DELETE change event,
 * the delete log); otherwise it is merely not visible to the integration user (sharing changed)
 * and nothing is deleted. One that lost a merge has a MasterRecordId there: the
 * planner follows the merge instead of deleting (one query for the batch).
 */
async function findSalesforceMerges(deps: SyncDeps, compiled: CompiledMapping, facts: RecordFacts[]): Promise<void> {
  const object = compiled.mapping.salesforce_object;
  const gone = facts.filter((fact) => fact.pair && fact.salesforce === null);
  if (gone.length === 0) return;
  const rows = await deps.salesforce.deletedWithMaster(
    object,
    gone.map((fact) => fact.pair?.mapping.sfRecordId ?? ""),
    MERGEABLE.has(object),
  );
  const deleted = new Set(rows.map((row) => row.Id));
  for (const fact of gone) {
    // Salesforce's own word counts too: a DELETE change event or delete-log entry for this very
    // record (the Recycle Bin may have been emptied since). A sharing change sends neither.
    const reported = fact.touch.side === "salesforce" && fact.touch.deleted;
    fact.salesforceGone = reported || deleted.has(fact.pair?.mapping.sfRecordId ?? "") ? "deleted" : "not_visible";
  }
  const masterOf = new Map(rows.flatMap((row) => (row.MasterRecordId ? [[row.Id, row.MasterRecordId] as const] : [])));
  if (masterOf.size === 0) return;
  const linked = await pairsBySalesforce(deps.db, object, [...new Set(masterOf.values())]);
  for (const fact of gone) {
    const master = masterOf.get(fact.pair?.mapping.sfRecordId ?? "");
    if (master) fact.salesforceMerge = { master, masterLinked: linked.has(master) };
  }
}

/**
 * An Attio merge whose survivor already has a counterpart: the other original's pair cannot move to
 * it, and which of the two Salesforce records should survive is not ours to guess (held).
 */
export async function findMergedAway(deps: SyncDeps, compiled: CompiledMapping, facts: RecordFacts[]): Promise<void> {
  const merges = facts.filter((f) => f.touch.side === "attio" && f.touch.mergedFrom?.length);
  if (merges.length === 0) return;
  const losers = await pairsByAttio(
    deps.db,
    compiled.mapping.attio_object,
    merges.flatMap((f) => f.touch.mergedFrom ?? []),
  );
  for (const fact of merges) {
    const survivor = fact.pair;
    const away = (fact.touch.mergedFrom ?? []).flatMap((id) => {
      const loser = losers.get(id);
      return loser && survivor && survivor.mapping.id !== loser.mapping.id ? [loser.mapping.id] : [];
    });
    if (away.length > 0) fact.mergedAway = away;
  }
}

/**
 * The Attio records already in hand: those read moments ago, and the ones a job page listed for
 * records with no counterpart yet. A linked record is read again: another consumer may have synced
 * a newer version of it since the listing, and planning from the older one would write it back.
 */
export function withListed(
  touches: readonly Touch[],
  pairs: ReadonlyMap<Touch, Pair>,
  read: Known,
  options: Pick<EngineOptions, "listed">,
): Known {
  const attio = new Map(read.attio);
  for (const touch of touches) {
    const record = options.listed?.get(touch.recordId);
    if (record && touch.side === "attio" && !pairs.has(touch) && !attio.has(touch.recordId)) {
      attio.set(touch.recordId, record);
    }
  }
  return { attio, salesforce: read.salesforce };
}
