import type { AttioRecord } from "../attio/record-schema.ts";
import { acquireLeases, releaseLeases } from "../durable/record-lock.ts";
import { SyncError, toSyncError } from "../lib/errors.ts";
import { eachLimit } from "../lib/pool.ts";
import type { AttioValues } from "../mapping/attio-values.ts";
import type { MapOptions } from "../mapping/engine.ts";
import {
  attioMatchKeys,
  attioReferences,
  type CompiledMapping,
  mapsOwners,
  mapToAttio,
  salesforceMatchKeys,
  salesforceReferences,
} from "../mapping/engine.ts";
import type { UserLookup } from "../mapping/transforms.ts";
import { type Direction, isWarning, type MappingIssue, type SfScalar } from "../mapping/types.ts";
import { attioSide, policiesOf, salesforceFieldsOf, salesforceSide } from "../plan/canon.ts";
import type { DeletePolicy } from "../plan/decision.ts";
import type { FieldChange } from "../plan/diff.ts";
import { attioMatchesBase, type ChangeEventValues, eventMatchesBase } from "../plan/event-values.ts";
import { matchQueryValues } from "../plan/match-query.ts";
import { nextBase } from "../plan/next-base.ts";
import {
  type Base,
  effectiveDirection,
  type FieldPlan,
  planFields,
  type Strategy,
  type SyncDirection,
  type Values,
} from "../plan/plan-fields.ts";
import type { SaveOutcome, SfRecordRow } from "../salesforce/client.ts";
import {
  deferReference,
  holdDelete,
  loadIdLookup,
  movePair,
  type Pair,
  pairsByAttio,
  pairsBySalesforce,
  type SavePair,
  savePairsApart,
  unlinkPair,
  upsertConflict,
} from "../store/pairs.ts";
import { ambiguousMatches, auditLog } from "../store/schema.ts";
import { type Evaluated, recordWarnings, type WarningInput } from "../store/warnings.ts";
import type { SyncDeps } from "../sync/deps.ts";

/** What happened to one touched record; the consumer acks, retries or records a failure from it. */
export type TouchOutcome =
  | { status: "done"; action: string; plan?: Record<string, unknown> }
  | { status: "retry"; error: SyncError }
  | { status: "failed"; error: SyncError; attempted?: unknown };

/** "Record R of this mapping changed on side S": all the queue messages about it, coalesced. */
export interface Touch {
  side: "attio" | "salesforce";
  recordId: string;
  /** The latest event said the record was deleted (Attio record.deleted, Salesforce DELETE). */
  deleted: boolean;
  /**
   * Attio record.merged: the records merged into this one. One (the older documented form: the
   * record named survives) or both originals (the merge endpoint makes a new record and sends one
   * event per original), once coalesced.
   */
  mergedFrom?: readonly string[] | undefined;
  correlationId: string;
  sourceEvent: Record<string, unknown>;
  actor: string;
  /** The field values a Salesforce change event carried, when it lists them (see event-values.ts). */
  event?: ChangeEventValues | undefined;
  /** How many times the queue delivered the message (1 the first time). */
  attempt?: number | undefined;
}

/** Deliveries during which the echo of our own create waits for its pair before being matched. */
const OWN_CREATE_WAITS = 2;

function ownCreateEcho(touch: Touch): boolean {
  return (
    touch.event?.changeType === "CREATE" &&
    touch.sourceEvent.ownChange === true &&
    (touch.attempt ?? 1) <= OWN_CREATE_WAITS
  );
}

/**
 * A create event can be settled without the pair's lease when its values equal the base: it shows
 * the record as it was first committed, so any sync running now read the record after that commit
 * (or writes over it) and every later change has an event of its own. An update event cannot: it
 * may revert the record to the base just as a running sync, which read the record before it, moves
 * the base on, and only the lease orders the two.
 */
function createMatchesBase(compiled: CompiledMapping, touch: Touch, pair: Pair): boolean {
  return touch.event?.changeType === "CREATE" && eventMatchesBase(compiled, pair.base, touch.event);
}

export interface EngineOptions {
  deletePolicy: DeletePolicy;
  /** Plan everything, write nothing (no CRM write, no D1 row): the outcome carries the plan. */
  dryRun?: boolean;
  /** Option/status titles of this mapping's Attio object, per attribute (from the schema layer). */
  attioTitles?: Readonly<Record<string, readonly string[]>> | undefined;
  strategy: Strategy;
  direction: SyncDirection;
  /** Asks for a record to be synced (a parent of a deferred reference). */
  requestSync(side: "attio" | "salesforce", object: string, recordId: string): Promise<void>;
  /** The Salesforce object mapped to an Attio object (to sync the parent of a Salesforce reference). */
  salesforceObjectFor(attioObject: string): string | undefined;
  /** Pairs were linked (created or matched): records waiting on either side can now be completed. */
  onLinked(pairs: readonly { attioId: string; sfId: string }[]): Promise<void>;
  /**
   * A job's match index of this mapping's Salesforce object (see jobs.ts): Salesforce ids under the
   * given match keys, and when the index began (records others changed since are read as well).
   */
  matchIndex?: { since: string; lookup(keys: readonly string[]): Promise<string[]> } | undefined;
  /**
   * Attio records a job page listed moments ago (see listed.ts): they stand in for reading those
   * records again while the records have no counterpart (see withListed).
   */
  listed?: ReadonlyMap<string, AttioRecord> | undefined;
  /** Awaited once the records are leased and read, before planning and writing (see slices.ts). */
  beforeWriting?: (() => Promise<void>) | undefined;
  /**
   * The owner directory (directory.ts), loaded only for a mapping with an owner field. It throws
   * when either API cannot answer, and the batch is retried: an owner is never guessed.
   */
  users?: (() => Promise<UserLookup>) | undefined;
}

/** One unit of work: a pair, or a record with no counterpart yet. */
interface Unit {
  touch: Touch;
  pair: Pair | undefined;
  attio: AttioRecord | null | undefined;
  salesforce: SfRecordRow | null | undefined;
}

/**
 * Leases are short and renewed while their batch works: a batch of 2,000 records writing to Attio
 * at 24/s keeps its leases for the minutes it needs, while the leases of a consumer that died
 * (a restart, an evicted isolate) free their records within LEASE_MS.
 */
const LEASE_MS = 20_000;
const LEASE_RENEW_MS = 5_000;

/**
 * Syncs the touched records of one mapping: locks each pair, reads both sides in bulk, plans every
 * pair with the pure planner, writes in batches, then stores pairs, bases, audit rows, conflicts.
 * Each touch gets its own outcome, so one bad record never holds back the rest of the batch.
 */
export async function syncMapping(
  deps: SyncDeps,
  compiled: CompiledMapping,
  touches: readonly Touch[],
  options: EngineOptions,
): Promise<Map<Touch, TouchOutcome>> {
  const outcomes = new Map<Touch, TouchOutcome>();
  const { mapping } = compiled;
  const holder = crypto.randomUUID();
  const started = Date.now();
  const locked: string[] = [];
  let renewal: ReturnType<typeof setInterval> | undefined;
  try {
    const initial = await loadPairs(deps, compiled, touches);
    // 0. Before any lease: a create event whose values all equal its pair's base (typically the
    // echo of our own create) is settled (see createMatchesBase). The echo of a record we just
    // created, whose pair the writer is about to store, waits: matching it now would only race
    // the writer. Retried, it is settled without a read (step 2).
    let settledBeforeLease = 0;
    const live = touches.filter((touch) => {
      const pair = initial.get(touch);
      if (pair && createMatchesBase(compiled, touch, pair)) {
        outcomes.set(touch, { status: "done", action: "unchanged: the create event matches the synced values" });
        settledBeforeLease++;
        return false;
      }
      if (pair || !ownCreateEcho(touch)) return true;
      const error = new SyncError("record_busy", "our own create: waiting for its pair to be stored", {
        retryAfterSeconds: 5,
      });
      outcomes.set(touch, { status: "retry", error });
      return false;
    });
    // 1. Lock: a pair by its mapping id, a record with no counterpart by its own id.
    const names = new Map<Touch, string>();
    for (const touch of live) {
      const pair = initial.get(touch);
      names.set(touch, pair ? `pair:${pair.mapping.id}` : `${touch.side}:${mapping.name}:${touch.recordId}`);
    }
    const leases = await acquireLeases(deps.locks, holder, [...names.values()], LEASE_MS);
    locked.push(...leases.acquired);
    if (locked.length > 0) {
      renewal = setInterval(() => {
        // Re-entrant: the holder's own leases are extended. A failed renewal is retried next tick.
        acquireLeases(deps.locks, holder, locked, LEASE_MS).catch(() => {});
      }, LEASE_RENEW_MS);
    }
    const busy = new Map(leases.busy.map((b) => [b.name, b]));
    const ready: Touch[] = [];
    for (const touch of live) {
      const name = names.get(touch) as string;
      const lease = busy.get(name);
      if (!lease) {
        ready.push(touch);
        continue;
      }
      const error = new SyncError("record_busy", `${name} is being synced by another consumer`, {
        retryAfterSeconds: Math.max(1, Math.ceil(lease.retryInMs / 1000)),
      });
      outcomes.set(touch, { status: "retry", error });
    }
    if (ready.length === 0) return outcomes;
    const locking = Date.now() - started;

    // 2. Read: pairs again (another consumer may have linked meanwhile), then both sides in bulk.
    // A change event whose mapped values all equal the base (the echo of our own write, an edit of
    // unmapped fields) is settled without reading: under the lease, the base is the latest one.
    const pairs = await loadPairs(deps, compiled, ready);
    const toRead = ready.filter((touch) => {
      const pair = pairs.get(touch);
      if (!touch.event || !pair || !eventMatchesBase(compiled, pair.base, touch.event)) return true;
      outcomes.set(touch, { status: "done", action: "unchanged: the change event matches the synced values" });
      return false;
    });
    const users = mapsOwners(compiled) && options.users ? await options.users() : undefined;
    const { remaining, attioRead } = await settleAttioEchoes(deps, compiled, toRead, pairs, outcomes, options, users);
    if (remaining.length === 0) return outcomes;
    await holdMergedAway(deps, compiled, remaining, pairs);
    const units = await readUnits(deps, compiled, remaining, pairs, withListed(remaining, pairs, attioRead, options));
    const reading = Date.now() - started - locking;

    // 3. Plan and write, record by record, with the writes of one kind batched. A match candidate
    // is leased too before it is linked: another consumer may be creating its counterpart.
    const lockMore = async (more: readonly string[]) => {
      const have = new Set(locked);
      const fresh = [...new Set(more)].filter((name) => !have.has(name));
      if (fresh.length === 0) return new Map<string, number>();
      const extra = await acquireLeases(deps.locks, holder, fresh, LEASE_MS);
      locked.push(...extra.acquired);
      return new Map(extra.busy.map((b) => [b.name, b.retryInMs]));
    };
    const runner = new Runner(deps, compiled, options, outcomes, lockMore, users);
    await options.beforeWriting?.();
    await runner.run(units);
    deps.log.debug("engine timings", {
      mapping: mapping.name,
      touches: touches.length,
      settled_before_lease: settledBeforeLease,
      settled_without_read: ready.length - toRead.length,
      settled_reading_attio_only: toRead.length - remaining.length,
      lock_ms: locking,
      read_ms: reading,
      plan_write_save_ms: Date.now() - started - locking - reading,
      match_plan_ms: runner.planMs,
      attio_write_round_trip_ms: Math.round(deps.attio.writeRoundTripMs),
    });
  } catch (thrown) {
    const error = toSyncError(thrown);
    for (const touch of touches) if (!outcomes.has(touch)) outcomes.set(touch, { status: "retry", error });
  } finally {
    if (renewal) clearInterval(renewal);
    if (locked.length > 0) await releaseLeases(deps.locks, holder, locked);
  }
  return outcomes;
}

/** An Attio webhook event (not one of our internal re-read requests) on a record already linked. */
function attioEventOnPair(touch: Touch, pair: Pair | undefined): pair is Pair {
  const { sourceEvent } = touch;
  return (
    touch.side === "attio" &&
    pair?.base != null &&
    !touch.deleted &&
    !touch.mergedFrom?.length &&
    sourceEvent.kind === "attio.record" &&
    (sourceEvent.eventType === "record.created" || sourceEvent.eventType === "record.updated") &&
    !String(sourceEvent.dedupeKey).startsWith("internal:")
  );
}

/**
 * Attio events on linked records are checked against the base reading Attio alone (its webhooks
 * carry no values): when every mapped value equals the base's Attio side, nothing changed there
 * since the last sync (the echo of our own write, an edit of unmapped attributes) and Salesforce
 * is not read. Changes on the Salesforce side arrive through its own change events and catch-up.
 * Returns the touches left to sync, and the Attio records read (not to be read again).
 */
async function settleAttioEchoes(
  deps: SyncDeps,
  compiled: CompiledMapping,
  touches: readonly Touch[],
  pairs: Map<Touch, Pair>,
  outcomes: Map<Touch, TouchOutcome>,
  options: EngineOptions,
  users: UserLookup | undefined,
): Promise<{ remaining: Touch[]; attioRead: Map<string, AttioRecord> }> {
  const eligible = new Map<Touch, Pair>();
  for (const touch of touches) {
    const pair = pairs.get(touch);
    if (attioEventOnPair(touch, pair)) eligible.set(touch, pair);
  }
  if (eligible.size === 0) return { remaining: [...touches], attioRead: new Map() };
  const ids = [...eligible.values()].map((pair) => pair.mapping.attioRecordId);
  const records = await deps.attio.queryRecords(compiled.mapping.attio_object, { record_id: { $in: ids } });
  const byId = new Map(records.map((record) => [record.id.record_id, record]));
  const refs = records.flatMap((record) => attioReferences(compiled, record.values));
  const lookup = await loadIdLookup(
    deps.db,
    refs.map((r) => ({ object: r.targetObject, id: r.id })),
    [],
  );
  const mapOptions = mapOptionsOf(lookup, options, users);
  const remaining = touches.filter((touch) => {
    const pair = eligible.get(touch);
    const record = pair && byId.get(pair.mapping.attioRecordId);
    if (!pair || !record || !attioMatchesBase(compiled, pair.base, record.values, mapOptions)) return true;
    outcomes.set(touch, { status: "done", action: "unchanged: the Attio record matches the synced values" });
    return false;
  });
  return { remaining, attioRead: byId };
}

/**
 * The Attio records already in hand: those read moments ago, and the ones a job page listed for
 * records with no counterpart yet. A linked record is read again: another consumer may have synced
 * a newer version of it since the listing, and planning from the older one would write it back.
 */
function withListed(
  touches: readonly Touch[],
  pairs: Map<Touch, Pair>,
  attioRead: ReadonlyMap<string, AttioRecord>,
  options: Pick<EngineOptions, "listed">,
): Map<string, AttioRecord> {
  const known = new Map(attioRead);
  for (const touch of touches) {
    const record = options.listed?.get(touch.recordId);
    if (record && touch.side === "attio" && !pairs.has(touch) && !known.has(touch.recordId)) {
      known.set(touch.recordId, record);
    }
  }
  return known;
}

/** What the mapping core may consult: the batch's id map, the owner directory and Attio's option titles. */
function mapOptionsOf(
  ids: Awaited<ReturnType<typeof loadIdLookup>>,
  options: Pick<EngineOptions, "attioTitles">,
  users: UserLookup | undefined,
): MapOptions {
  return {
    ids,
    ...(users ? { users } : {}),
    ...(options.attioTitles ? { attioTitles: options.attioTitles } : {}),
  };
}

async function loadPairs(deps: SyncDeps, compiled: CompiledMapping, touches: readonly Touch[]) {
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
  // An Attio merge moves an original's pair to the record it was merged into, unless that record
  // already has one. With both originals linked, the older pair moves (holdMergedAway holds the other).
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

/**
 * An Attio merge whose survivor already has a counterpart: the loser's pair cannot move to it, and
 * which of the two Salesforce records should survive is not ours to guess. The loser's pair is held
 * as a delete on the Attio side, for a human to decide (whatever the delete policy).
 */
async function holdMergedAway(
  deps: SyncDeps,
  compiled: CompiledMapping,
  touches: readonly Touch[],
  pairs: Map<Touch, Pair>,
) {
  const merges = touches.filter((t) => t.side === "attio" && t.mergedFrom?.length);
  if (merges.length === 0) return;
  const losers = await pairsByAttio(
    deps.db,
    compiled.mapping.attio_object,
    merges.flatMap((t) => t.mergedFrom ?? []),
  );
  for (const touch of merges) {
    const survivor = pairs.get(touch);
    for (const id of touch.mergedFrom ?? []) {
      const loser = losers.get(id);
      if (loser && survivor && survivor.mapping.id !== loser.mapping.id) {
        await holdDelete(deps.db, loser.mapping.id, "attio");
      }
    }
  }
}

async function readUnits(
  deps: SyncDeps,
  compiled: CompiledMapping,
  touches: readonly Touch[],
  pairs: Map<Touch, Pair>,
  /** Attio records read moments ago under the same leases: not read again. */
  attioRead: ReadonlyMap<string, AttioRecord> = new Map(),
) {
  const { mapping } = compiled;
  const attioIds = new Set<string>();
  const sfIds = new Set<string>();
  for (const touch of touches) {
    const pair = pairs.get(touch);
    if (touch.side === "attio" || pair) attioIds.add(pair?.mapping.attioRecordId ?? touch.recordId);
    if (touch.side === "salesforce" || pair) sfIds.add(pair?.mapping.sfRecordId ?? touch.recordId);
  }
  const unread = [...attioIds].filter((id) => !attioRead.has(id));
  const [attioRecords, sfRows] = await Promise.all([
    unread.length > 0 ? deps.attio.queryRecords(mapping.attio_object, { record_id: { $in: unread } }) : [],
    sfIds.size > 0 ? deps.salesforce.retrieve(mapping.salesforce_object, [...sfIds], salesforceFieldsOf(compiled)) : [],
  ]);
  const attioById = new Map([...attioRead, ...attioRecords.map((r) => [r.id.record_id, r] as const)]);
  const sfById = new Map(sfRows.map((r) => [r.Id, r]));
  return touches.map((touch): Unit => {
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
}

/**
 * Attio writes in flight at once (Attio has no batch write): enough to keep the write rate busy
 * through each call's round trip (Little's law), plus one for the limiter's own round trip. Each
 * waits for its slot, so the limiter, not this number, sets the pace; but every extra caller
 * waiting is one more that a busy moment can bunch with the others (trials on this machine, where
 * a call takes tens of ms: a fixed 3 in flight drew 1-26 Attio 429s per 4,000 writes, 8 drew 145).
 * 2-3 locally, 4 at 100 ms, 6 at 200 ms, at most 10.
 *
 * @example writesInFlight(24, 200) // 6
 */
export function writesInFlight(ratePerSecond: number, roundTripMs: number): number {
  return Math.min(10, Math.max(2, Math.ceil((ratePerSecond * roundTripMs) / 1000) + 1));
}

/**
 * Pairs stored per D1 batch: 15 statements (three per 200 pairs), one round trip. A Bulk write
 * hands a job page's 2,000 pairs over at once; in batches of 100 they took 20 round trips one
 * after another, each a network wait where D1 is remote (locally they cost little:
 * docs/BENCHMARKS.md).
 */
const SAVES_PER_BATCH = 1_000;

/** Written records whose pairs are stored together while a batch's other writes go on. */
const SAVES_PER_FLUSH = 10;

/** A unit whose writes are done, waiting for its pair to be stored with the batch's others. */
interface PendingSave {
  item: Pending;
  save: SavePair;
  action: string;
}

/** A planned write of one unit, waiting for its batch. */
interface Pending {
  unit: Unit;
  plan: FieldPlan;
  operation: "create" | "update" | "link";
  attioId: string | undefined;
  sfId: string | undefined;
  sfSystemModstamp: string | null;
  /** Mapped Attio values, kept to write to Attio and to compute the Attio side of the next base. */
  attioValues: AttioValues | undefined;
  /**
   * The Attio side as planned, when mapping those values again could not give anything else: the
   * mapping has no reference field, the only kind whose mapping depends on the ID map, which the
   * batch's own links change between planning and writing.
   */
  plannedAttioSide: Values | undefined;
}

class Runner {
  private ids!: Awaited<ReturnType<typeof loadIdLookup>>;
  /** Whether mapping this object's values reads the ID map (see Pending.plannedAttioSide). */
  private readonly referencesIds: boolean;
  /** Pairs this batch linked (created or matched), reported to `onLinked` once it is done. */
  private readonly linked: { attioId: string; sfId: string }[] = [];
  /** Values not written as they are, per record and direction, stored as warnings once the batch is done. */
  private readonly seen: SeenIssues[] = [];
  /** The Salesforce fields this mapping writes from Attio under the global direction. */
  private readonly toSalesforceFields: string[];

  constructor(
    private readonly deps: SyncDeps,
    private readonly compiled: CompiledMapping,
    private readonly options: EngineOptions,
    private readonly outcomes: Map<Touch, TouchOutcome>,
    /** Leases more names for the batch's holder; answers the busy ones with their wait in ms. */
    private readonly lockMore: (names: readonly string[]) => Promise<Map<string, number>>,
    private readonly users: UserLookup | undefined,
  ) {
    this.referencesIds = compiled.fields.some((field) => field.transform.name === "record_reference");
    this.toSalesforceFields = compiled.fields
      .filter((field) => field.toSalesforce && flowsToSalesforce(field.spec.direction, options.direction))
      .map((field) => field.spec.salesforce);
  }

  /** How long matching and planning took before the first write (for the debug timings). */
  planMs = 0;

  async run(units: Unit[]): Promise<void> {
    const started = Date.now();
    this.ids = await this.loadReferences(units);
    const matches = await this.findMatches(units);
    const pending: Pending[] = [];
    for (const unit of units) {
      try {
        const planned = await this.planUnit(unit, matches);
        if (planned) pending.push(planned);
      } catch (thrown) {
        this.fail(unit.touch, toSyncError(thrown));
      }
    }
    this.planMs = Date.now() - started;
    if (this.options.dryRun) {
      for (const item of pending) this.reportDryRun(item);
      return;
    }
    try {
      await this.writeAndSave(pending);
    } finally {
      await this.saveWarnings();
    }
  }

  private async writeAndSave(pending: Pending[]): Promise<void> {
    try {
      await this.writeSalesforce(pending);
      const saver = this.saver();
      const rate = this.deps.config.ATTIO_WRITES_PER_SECOND;
      await eachLimit(
        pending,
        () => writesInFlight(rate, this.deps.attio.writeRoundTripMs),
        async (item) => {
          if (this.outcomes.has(item.unit.touch)) return;
          try {
            saver.add(await this.writeAttio(item));
          } catch (thrown) {
            this.fail(item.unit.touch, toSyncError(thrown));
          }
        },
      );
      await saver.flush();
    } finally {
      // Once per batch, and even when it failed half-way (the pairs it stored are linked): waiting
      // records are looked up per call, and a job's page stores its pairs in dozens of flushes.
      if (this.linked.length > 0) await this.options.onLinked(this.linked);
    }
  }

  /**
   * Stores pairs while the writes go on, one D1 batch after another: a flush starts once
   * SAVES_PER_FLUSH written records wait and none is running, and takes all that wait (up to
   * SAVES_PER_BATCH a batch). With Attio writes at 24/s a pair exists within about half a second of
   * its record's creation, so the echo of that create finds it instead of matching the record anew,
   * and a consumer that dies in the middle of a batch of 2,000 has stored what it wrote. When D1 is
   * slower than the writes, flushes grow instead of queueing up behind each other.
   */
  private saver() {
    const waiting: PendingSave[] = [];
    let running: Promise<void> | undefined;
    const drain = async () => {
      while (waiting.length > 0) {
        const part = waiting.splice(0, SAVES_PER_BATCH);
        try {
          await this.saveAll(part);
        } catch (thrown) {
          for (const { item } of part)
            if (!this.outcomes.has(item.unit.touch)) this.fail(item.unit.touch, toSyncError(thrown));
        }
      }
    };
    const start = () => {
      running ??= drain().finally(() => {
        running = undefined;
      });
      return running;
    };
    return {
      add(save: PendingSave) {
        waiting.push(save);
        if (waiting.length >= SAVES_PER_FLUSH) void start();
      },
      async flush() {
        await running;
        await start();
      },
    };
  }

  /**
   * Stores the pairs, bases and audit rows of the batch in a few D1 batches instead of one round
   * trip per record, then their conflicts, and notes which records were linked.
   */
  private async saveAll(saves: PendingSave[]) {
    for (let i = 0; i < saves.length; i += SAVES_PER_BATCH) {
      const part = saves.slice(i, i + SAVES_PER_BATCH);
      const errors = await savePairsApart(
        this.deps.db,
        part.map((p) => p.save),
      );
      for (const [index, error] of errors.entries()) {
        const p = part[index];
        if (p && error !== undefined) this.fail(p.item.unit.touch, toSyncError(error));
      }
    }
    for (const { item, save, action } of saves) {
      if (this.outcomes.has(item.unit.touch)) continue;
      try {
        for (const conflict of item.plan.conflicts) {
          await upsertConflict(this.deps.db, save.mapping.id, conflict.field, conflict);
        }
        if (!item.unit.pair) this.linked.push({ attioId: save.mapping.attioRecordId, sfId: save.mapping.sfRecordId });
        this.done(item.unit.touch, action);
      } catch (thrown) {
        this.fail(item.unit.touch, toSyncError(thrown));
      }
    }
  }

  private mapOptions() {
    return mapOptionsOf(this.ids, this.options, this.users);
  }

  private done(touch: Touch, action: string, plan?: Record<string, unknown>) {
    this.outcomes.set(touch, { status: "done", action, ...(plan ? { plan } : {}) });
  }

  /** A dry run's outcome: what would be written, field by field, and where, and what would not. */
  private reportDryRun(item: Pending) {
    const { plan } = item;
    const toAttio = mapToAttio(this.compiled, plan.toAttio, {
      ...this.mapOptions(),
      ...(item.attioValues ? { current: item.attioValues } : {}),
    });
    const warnings = [
      ...this.seen.filter((s) => s.unit === item.unit).flatMap((s) => s.issues),
      ...toAttio.issues.filter(isWarning),
    ].map((issue) => ({ field: issue.salesforce, attribute: issue.attio, code: issue.code, reason: issue.message }));
    this.done(item.unit.touch, item.operation, {
      attio_record_id: item.attioId ?? null,
      salesforce_record_id: item.sfId ?? null,
      to_salesforce: plan.toSalesforce,
      to_attio: plan.toAttio,
      conflicts: plan.conflicts,
      resolved: plan.resolved,
      ...(warnings.length > 0 ? { not_written: warnings } : {}),
    });
  }

  /** Notes the values of one record not written as they are (and which fields were checked). */
  private note(unit: Unit, direction: SeenIssues["direction"], issues: readonly MappingIssue[], fields: string[]) {
    const entry: SeenIssues = { unit, direction, issues: issues.filter(isWarning), fields };
    this.seen.push(entry);
    return entry;
  }

  /**
   * Stores what the batch saw as warnings (store/warnings.ts): opened, refreshed, or cleared for
   * fields now written. A failure to store them is logged and leaves the sync's outcome alone.
   */
  private async saveWarnings() {
    const { mapping } = this.compiled;
    const inputs: WarningInput[] = [];
    const evaluated: Evaluated[] = [];
    for (const entry of this.seen) {
      const attioId = entry.item?.attioId ?? entry.unit.attio?.id.record_id ?? null;
      const sfId = entry.item?.sfId ?? entry.unit.salesforce?.Id ?? null;
      const toSf = entry.direction === "attio_to_sf";
      const sourceId = toSf ? attioId : sfId;
      if (!sourceId) continue;
      const sourceObject = toSf ? mapping.attio_object : mapping.salesforce_object;
      evaluated.push({ direction: entry.direction, object: sourceObject, id: sourceId, fields: entry.fields });
      for (const issue of entry.issues) {
        inputs.push({
          mapping: mapping.name,
          direction: entry.direction,
          sourceObject,
          sourceRecordId: sourceId,
          attioObject: mapping.attio_object,
          attioRecordId: attioId,
          sfObject: mapping.salesforce_object,
          sfRecordId: sfId,
          field: issue.salesforce,
          attribute: issue.attio,
          code: issue.code,
          message: issue.message,
          value: issue.value ?? null,
          correlationId: entry.unit.touch.correlationId,
        });
      }
    }
    if (evaluated.length === 0) return;
    try {
      await recordWarnings(this.deps.db, inputs, evaluated);
    } catch (thrown) {
      this.deps.log.error("could not store mapping warnings", {
        mapping: mapping.name,
        warnings: inputs.length,
        error: toSyncError(thrown).message,
      });
    }
  }

  private fail(touch: Touch, error: SyncError, attempted?: unknown) {
    this.outcomes.set(touch, error.retryable ? { status: "retry", error } : { status: "failed", error, attempted });
  }

  private async loadReferences(units: Unit[]) {
    const attioRefs = units.flatMap((u) => (u.attio ? attioReferences(this.compiled, u.attio.values) : []));
    const sfRefs = units.flatMap((u) => (u.salesforce ? salesforceReferences(this.compiled, u.salesforce) : []));
    return loadIdLookup(
      this.deps.db,
      attioRefs.map((r) => ({ object: r.targetObject, id: r.id })),
      sfRefs.map((r) => ({ object: r.targetObject, id: r.id })),
    );
  }

  /** Candidates on the other side for records with no counterpart, by the mapping's first match key. */
  private async findMatches(units: Unit[]) {
    const { mapping } = this.compiled;
    const key = mapping.match_keys[0];
    const sfByKey = new Map<string, SfRecordRow[]>();
    const attioByKey = new Map<string, AttioRecord[]>();
    /** Match keys with a candidate another consumer holds (it may be linking it): ms to wait. */
    const busy = new Map<string, number>();
    if (!key) return { sfByKey, attioByKey, busy };
    const attioNeeds = units.filter((u) => !u.pair && u.touch.side === "attio" && u.attio);
    const sfNeeds = units.filter((u) => !u.pair && u.touch.side === "salesforce" && u.salesforce);
    const attioKeys = attioNeeds.flatMap((u) => (u.attio ? attioMatchKeys(mapping, u.attio.values).slice(0, 1) : []));
    const sfKeys = sfNeeds.flatMap((u) => (u.salesforce ? salesforceMatchKeys(mapping, u.salesforce).slice(0, 1) : []));
    if (attioKeys.length > 0) {
      const rows =
        (await this.indexedCandidates(attioKeys.map((k) => k.value))) ??
        (await this.deps.salesforce.findBy(
          mapping.salesforce_object,
          key.salesforce,
          [...new Set(attioKeys.flatMap((k) => matchQueryValues(key.normalize, k.value)))],
          salesforceFieldsOf(this.compiled),
        ));
      const linked = await pairsBySalesforce(
        this.deps.db,
        mapping.salesforce_object,
        rows.map((r) => r.Id),
      );
      await this.indexCandidates(rows, {
        name: (row) => `salesforce:${mapping.name}:${row.Id}`,
        linkedTo: (row) => linked.get(row.Id)?.mapping.attioRecordId,
        keys: (row) => salesforceMatchKeys(mapping, row),
        own: new Set(attioNeeds.map((u) => u.touch.recordId)),
        into: sfByKey,
        busy,
      });
    }
    if (sfKeys.length > 0) {
      const values = [...new Set(sfKeys.map((k) => k.value))];
      const filter = { $or: values.map((value) => ({ [key.attio.split(".")[0] ?? key.attio]: value })) };
      const records = await this.deps.attio.queryRecords(mapping.attio_object, filter);
      const linked = await pairsByAttio(
        this.deps.db,
        mapping.attio_object,
        records.map((r) => r.id.record_id),
      );
      await this.indexCandidates(records, {
        name: (record) => `attio:${mapping.name}:${record.id.record_id}`,
        linkedTo: (record) => linked.get(record.id.record_id)?.mapping.sfRecordId,
        keys: (record) => attioMatchKeys(mapping, record.values),
        own: new Set(sfNeeds.map((u) => u.touch.recordId)),
        into: attioByKey,
        busy,
      });
    }
    return { sfByKey, attioByKey, busy };
  }

  /**
   * Files the unlinked candidates under their match keys, leasing each first. A key is busy
   * instead (its records wait) when another consumer holds its candidate, which it may be linking
   * right now, or when the candidate got linked to one of the batch's own records since they were
   * read (another consumer stored that pair meanwhile): re-read later, never a second counterpart.
   */
  private async indexCandidates<R>(
    candidates: readonly R[],
    how: {
      name: (candidate: R) => string;
      /** The id of the record the candidate is linked to, on the batch's side. */
      linkedTo: (candidate: R) => string | undefined;
      keys: (candidate: R) => readonly { value: string }[];
      /** The batch's own records without a pair. */
      own: ReadonlySet<string>;
      into: Map<string, R[]>;
      busy: Map<string, number>;
    },
  ) {
    for (const candidate of candidates) {
      const linkedTo = how.linkedTo(candidate);
      if (linkedTo !== undefined && how.own.has(linkedTo)) {
        for (const k of how.keys(candidate)) how.busy.set(k.value, 1_000);
      }
    }
    const free = candidates.filter((candidate) => how.linkedTo(candidate) === undefined);
    const held = await this.lockMore(free.map(how.name));
    for (const candidate of free) {
      const wait = held.get(how.name(candidate));
      for (const k of how.keys(candidate)) {
        if (wait !== undefined) how.busy.set(k.value, wait);
        else how.into.set(k.value, [...(how.into.get(k.value) ?? []), candidate]);
      }
    }
  }

  /**
   * Candidates from the job's match index plus what others changed since it began; undefined
   * without an index (or without knowing the integration user), so the caller queries by key.
   */
  private async indexedCandidates(keys: string[]): Promise<SfRecordRow[] | undefined> {
    const index = this.options.matchIndex;
    if (!index) return undefined;
    const object = this.compiled.mapping.salesforce_object;
    const fields = salesforceFieldsOf(this.compiled);
    const recent = await this.deps.salesforce.changedByOthersSince(object, index.since, fields);
    if (!recent) return undefined;
    const ids = await index.lookup([...new Set(keys)]);
    const known = new Set(recent.map((r) => r.Id));
    const indexed = await this.deps.salesforce.retrieve(
      object,
      ids.filter((id) => !known.has(id)),
      fields,
    );
    return [...recent, ...indexed];
  }

  private async planUnit(unit: Unit, matches: Awaited<ReturnType<Runner["findMatches"]>>): Promise<Pending | null> {
    const { touch, pair } = unit;
    const { mapping } = this.compiled;
    if (unit.attio === null) await this.confirmAttioGone(unit);
    if (pair && (unit.attio === null || unit.salesforce === null)) {
      await this.handleDelete(unit, pair, unit.attio === null ? "attio" : "salesforce");
      return null;
    }
    if (!pair) {
      const own = touch.side === "attio" ? unit.attio : unit.salesforce;
      if (!own) {
        this.done(touch, "gone: the record no longer exists and was never linked");
        return null;
      }
      const keys =
        touch.side === "attio" && unit.attio
          ? attioMatchKeys(mapping, unit.attio.values).slice(0, 1)
          : unit.salesforce
            ? salesforceMatchKeys(mapping, unit.salesforce).slice(0, 1)
            : [];
      // A candidate another consumer holds may be getting linked right now (typically: the echo of
      // a record that consumer just created). Neither linking nor creating is safe until it is done.
      const wait = keys.map((k) => matches.busy.get(k.value)).find((ms) => ms !== undefined);
      if (wait !== undefined) {
        const error = new SyncError("record_busy", "a match candidate is being synced by another consumer", {
          retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)),
        });
        this.outcomes.set(touch, { status: "retry", error });
        return null;
      }
      const candidates =
        touch.side === "attio"
          ? [...new Map(keys.flatMap((k) => matches.sfByKey.get(k.value) ?? []).map((r) => [r.Id, r])).values()]
          : [
              ...new Map(
                keys.flatMap((k) => matches.attioByKey.get(k.value) ?? []).map((r) => [r.id.record_id, r]),
              ).values(),
            ];
      if (candidates.length > 1 && this.options.dryRun) {
        this.done(touch, "ambiguous", {
          candidates: candidates.map((c) => ("Id" in c ? String(c.Id) : (c as AttioRecord).id.record_id)),
        });
        return null;
      }
      if (candidates.length > 1) {
        await this.deps.db.insert(ambiguousMatches).values({
          id: crypto.randomUUID(),
          side: touch.side,
          object: touch.side === "attio" ? mapping.attio_object : mapping.salesforce_object,
          recordId: touch.recordId,
          candidates: candidates.map((c) => ("Id" in c ? String(c.Id) : (c as AttioRecord).id.record_id)),
        });
        this.done(touch, `ambiguous: ${candidates.length} candidates share the match key`);
        return null;
      }
      const [match] = candidates;
      if (match) {
        if (touch.side === "attio") unit.salesforce = match as SfRecordRow;
        else unit.attio = match as AttioRecord;
      }
    }
    // A pair an Attio merge moved is linked anew: stored (and audited) even if no value changes.
    const operation = unit.pair?.movedFrom
      ? "link"
      : unit.pair
        ? "update"
        : unit.attio && unit.salesforce
          ? "link"
          : "create";
    return this.planPair(unit, operation);
  }

  /**
   * An Attio record a query did not return is read by id before it counts as gone: the result of a
   * merge Attio is still applying reads 404 merge_in_progress (the client throws record_busy, and
   * the touch is retried) rather than being taken for a delete.
   */
  private async confirmAttioGone(unit: Unit) {
    const id = unit.pair?.mapping.attioRecordId ?? (unit.touch.side === "attio" ? unit.touch.recordId : undefined);
    if (!id) return;
    const record = await this.deps.attio.getRecord(this.compiled.mapping.attio_object, id);
    if (record) unit.attio = record;
  }

  private async planPair(unit: Unit, operation: Pending["operation"]): Promise<Pending | null> {
    const { touch } = unit;
    const options = this.mapOptions();
    const attio = unit.attio ? attioSide(this.compiled, unit.attio.values, options) : undefined;
    const seen = attio
      ? this.note(
          unit,
          "attio_to_sf",
          attio.issues.filter((issue) => this.toSalesforceFields.includes(issue.salesforce)),
          this.toSalesforceFields,
        )
      : undefined;
    const salesforce = unit.salesforce ? salesforceSide(this.compiled, unit.salesforce) : undefined;
    const plan = planFields(
      policiesOf(this.compiled),
      {
        attio: attio?.values,
        salesforce,
        base: unit.pair?.base ?? undefined,
        attioChangedAt: attio?.changedAt ?? {},
        salesforceChangedAt:
          typeof unit.salesforce?.LastModifiedDate === "string" ? unit.salesforce.LastModifiedDate : undefined,
      },
      this.options.strategy,
      this.options.direction,
    );
    const pending: Pending = {
      unit,
      plan,
      operation,
      attioId: unit.attio?.id.record_id,
      sfId: unit.salesforce?.Id,
      sfSystemModstamp: typeof unit.salesforce?.SystemModstamp === "string" ? unit.salesforce.SystemModstamp : null,
      attioValues: unit.attio?.values,
      plannedAttioSide: this.referencesIds ? undefined : attio?.values,
    };
    if (seen) seen.item = pending;
    // Deferred references on either side: remember them and ask for their parents to be synced.
    for (const ref of attio?.deferred ?? [])
      await this.defer("attio", unit.attio?.id.record_id, ref.targetObject, ref.sourceId);
    if (unit.salesforce) {
      for (const need of salesforceReferences(this.compiled, unit.salesforce)) {
        if (!this.ids.attioIdFor(need.targetObject, need.id))
          await this.defer("salesforce", unit.salesforce.Id, need.targetObject, need.id);
      }
    }
    if (
      operation === "update" &&
      noWrites(plan) &&
      plan.conflicts.length === 0 &&
      sameBase(unit.pair?.base, plan.nextBase)
    ) {
      this.done(touch, "unchanged");
      return null;
    }
    return pending;
  }

  private async defer(
    side: "attio" | "salesforce",
    recordId: string | undefined,
    targetObject: string,
    targetId: string,
  ) {
    if (!recordId || this.options.dryRun) return;
    const { mapping } = this.compiled;
    const object = side === "attio" ? mapping.attio_object : mapping.salesforce_object;
    await deferReference(this.deps.db, { side, object, recordId }, { object: targetObject, id: targetId });
    const parentObject = side === "attio" ? targetObject : this.options.salesforceObjectFor(targetObject);
    if (parentObject) await this.options.requestSync(side, parentObject, targetId);
  }

  private async handleDelete(unit: Unit, pair: Pair, deletedOn: "attio" | "salesforce") {
    const { touch } = unit;
    const policy = this.options.deletePolicy;
    const { mapping } = this.compiled;
    if (this.options.dryRun) {
      this.done(touch, "delete", { deleted_on: deletedOn, policy });
      return;
    }
    const audit = {
      correlationId: touch.correlationId,
      direction: deletedOn === "attio" ? ("attio_to_sf" as const) : ("sf_to_attio" as const),
      attioObject: mapping.attio_object,
      attioRecordId: pair.mapping.attioRecordId,
      sfObject: mapping.salesforce_object,
      sfRecordId: pair.mapping.sfRecordId,
      changes: {},
      sourceEvent: touch.sourceEvent,
      actor: touch.actor,
    };
    if (deletedOn === "salesforce" && (await this.followSalesforceMerge(touch, pair))) return;
    if (policy === "hold") {
      const held = await holdDelete(this.deps.db, pair.mapping.id, deletedOn);
      this.done(touch, held ? `delete on ${deletedOn} held for approval` : "delete already held");
      return;
    }
    if (policy === "propagate") {
      if (deletedOn === "attio") await this.deps.salesforce.delete(mapping.salesforce_object, pair.mapping.sfRecordId);
      else await this.deps.attio.deleteRecord(mapping.attio_object, pair.mapping.attioRecordId);
    }
    await unlinkPair(this.deps.db, pair.mapping.id);
    await this.deps.db.insert(auditLog).values({ ...audit, mappingId: pair.mapping.id, operation: "delete" });
    this.done(
      touch,
      policy === "propagate"
        ? `deleted on ${deletedOn === "attio" ? "salesforce" : "attio"} too`
        : "unlinked (delete ignored)",
    );
  }

  /**
   * A Salesforce record that disappeared because it lost a merge (it is in the Recycle Bin with a
   * MasterRecordId) is not a delete: the pair moves to the surviving record, whose values are then
   * synced like a first link. If the survivor already has its own pair, a person decides (held).
   * Returns whether the disappearance was a merge.
   */
  private async followSalesforceMerge(touch: Touch, pair: Pair): Promise<boolean> {
    const { mapping } = this.compiled;
    // Only these objects can be merged in Salesforce (others have no MasterRecordId field).
    if (!MERGEABLE.has(mapping.salesforce_object)) return false;
    const [row] = await this.deps.salesforce.deletedWithMaster(mapping.salesforce_object, [pair.mapping.sfRecordId]);
    const master = row?.MasterRecordId;
    if (!master) return false;
    const masterPair = (await pairsBySalesforce(this.deps.db, mapping.salesforce_object, [master])).get(master);
    if (masterPair) {
      await holdDelete(this.deps.db, pair.mapping.id, "salesforce");
      this.done(touch, `merged in Salesforce into ${master}, which is linked to another record: held for a person`);
      return true;
    }
    await movePair(this.deps.db, pair.mapping.id, { sfRecordId: master });
    await this.deps.db.insert(auditLog).values({
      correlationId: touch.correlationId,
      mappingId: pair.mapping.id,
      direction: "sf_to_attio",
      operation: "link",
      attioObject: mapping.attio_object,
      attioRecordId: pair.mapping.attioRecordId,
      sfObject: mapping.salesforce_object,
      sfRecordId: master,
      changes: { Id: { before: pair.mapping.sfRecordId, after: master } },
      sourceEvent: { ...touch.sourceEvent, merge: { loser: pair.mapping.sfRecordId, master } },
      actor: touch.actor,
    });
    await this.options.requestSync("salesforce", mapping.salesforce_object, master);
    this.done(touch, `merged in Salesforce into ${master}: the pair moved to it`);
    return true;
  }

  /** Salesforce creates and updates of the whole batch, 200 per Collections request. */
  private async writeSalesforce(pending: Pending[]) {
    const { mapping } = this.compiled;
    const creates = pending.filter((p) => !p.sfId && Object.keys(p.plan.toSalesforce).length > 0);
    const updates = pending.filter((p) => p.sfId && Object.keys(p.plan.toSalesforce).length > 0);
    const extId = mapping.salesforce_external_id_field;
    if (creates.length > 0) {
      const records = creates.map((p) => ({
        ...p.plan.toSalesforce,
        ...(extId && p.attioId ? { [extId]: p.attioId } : {}),
      }));
      const results = extId
        ? await this.deps.salesforce.upsertMany(mapping.salesforce_object, extId, records)
        : await this.deps.salesforce.createMany(mapping.salesforce_object, records);
      this.apply(creates, results, (p, id) => {
        p.sfId = id;
      });
    }
    if (updates.length > 0) {
      const records = updates.map((p) => ({ Id: p.sfId as string, ...p.plan.toSalesforce }));
      const results = await this.deps.salesforce.updateMany(mapping.salesforce_object, records);
      this.apply(updates, results, () => {});
    }
  }

  private apply(items: Pending[], results: SaveOutcome[], onOk: (p: Pending, id: string) => void) {
    for (const [index, item] of items.entries()) {
      const result = results[index];
      if (!result)
        this.fail(item.unit.touch, new SyncError("internal", "Salesforce returned fewer results than records"));
      else if (result.ok) onOk(item, result.id);
      else this.fail(item.unit.touch, result.error, item.plan.toSalesforce);
    }
  }

  /** Attio writes one record at a time (Attio has no batch write); returns the pair to store. */
  private async writeAttio(item: Pending): Promise<PendingSave> {
    const { mapping } = this.compiled;
    const { plan, unit } = item;
    let attioValues = item.attioValues;
    const toAttio = Object.keys(plan.toAttio).length > 0;
    const deferredFields: string[] = [];
    if (toAttio || !item.attioId) {
      const source = toAttio ? plan.toAttio : {};
      const write = mapToAttio(this.compiled, source, {
        ...this.mapOptions(),
        ...(attioValues ? { current: attioValues } : {}),
      });
      if (item.sfId || unit.salesforce) {
        this.note(unit, "sf_to_attio", write.issues, Object.keys(source)).item = item;
      }
      if (mapping.attio_id_attribute && item.sfId) write.values[mapping.attio_id_attribute] = [item.sfId];
      deferredFields.push(...write.deferred.map((d) => d.salesforce));
      let record: AttioRecord | undefined;
      if (item.attioId) {
        if (Object.keys(write.values).length > 0)
          record = await this.deps.attio.updateRecord(mapping.attio_object, item.attioId, write.values);
      } else {
        record = await this.createInAttio(write.values);
      }
      if (record) {
        item.attioId = record.id.record_id;
        attioValues = record.values;
      }
    }
    if (!item.attioId || !item.sfId) {
      throw new SyncError("internal", "a pair was planned without both records");
    }
    // The Attio side of the base is what Attio holds now, mapped: lossy transforms never look like
    // edits. Conflicted fields keep their old base; deferred references get none (see nextBase).
    const attioNow =
      attioValues === item.attioValues && item.plannedAttioSide
        ? item.plannedAttioSide
        : attioValues && attioSide(this.compiled, attioValues, this.mapOptions()).values;
    const base = nextBase(plan, attioNow, deferredFields);
    this.ids.link(mapping.attio_object, item.attioId, item.sfId);
    const mappingId = unit.pair?.mapping.id ?? crypto.randomUUID();
    const save: SavePair = {
      mapping: {
        id: mappingId,
        attioObject: mapping.attio_object,
        attioRecordId: item.attioId,
        sfObject: mapping.salesforce_object,
        sfRecordId: item.sfId,
      },
      base,
      direction: toAttio ? "sf_to_attio" : Object.keys(plan.toSalesforce).length > 0 ? "attio_to_sf" : "none",
      sfSystemModstamp: item.sfSystemModstamp,
      audits: this.audits(item),
    };
    const wrote = [
      Object.keys(plan.toSalesforce).length > 0
        ? `${Object.keys(plan.toSalesforce).length} field(s) to Salesforce`
        : "",
      toAttio ? `${Object.keys(plan.toAttio).length} field(s) to Attio` : "",
      plan.conflicts.length > 0 ? `${plan.conflicts.length} conflict(s)` : "",
    ].filter(Boolean);
    return { item, save, action: `${item.operation}${wrote.length ? `: ${wrote.join(", ")}` : ""}` };
  }

  /**
   * Creates the Attio record idempotently where Attio allows it: asserting on the attribute that
   * holds the Salesforce id, else on a unique match attribute (email, domain), so a retry after a
   * crash finds the record instead of creating a second one.
   */
  private async createInAttio(values: Record<string, unknown[]>): Promise<AttioRecord> {
    const { mapping } = this.compiled;
    if (mapping.attio_id_attribute)
      return this.deps.attio.assertRecord(mapping.attio_object, mapping.attio_id_attribute, values);
    const key = mapping.match_keys[0]?.attio.split(".")[0];
    if (key && (values[key]?.length ?? 0) > 0 && UNIQUE_ATTRIBUTES.has(`${mapping.attio_object}.${key}`)) {
      return this.deps.attio.assertRecord(mapping.attio_object, key, values);
    }
    return this.deps.attio.createRecord(mapping.attio_object, values);
  }

  private audits(item: Pending) {
    const { mapping } = this.compiled;
    const { plan, unit } = item;
    const common = {
      correlationId: unit.touch.correlationId,
      attioObject: mapping.attio_object,
      attioRecordId: item.attioId ?? null,
      sfObject: mapping.salesforce_object,
      sfRecordId: item.sfId ?? null,
      sourceEvent: unit.touch.sourceEvent,
      actor: unit.touch.actor,
    };
    const rows = [];
    const toSf = changes(plan.toSalesforce, () =>
      unit.salesforce ? salesforceSide(this.compiled, unit.salesforce) : undefined,
    );
    const toAttio = changes(plan.toAttio, () =>
      unit.attio ? attioSide(this.compiled, unit.attio.values, this.mapOptions()).values : undefined,
    );
    const sfCreated = item.operation === "create" && !unit.salesforce;
    const attioCreated = item.operation === "create" && !unit.attio;
    if (Object.keys(toSf).length > 0 || sfCreated || item.operation === "link") {
      rows.push({
        ...common,
        direction: "attio_to_sf" as const,
        operation: sfCreated ? ("create" as const) : item.operation,
        changes: toSf,
      });
    }
    if (Object.keys(toAttio).length > 0 || attioCreated) {
      rows.push({
        ...common,
        direction: "sf_to_attio" as const,
        operation: attioCreated ? ("create" as const) : item.operation,
        changes: toAttio,
      });
    }
    if (plan.conflicts.length > 0) {
      const conflictChanges = Object.fromEntries(
        plan.conflicts.map((c) => [c.field, { before: c.attio ?? null, after: c.salesforce ?? null }]),
      );
      rows.push({
        ...common,
        direction: "attio_to_sf" as const,
        operation: "conflict" as const,
        changes: conflictChanges,
      });
    }
    return rows;
  }
}

/** The values of one record in one direction that were not written as they are. */
interface SeenIssues {
  unit: Unit;
  /** The unit's planned write, once there is one (it learns the ids of records it creates). */
  item?: Pending;
  direction: "attio_to_sf" | "sf_to_attio";
  issues: MappingIssue[];
  /** The fields whose values were checked, so warnings of the others are left as they are. */
  fields: string[];
}

function flowsToSalesforce(direction: Direction, global: SyncDirection): boolean {
  const effective = effectiveDirection(direction, global);
  return effective === "both" || effective === "attio_to_sf";
}

/** Salesforce objects that support merges. */
const MERGEABLE = new Set(["Account", "Contact", "Lead", "Case"]);

/** Attio attributes that are unique by default, so creates can assert on them. */
const UNIQUE_ATTRIBUTES = new Set(["people.email_addresses", "companies.domains"]);

function noWrites(plan: FieldPlan): boolean {
  return Object.keys(plan.toSalesforce).length === 0 && Object.keys(plan.toAttio).length === 0;
}

function sameBase(stored: Base | null | undefined, next: { attio: Values; salesforce: Values }): boolean {
  if (!stored) return false;
  return (
    JSON.stringify(sortKeys(stored.attio)) === JSON.stringify(sortKeys(next.attio)) &&
    JSON.stringify(sortKeys(stored.salesforce)) === JSON.stringify(sortKeys(next.salesforce))
  );
}

function sortKeys(values: Values): [string, SfScalar][] {
  return Object.entries(values).sort(([a], [b]) => a.localeCompare(b));
}

/**
 * Before/after of each written field. `sideBefore` maps a whole record, so it is called only when
 * something was written that way (a job's creates write nothing to the other side).
 */
function changes(written: Record<string, SfScalar>, sideBefore: () => Values | undefined): Record<string, FieldChange> {
  const fields = Object.entries(written);
  if (fields.length === 0) return {};
  const before = sideBefore();
  return Object.fromEntries(fields.map(([field, after]) => [field, { before: before?.[field] ?? null, after }]));
}
