import { type SyncError, toSyncError } from "../lib/errors.ts";
import {
  attioReferences,
  type CompiledMapping,
  type MapOptions,
  mapsOwners,
  salesforceReferences,
} from "../mapping/engine.ts";
import type { IdLookup, UserLookup } from "../mapping/transforms.ts";
import { decideContext, decideUnsettled } from "../plan/decide.ts";
import type { RecordFacts } from "../plan/decision.ts";
import type { FieldTimes } from "../plan/field-times.ts";
import { afterBatchFailure, halves, outcomeOfError, splitBudget } from "../plan/isolate.ts";
import type { TouchOutcome } from "../plan/outcome.ts";
import {
  type EarlyDecision,
  ownCreateEcho,
  settleBeforeLease,
  settleOnAttio,
  settleWithoutRead,
} from "../plan/settle-early.ts";
import type { Touch } from "../plan/touch.ts";
import { loadFieldTimes } from "../store/field-times.ts";
import { anyJobInFlight } from "../store/jobs.ts";
import { loadIdLookup, type Pair } from "../store/pairs.ts";
import type { SyncDeps } from "../sync/deps.ts";
import { gateMassUpdates } from "./breaker.ts";
import { fail, type RunContext, retryLater } from "./context.ts";
import { type Decided, execute, holdMassDeletes, outcomeWithoutEffect, report } from "./execute.ts";
import { Leases } from "./leases.ts";
import { findCandidates } from "./match.ts";
import type { EngineOptions } from "./options.ts";
import { findMergedAway, loadPairs, readAttioEchoes, readFacts, withListed } from "./read.ts";

/**
 * Syncs the touched records of one mapping: settles what needs no sync as early as it can (see
 * plan/settle-early.ts), leases each pair, reads both sides in bulk, decides every record with the
 * pure planner (plan/decide.ts), then executes the decisions (execute.ts), or in a dry run reports
 * them. Each touch gets its own outcome, so one bad record never holds back the rest of the batch:
 * a read or match query of the whole batch that fails for good before anything is written runs
 * again in halves until the records it fails for are alone (plan/isolate.ts).
 */
export async function syncMapping(
  deps: SyncDeps,
  compiled: CompiledMapping,
  touches: readonly Touch[],
  options: EngineOptions,
): Promise<Map<Touch, TouchOutcome>> {
  return syncIsolating(deps, compiled, touches, options, { splitsLeft: splitBudget(touches.length) });
}

async function syncIsolating(
  deps: SyncDeps,
  compiled: CompiledMapping,
  touches: readonly Touch[],
  options: EngineOptions,
  budget: { splitsLeft: number },
): Promise<Map<Touch, TouchOutcome>> {
  const { outcomes, failure } = await syncOnce(deps, compiled, touches, options);
  if (!failure) return outcomes;
  const next = afterBatchFailure(failure.error, { size: touches.length, ...failure, splitsLeft: budget.splitsLeft });
  switch (next.kind) {
    case "split": {
      budget.splitsLeft -= 1;
      deps.log.warn("a step shared by the batch failed for good; running it again in halves", {
        mapping: compiled.mapping.name,
        touches: touches.length,
        code: failure.error.code,
        error: failure.error.message,
      });
      const merged = new Map<Touch, TouchOutcome>();
      for (const half of halves(touches)) {
        for (const [touch, outcome] of await syncIsolating(deps, compiled, half, options, budget)) {
          merged.set(touch, outcome);
        }
      }
      return merged;
    }
    case "settle_each":
      for (const touch of touches) if (!outcomes.has(touch)) outcomes.set(touch, next.outcome);
      return outcomes;
  }
}

/**
 * One run over the touches. A throw of a step shared by the batch is handed back with whether the
 * run had begun to write, for the caller to split the batch or settle its records.
 */
async function syncOnce(
  deps: SyncDeps,
  compiled: CompiledMapping,
  touches: readonly Touch[],
  options: EngineOptions,
): Promise<{ outcomes: Map<Touch, TouchOutcome>; failure?: { error: SyncError; wrote: boolean } }> {
  const outcomes = new Map<Touch, TouchOutcome>();
  const leases = new Leases(deps);
  const leaseNames = new Map<Touch, string>();
  const started = Date.now();
  let wrote = false;
  try {
    const initial = await loadPairs(deps, compiled, touches);
    // Looked up only for an own-create echo with no pair: whether a job of ours may have made it.
    const jobRunning =
      touches.some((touch) => ownCreateEcho(touch) && !initial.get(touch)) && (await anyJobInFlight(deps.db));
    const live = settle(outcomes, touches, (touch) =>
      settleBeforeLease(compiled, touch, initial.get(touch), jobRunning),
    );
    const ready = await lease(outcomes, leases, compiled, live, initial, leaseNames, options.leaseWaitMs ?? 0);
    if (ready.length === 0) return { outcomes };
    const locking = Date.now() - started;

    // Pairs again, under the lease (another consumer may have linked meanwhile): the base is the latest.
    const pairs = await loadPairs(deps, compiled, ready);
    const toRead = settle(outcomes, ready, (touch) => settleWithoutRead(compiled, touch, pairs.get(touch)));
    const users = mapsOwners(compiled) && options.users ? await options.users() : undefined;
    const echoes = await readAttioEchoes(deps, compiled, toRead, pairs);
    const echoIds = echoes.ids;
    const remaining = echoIds
      ? settle(outcomes, toRead, (touch) => {
          const pair = pairs.get(touch);
          const record = pair && echoes.known.attio.get(pair.mapping.attioRecordId);
          return settleOnAttio(compiled, touch, pair, record, mapOptionsOf(echoIds, options, users));
        })
      : toRead;
    if (remaining.length === 0) return { outcomes };
    const known = withListed(remaining, pairs, echoes.known, options);
    // The field times are read from D1 while the CRMs are: a live change waits for one round trip less.
    const times = fieldTimesOf(deps, compiled, options.strategy, salesforceIdsOf(remaining, pairs));
    times.catch(() => undefined);
    const read = await readFacts(deps, compiled, remaining, pairs, known);
    const { unread } = read;
    const facts = withTimes(read.facts, await times);
    for (const [touch, error] of unread) outcomes.set(touch, outcomeOfError(error));
    await findMergedAway(deps, compiled, facts);
    const reading = Date.now() - started - locking;

    await options.beforeWriting?.();
    const ids = await loadReferences(deps, compiled, facts);
    await findCandidates(deps, compiled, options, leases, facts);
    const run: RunContext = {
      deps,
      compiled,
      options,
      decide: decideContext(compiled, options, mapOptionsOf(ids, options, users), jobRunning),
      ids,
      outcomes,
      fence: {
        renew: () => leases.renew(),
        lost: (touch) => {
          const name = leaseNames.get(touch);
          return name !== undefined && !leases.holds(name);
        },
      },
      linked: [],
      seen: [],
    };
    const decided = await gateMassUpdates(run, await holdMassDeletes(run, decideAll(run, facts)), new Date());
    const deciding = Date.now() - started - locking - reading;
    if (options.dryRun) report(run, decided);
    else {
      wrote = true;
      await execute(run, decided);
    }
    deps.log.debug("engine timings", {
      mapping: compiled.mapping.name,
      touches: touches.length,
      settled_before_lease: touches.length - live.length,
      settled_without_read: ready.length - toRead.length,
      settled_reading_attio_only: toRead.length - remaining.length,
      lock_ms: locking,
      read_ms: reading,
      match_decide_ms: deciding,
      execute_ms: Date.now() - started - locking - reading - deciding,
      attio_write_round_trip_ms: Math.round(deps.attio.writeRoundTripMs),
    });
  } catch (thrown) {
    return { outcomes, failure: { error: toSyncError(thrown), wrote } };
  } finally {
    await leases.release();
  }
  return { outcomes };
}

/**
 * Each Salesforce record's field times (plan/field-times.ts), for the planner's last_write: read
 * only when a field may be decided by it.
 */
export async function withFieldTimes(
  deps: SyncDeps,
  compiled: CompiledMapping,
  strategy: EngineOptions["strategy"],
  facts: readonly RecordFacts[],
): Promise<RecordFacts[]> {
  const ids = facts.flatMap((fact) => (fact.salesforce ? [String(fact.salesforce.Id)] : []));
  return withTimes(facts, await fieldTimesOf(deps, compiled, strategy, ids));
}

/** The field times of these Salesforce records, or none when no field is decided by last_write. */
async function fieldTimesOf(
  deps: SyncDeps,
  compiled: CompiledMapping,
  strategy: EngineOptions["strategy"],
  ids: readonly string[],
): Promise<Map<string, FieldTimes>> {
  const lastWrite = strategy === "last_write" || compiled.fields.some((f) => f.spec.conflict_owner === "last_write");
  if (!lastWrite || ids.length === 0) return new Map();
  return loadFieldTimes(deps.db, compiled.mapping.salesforce_object, ids);
}

function withTimes(facts: readonly RecordFacts[], times: ReadonlyMap<string, FieldTimes>): RecordFacts[] {
  if (times.size === 0) return [...facts];
  return facts.map((fact) => {
    const salesforceFieldTimes = fact.salesforce ? times.get(String(fact.salesforce.Id)) : undefined;
    return salesforceFieldTimes ? { ...fact, salesforceFieldTimes } : fact;
  });
}

/** The Salesforce records a read of these touches covers: the pairs' and the Salesforce touches' own. */
function salesforceIdsOf(touches: readonly Touch[], pairs: ReadonlyMap<Touch, Pair>): string[] {
  return [
    ...new Set(
      touches.flatMap((touch) => {
        const id = pairs.get(touch)?.mapping.sfRecordId ?? (touch.side === "salesforce" ? touch.recordId : undefined);
        return id === undefined ? [] : [id];
      }),
    ),
  ];
}

/** Settles the touches a settle-early rule ends (their outcome is set); returns the others. */
function settle(
  outcomes: Map<Touch, TouchOutcome>,
  touches: readonly Touch[],
  rule: (touch: Touch) => EarlyDecision | undefined,
): Touch[] {
  return touches.filter((touch) => {
    const decision = rule(touch);
    if (decision) outcomes.set(touch, outcomeWithoutEffect(decision));
    return !decision;
  });
}

/**
 * Leases each touch: a pair by its mapping id, a record with no counterpart by its own id. A touch
 * whose lease another consumer holds is retried once that lease can have ended.
 */
async function lease(
  outcomes: Map<Touch, TouchOutcome>,
  leases: Leases,
  compiled: CompiledMapping,
  touches: readonly Touch[],
  pairs: ReadonlyMap<Touch, Pair>,
  names: Map<Touch, string>,
  waitMs: number,
): Promise<Touch[]> {
  for (const touch of touches) {
    const pair = pairs.get(touch);
    names.set(touch, pair ? `pair:${pair.mapping.id}` : `${touch.side}:${compiled.mapping.name}:${touch.recordId}`);
  }
  let busy = await leases.take([...names.values()]);
  // Waiting in place: the other run usually ends well before its lease would expire.
  const deadline = Date.now() + waitMs;
  for (let pause = LEASE_POLL_MS; busy.size > 0 && Date.now() + pause <= deadline; pause = Math.min(pause * 2, 1000)) {
    await new Promise((resolve) => setTimeout(resolve, pause));
    busy = await leases.take([...busy.keys()]);
  }
  return touches.filter((touch) => {
    const name = names.get(touch) ?? "";
    const waitMs = busy.get(name);
    if (waitMs === undefined) return true;
    retryLater(outcomes, touch, `${name} is being synced by another consumer`, waitMs / 1000);
    return false;
  });
}

/** Milliseconds before a run waiting for a record asks for its lease again (then doubled, up to 1 s). */
const LEASE_POLL_MS = 250;

/** Decides each record; a record whose decision throws (a bug in a transform) fails alone. */
function decideAll(run: RunContext, facts: readonly RecordFacts[]): Decided[] {
  return facts.flatMap((fact) => {
    try {
      return [{ facts: fact, decision: decideUnsettled(run.decide, fact) }];
    } catch (thrown) {
      fail(run, fact.touch, toSyncError(thrown));
      return [];
    }
  });
}

/** The id map of every record the touched records reference, in one lookup. */
export async function loadReferences(deps: SyncDeps, compiled: CompiledMapping, facts: readonly RecordFacts[]) {
  const attioRefs = facts.flatMap((f) => (f.attio ? attioReferences(compiled, f.attio.values) : []));
  const sfRefs = facts.flatMap((f) => (f.salesforce ? salesforceReferences(compiled, f.salesforce) : []));
  return loadIdLookup(
    deps.db,
    attioRefs.map((r) => ({ object: r.targetObject, id: r.id })),
    sfRefs.map((r) => ({ object: r.targetObject, id: r.id })),
  );
}

/** What the mapping core may consult: the batch's id map, the owner directory and Attio's option titles. */
export function mapOptionsOf(
  ids: IdLookup,
  options: Pick<EngineOptions, "attioTitles">,
  users: UserLookup | undefined,
): MapOptions & { ids: IdLookup } {
  return {
    ids,
    ...(users ? { users } : {}),
    ...(options.attioTitles ? { attioTitles: options.attioTitles } : {}),
  };
}
