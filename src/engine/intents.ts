import type { AttioRecord } from "../attio/record-schema.ts";
import { toSyncError } from "../lib/errors.ts";
import type { CompiledMapping } from "../mapping/engine.ts";
import type { ObjectMapping } from "../mapping/types.ts";
import { attioSide } from "../plan/canon.ts";
import type { RecordFacts } from "../plan/decision.ts";
import { CLOCK_SKEW_MS, createdByIntent, type IntentCandidate } from "../plan/intent-match.ts";
import type { SfRecordRow } from "../salesforce/client.ts";
import { parseSalesforceTime } from "../salesforce/soql.ts";
import { closeIntents, type OpenIntent, openIntents, openIntentsOf, recentOpenIntents } from "../store/intents.ts";
import { pairsByAttio, pairsBySalesforce } from "../store/pairs.ts";
import type { SyncDeps } from "../sync/deps.ts";
import { fail, type PendingWrite, type RunContext } from "./context.ts";
import type { Leases } from "./leases.ts";

/**
 * Creates that nothing else makes idempotent (no External ID, no unique Attio attribute, no match
 * key value) go through a create intent (store/intents.ts): stored before the create is sent,
 * closed once the pair is stored. A retry that finds its intent still open looks for what the
 * earlier attempt created (created by us since the intent, holding the values it wrote, paired to
 * nothing) and links that record instead of creating a second one. docs/SYNC_SEMANTICS.md.
 */

/** Candidates read per search: the records we created since the oldest open intent. */
const CANDIDATES_PER_SEARCH = 2_000;

/** Attio attributes that are unique by default, so creates can assert on them. */
export const UNIQUE_ATTRIBUTES = new Set(["people.email_addresses", "companies.domains"]);

function filled(value: unknown): boolean {
  return value !== null && value !== undefined && value !== "" && !(Array.isArray(value) && value.length === 0);
}

/** The match key's value is written: a retry finds the record by it (Salesforce) or asserts on it (Attio). */
function keyed(mapping: ObjectMapping, values: Readonly<Record<string, unknown>>): boolean {
  const key = mapping.match_keys[0];
  return key !== undefined && filled(values[key.salesforce]);
}

/** Whether an Attio create asserts on a unique attribute instead (write.ts createInAttio). */
export function attioAssertKey(mapping: ObjectMapping, values: Record<string, unknown[]>): string | undefined {
  if (mapping.attio_id_attribute) return mapping.attio_id_attribute;
  const key = mapping.match_keys[0]?.attio.split(".")[0];
  if (key && (values[key]?.length ?? 0) > 0 && UNIQUE_ATTRIBUTES.has(`${mapping.attio_object}.${key}`)) return key;
  return undefined;
}

/** The source records whose intents this run opened, per direction: closed once their pairs are stored. */
export interface OpenedIntents {
  salesforce: Set<string>;
  attio: Set<string>;
}

export function noIntents(): OpenedIntents {
  return { salesforce: new Set(), attio: new Set() };
}

/**
 * Salesforce creates without an External ID: those whose earlier attempt created a record get its
 * id (the caller updates it instead), the others get an intent stored before they are sent.
 * Returns the creates to send; a create whose search failed fails (and is retried) on its own.
 */
export async function guardSalesforceCreates(
  run: RunContext,
  creates: PendingWrite[],
  opened: OpenedIntents,
): Promise<{ send: PendingWrite[]; found: PendingWrite[] }> {
  const { mapping } = run.compiled;
  const guarded = creates.filter((p) => p.ids.attio && !keyed(mapping, p.decision.plan.toSalesforce));
  if (guarded.length === 0) return { send: creates, found: [] };
  const source = { side: "attio" as const, object: mapping.attio_object };
  const open = await openIntentsOf(run.deps.db, source, "salesforce", idsOf(guarded, "attio"));
  const found: PendingWrite[] = [];
  const failed = new Set<PendingWrite>();
  const retried = guarded.filter((p) => open.has(p.ids.attio ?? ""));
  if (retried.length > 0) {
    try {
      const intents = retried.map((p) => open.get(p.ids.attio ?? "") as OpenIntent);
      const rows = await run.deps.salesforce.createdSince(
        mapping.salesforce_object,
        since(intents),
        [...new Set(intents.flatMap((i) => Object.keys(i.marker)))],
        CANDIDATES_PER_SEARCH,
      );
      const candidates: IntentCandidate[] = rows.map((row) => ({
        id: row.Id,
        createdAt: new Date(parseSalesforceTime(String(row["CreatedDate"] ?? ""))).toISOString(),
        values: row,
      }));
      const paired = await pairsBySalesforce(run.deps.db, mapping.salesforce_object, idsOfRows(candidates));
      const taken = new Set(paired.keys());
      for (const [index, p] of retried.entries()) {
        const intent = intents[index] as OpenIntent;
        const id = createdByIntent(intent.marker, intent.createdAt, candidates, taken);
        if (!id) continue;
        taken.add(id);
        p.ids.salesforce = id;
        found.push(p);
      }
    } catch (thrown) {
      for (const p of retried) {
        fail(run, p.touch, toSyncError(thrown));
        failed.add(p);
      }
    }
  }
  const toOpen = guarded.filter((p) => !found.includes(p) && !failed.has(p));
  await openIntents(
    run.deps.db,
    toOpen.map((p) => ({
      sourceSide: source.side,
      sourceObject: source.object,
      sourceRecordId: p.ids.attio ?? "",
      targetSide: "salesforce" as const,
      targetObject: mapping.salesforce_object,
      marker: { ...p.decision.plan.toSalesforce },
    })),
  );
  for (const p of [...toOpen, ...found]) opened.salesforce.add(p.ids.attio ?? "");
  return { send: creates.filter((p) => !found.includes(p) && !failed.has(p)), found };
}

/** The open intents of the run's Attio creates (one query), for guardAttioCreate. */
export async function openAttioIntents(run: RunContext, pending: PendingWrite[]): Promise<Map<string, OpenIntent>> {
  const { mapping } = run.compiled;
  if (mapping.attio_id_attribute) return new Map();
  const creates = pending.filter((p) => !p.ids.attio && p.ids.salesforce && !run.outcomes.has(p.touch));
  if (creates.length === 0) return new Map();
  return openIntentsOf(
    run.deps.db,
    { side: "salesforce", object: mapping.salesforce_object },
    "attio",
    idsOf(creates, "salesforce"),
  );
}

/**
 * An Attio create that asserts on nothing: the record an earlier attempt created, if its intent is
 * open and the record is found; otherwise an intent is stored and undefined returned (create it).
 */
export async function guardAttioCreate(
  run: RunContext,
  item: PendingWrite,
  values: Record<string, unknown[]>,
  open: Map<string, OpenIntent>,
  opened: OpenedIntents,
): Promise<string | undefined> {
  const { mapping } = run.compiled;
  const sfId = item.ids.salesforce;
  if (!sfId) return undefined;
  opened.attio.add(sfId);
  const intent = open.get(sfId);
  if (intent) {
    const records = await run.deps.attio.queryRecords(
      mapping.attio_object,
      { created_at: { $gte: since([intent]) } },
      CANDIDATES_PER_SEARCH,
    );
    const candidates = records.filter(createdByApi).map((record) => ({
      id: record.id.record_id,
      createdAt: record.created_at,
      values: attioSide(run.compiled, record.values, run.decide.mapOptions).values,
    }));
    const paired = await pairsByAttio(run.deps.db, mapping.attio_object, idsOfRows(candidates));
    const id = createdByIntent(intent.marker, intent.createdAt, candidates, new Set(paired.keys()));
    if (id) return id;
  }
  await openIntents(run.deps.db, [
    {
      sourceSide: "salesforce",
      sourceObject: mapping.salesforce_object,
      sourceRecordId: sfId,
      targetSide: "attio",
      targetObject: mapping.attio_object,
      marker: writtenToAttio(run, item.decision.plan.toAttio, values),
    },
  ]);
  return undefined;
}

/** Closes the intents of records whose pairs are now stored (or whose create was refused). */
export async function closeRunIntents(run: RunContext, opened: OpenedIntents, items: PendingWrite[]): Promise<void> {
  const { mapping } = run.compiled;
  const toSf = items.flatMap((p) => (p.ids.attio && opened.salesforce.has(p.ids.attio) ? [p.ids.attio] : []));
  const toAttio = items.flatMap((p) =>
    p.ids.salesforce && opened.attio.has(p.ids.salesforce) ? [p.ids.salesforce] : [],
  );
  await closeIntents(run.deps.db, { side: "attio", object: mapping.attio_object }, "salesforce", toSf);
  await closeIntents(run.deps.db, { side: "salesforce", object: mapping.salesforce_object }, "attio", toAttio);
}

/**
 * The planned values (by Salesforce field) whose attribute the create writes: a value left out
 * (not valid in Attio, a reference not resolved yet) is not looked for in the record.
 */
function writtenToAttio(
  run: RunContext,
  planned: Readonly<Record<string, unknown>>,
  values: Record<string, unknown[]>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of run.compiled.fields) {
    const name = field.spec.salesforce;
    if (name in planned && (values[field.slug]?.length ?? 0) > 0) out[name] = planned[name];
  }
  return out;
}

/** A record created by an API token or an app (ours among them), not by a person or the system. */
function createdByApi(record: AttioRecord): boolean {
  const creator = record.values["created_by"]?.find((value) => value.active_until === null);
  const type = creator?.["referenced_actor_type"];
  return type === "api-token" || type === "app";
}

/** The oldest intent's time less the clock skew, as ISO time. */
function since(intents: readonly OpenIntent[]): string {
  const oldest = Math.min(...intents.map((i) => Date.parse(i.createdAt)));
  return new Date(oldest - CLOCK_SKEW_MS).toISOString();
}

function idsOf(items: PendingWrite[], side: "attio" | "salesforce"): string[] {
  return items.flatMap((p) => (p.ids[side] ? [p.ids[side]] : []));
}

function idsOfRows(rows: readonly { id: string }[]): string[] {
  return rows.map((r) => r.id);
}

/** How far back an open intent may explain a record with no pair: a day of retries and parking. */
const INTENT_SOURCE_WINDOW_MS = 86_400_000;
/** Open intents compared per run (newest first). */
const INTENT_SOURCES_PER_RUN = 500;

/**
 * A Salesforce record with no pair and no candidate may be the one an Attio record's create made
 * when the pair could not be stored (the answer lost, D1 out) and the retry has not run yet: its
 * values are an open intent's, and it was created (so last modified) after it. Such a record is
 * linked to that Attio record instead of getting a second counterpart created in Attio, which the
 * intent's retry would then duplicate in Salesforce too. Only when exactly one intent matches.
 */
export async function intentSources(
  deps: SyncDeps,
  compiled: CompiledMapping,
  leases: Pick<Leases, "take">,
  facts: readonly RecordFacts[],
): Promise<void> {
  const { mapping } = compiled;
  const needs = facts.filter(
    (f) =>
      !f.pair &&
      f.touch.side === "salesforce" &&
      f.salesforce &&
      f.candidates?.kind !== "busy" &&
      (f.candidates?.records.length ?? 0) === 0,
  );
  if (needs.length === 0) return;
  const since = new Date(Date.now() - INTENT_SOURCE_WINDOW_MS).toISOString();
  const source = { side: "attio" as const, object: mapping.attio_object };
  const open = await recentOpenIntents(deps.db, source, "salesforce", since, INTENT_SOURCES_PER_RUN);
  if (open.length === 0) return;
  for (const fact of needs) {
    const row = fact.salesforce as SfRecordRow;
    const candidate: IntentCandidate = {
      id: row.Id,
      createdAt: new Date(parseSalesforceTime(String(row["LastModifiedDate"] ?? ""))).toISOString(),
      values: row,
    };
    const matching = open.filter((intent) => createdByIntent(intent.marker, intent.createdAt, [candidate], new Set()));
    const [intent] = matching;
    if (!intent || matching.length > 1) continue;
    const name = `attio:${mapping.name}:${intent.sourceRecordId}`;
    const waitMs = (await leases.take([name])).get(name);
    if (waitMs !== undefined) {
      fact.candidates = { kind: "busy", waitMs };
      continue;
    }
    const attio = await deps.attio.getRecord(mapping.attio_object, intent.sourceRecordId);
    const linked = attio ? await pairsByAttio(deps.db, mapping.attio_object, [intent.sourceRecordId]) : new Map();
    if (attio && !linked.has(intent.sourceRecordId)) fact.candidates = { kind: "found", records: [attio] };
  }
}
