import type { AttioRecord } from "../attio/record-schema.ts";
import { attioMatchKeys, type CompiledMapping, salesforceMatchKeys } from "../mapping/engine.ts";
import { salesforceFieldsOf } from "../plan/canon.ts";
import type { Candidates, RecordFacts } from "../plan/decision.ts";
import { matchQueryValues } from "../plan/match-query.ts";
import type { SfRecordRow } from "../salesforce/client.ts";
import { pairsByAttio, pairsBySalesforce } from "../store/pairs.ts";
import type { SyncDeps } from "../sync/deps.ts";
import { intentSources } from "./intents.ts";
import type { Leases } from "./leases.ts";
import type { EngineOptions } from "./options.ts";

/** What candidates were found under each match key, and which keys are busy (ms to wait). */
interface ByKey<R> {
  into: Map<string, R[]>;
  busy: Map<string, number>;
}

/**
 * Candidates on the other side for the records with no counterpart, by the mapping's first match
 * key, one query per side for the whole batch. Each candidate is leased before it can be linked:
 * another consumer may be creating its counterpart. Sets `candidates` on each such record's facts.
 * A Salesforce record that finds none may be what an open create intent made (intents.ts
 * `intentSources`): its Attio source is then its candidate.
 */
export async function findCandidates(
  deps: SyncDeps,
  compiled: CompiledMapping,
  options: Pick<EngineOptions, "matchIndex">,
  leases: Pick<Leases, "take">,
  facts: readonly RecordFacts[],
): Promise<void> {
  await byMatchKey(deps, compiled, options, leases, facts);
  await intentSources(deps, compiled, leases, facts);
}

async function byMatchKey(
  deps: SyncDeps,
  compiled: CompiledMapping,
  options: Pick<EngineOptions, "matchIndex">,
  leases: Pick<Leases, "take">,
  facts: readonly RecordFacts[],
): Promise<void> {
  const { mapping } = compiled;
  const key = mapping.match_keys[0];
  if (!key) return;
  const attioNeeds = facts.filter((f) => !f.pair && f.touch.side === "attio" && f.attio);
  const sfNeeds = facts.filter((f) => !f.pair && f.touch.side === "salesforce" && f.salesforce);
  const keysOf = (f: RecordFacts) =>
    f.touch.side === "attio"
      ? f.attio
        ? attioMatchKeys(mapping, f.attio.values).slice(0, 1)
        : []
      : f.salesforce
        ? salesforceMatchKeys(mapping, f.salesforce).slice(0, 1)
        : [];
  const sf: ByKey<SfRecordRow> = { into: new Map(), busy: new Map() };
  const attio: ByKey<AttioRecord> = { into: new Map(), busy: new Map() };
  const attioKeys = attioNeeds.flatMap(keysOf);
  if (attioKeys.length > 0) {
    const rows =
      (await indexedCandidates(
        deps,
        compiled,
        options,
        attioKeys.map((k) => k.value),
      )) ??
      (await deps.salesforce.findBy(
        mapping.salesforce_object,
        key.salesforce,
        [...new Set(attioKeys.flatMap((k) => matchQueryValues(key.normalize, k.value)))],
        salesforceFieldsOf(compiled),
      ));
    const linked = await pairsBySalesforce(
      deps.db,
      mapping.salesforce_object,
      rows.map((r) => r.Id),
    );
    await fileCandidates(leases, rows, sf, {
      name: (row) => `salesforce:${mapping.name}:${row.Id}`,
      linkedTo: (row) => linked.get(row.Id)?.mapping.attioRecordId,
      keys: (row) => salesforceMatchKeys(mapping, row),
      own: new Set(attioNeeds.map((f) => f.touch.recordId)),
    });
  }
  const sfKeys = sfNeeds.flatMap(keysOf);
  if (sfKeys.length > 0) {
    const values = [...new Set(sfKeys.map((k) => k.value))];
    const filter = { $or: values.map((value) => ({ [key.attio.split(".")[0] ?? key.attio]: value })) };
    const records = await deps.attio.queryRecords(mapping.attio_object, filter);
    const linked = await pairsByAttio(
      deps.db,
      mapping.attio_object,
      records.map((r) => r.id.record_id),
    );
    await fileCandidates(leases, records, attio, {
      name: (record) => `attio:${mapping.name}:${record.id.record_id}`,
      linkedTo: (record) => linked.get(record.id.record_id)?.mapping.sfRecordId,
      keys: (record) => attioMatchKeys(mapping, record.values),
      own: new Set(sfNeeds.map((f) => f.touch.recordId)),
    });
  }
  for (const fact of [...attioNeeds, ...sfNeeds]) {
    const keys = keysOf(fact).map((k) => k.value);
    fact.candidates =
      fact.touch.side === "attio"
        ? candidatesOf(keys, sf, (r) => r.Id)
        : candidatesOf(keys, attio, (r) => r.id.record_id);
  }
}

function candidatesOf<R extends AttioRecord | SfRecordRow>(
  keys: readonly string[],
  byKey: ByKey<R>,
  idOf: (record: R) => string,
): Candidates {
  // A candidate another consumer holds may be getting linked right now (typically: the echo of a
  // record that consumer just created). Neither linking nor creating is safe until it is done.
  const waitMs = keys.map((k) => byKey.busy.get(k)).find((ms) => ms !== undefined);
  if (waitMs !== undefined) return { kind: "busy", waitMs };
  const unique = new Map(keys.flatMap((k) => byKey.into.get(k) ?? []).map((r) => [idOf(r), r]));
  return { kind: "found", records: [...unique.values()] };
}

/**
 * Files the unlinked candidates under their match keys, leasing each first. A key is busy instead
 * (its records wait) when another consumer holds its candidate, which it may be linking right now,
 * or when the candidate got linked to one of the batch's own records since they were read (another
 * consumer stored that pair meanwhile): re-read later, never a second counterpart.
 */
async function fileCandidates<R>(
  leases: Pick<Leases, "take">,
  candidates: readonly R[],
  byKey: ByKey<R>,
  how: {
    name: (candidate: R) => string;
    /** The id of the record the candidate is linked to, on the batch's side. */
    linkedTo: (candidate: R) => string | undefined;
    keys: (candidate: R) => readonly { value: string }[];
    /** The batch's own records without a pair. */
    own: ReadonlySet<string>;
  },
): Promise<void> {
  for (const candidate of candidates) {
    const linkedTo = how.linkedTo(candidate);
    if (linkedTo !== undefined && how.own.has(linkedTo)) {
      for (const k of how.keys(candidate)) byKey.busy.set(k.value, 1_000);
    }
  }
  const free = candidates.filter((candidate) => how.linkedTo(candidate) === undefined);
  const held = await leases.take(free.map(how.name));
  for (const candidate of free) {
    const wait = held.get(how.name(candidate));
    for (const k of how.keys(candidate)) {
      if (wait !== undefined) byKey.busy.set(k.value, wait);
      else byKey.into.set(k.value, [...(byKey.into.get(k.value) ?? []), candidate]);
    }
  }
}

/**
 * Short-cut (EngineOptions.matchIndex): candidates from the job's match index plus what others
 * changed since it began; undefined without an index (or without knowing the integration user), so
 * the caller queries by key.
 */
async function indexedCandidates(
  deps: SyncDeps,
  compiled: CompiledMapping,
  options: Pick<EngineOptions, "matchIndex">,
  keys: string[],
): Promise<SfRecordRow[] | undefined> {
  const index = options.matchIndex;
  if (!index) return undefined;
  const object = compiled.mapping.salesforce_object;
  const fields = salesforceFieldsOf(compiled);
  const recent = await deps.salesforce.changedByOthersSince(object, index.since, fields);
  if (!recent) return undefined;
  const ids = await index.lookup([...new Set(keys)]);
  const known = new Set(recent.map((r) => r.Id));
  const indexed = await deps.salesforce.retrieve(
    object,
    ids.filter((id) => !known.has(id)),
    fields,
  );
  return [...recent, ...indexed];
}
