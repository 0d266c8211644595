import type { AttioRecord } from "../attio/record-schema.ts";
import { SyncError, toSyncError } from "../lib/errors.ts";
import { eachLimit } from "../lib/pool.ts";
import { mapToAttio } from "../mapping/engine.ts";
import { attioSide } from "../plan/canon.ts";
import { nextBase } from "../plan/next-base.ts";
import type { SaveOutcome } from "../salesforce/client.ts";
import { upsertConflict } from "../store/conflicts.ts";
import type { OpenIntent } from "../store/intents.ts";
import { type SavePair, savePairsApart } from "../store/pairs.ts";
import { writeAudits } from "./audit.ts";
import { done, fail, leaseLost, type PendingWrite, type RunContext } from "./context.ts";
import { saveDroppingRejected } from "./field-rejections.ts";
import {
  attioAssertKey,
  closeRunIntents,
  guardAttioCreate,
  guardSalesforceCreates,
  noIntents,
  type OpenedIntents,
  openAttioIntents,
} from "./intents.ts";
import { recheckAttio, updateConditionally } from "./recheck.ts";

/** A written record waiting for its pair to be stored with the run's others. */
interface Written {
  item: PendingWrite;
  save: SavePair;
}

/**
 * Pairs stored per D1 batch: 15 statements (three per 200 pairs), one round trip. A Bulk write
 * hands a job page's 2,000 pairs over at once (docs/BENCHMARKS.md).
 */
const SAVES_PER_BATCH = 1_000;

/**
 * Written records whose pairs are stored together while the run's other writes go on: about 1.7 s
 * of Attio writes at 24/s. The echo of a create comes back no sooner than
 * INTEGRATION_EVENT_DELAY_SECONDS (3 s) later, and once our actor is known not at all
 * (attio/own-actor.ts, sync/echo-filter.ts), so it still finds the pair. Storing every 10 cost the
 * Contacts job about 230 ms of CPU per 1,000 records more (docs/BENCHMARKS.md); a consumer that
 * dies redoes at most this many writes, as asserts that find the records.
 */
const SAVES_PER_FLUSH = 40;

/**
 * Attio writes in flight at once (Attio has no batch write): enough to keep the write rate busy
 * through each call's round trip (Little's law), plus one for the limiter's own round trip. Each
 * waits for its slot, so the limiter, not this number, sets the pace; every extra caller waiting is
 * one more that a busy moment can bunch with the others (docs/BENCHMARKS.md has the 429 counts).
 * 2-3 locally, 4 at 100 ms, 6 at 200 ms, at most 10.
 *
 * @example writesInFlight(24, 200) // 6
 */
export function writesInFlight(ratePerSecond: number, roundTripMs: number): number {
  return Math.min(10, Math.max(2, Math.ceil((ratePerSecond * roundTripMs) / 1000) + 1));
}

/**
 * Writes the run's decided writes: Salesforce first, in batches of one kind, then Attio one record
 * at a time (a pool as wide as writesInFlight), storing pairs as they are done.
 */
export async function writeAll(run: RunContext, pending: PendingWrite[]): Promise<void> {
  const opened = noIntents();
  try {
    // Whether a write was sent before: the first one follows the run's read at once (recheck.ts).
    let sentBefore = await writeSalesforce(run, pending, opened);
    const intents = await openAttioIntents(run, pending);
    const saver = pairSaver(run, opened);
    const rate = run.deps.config.ATTIO_WRITES_PER_SECOND;
    await eachLimit(
      pending,
      () => writesInFlight(rate, run.deps.attio.writeRoundTripMs),
      async (item) => {
        if (run.outcomes.has(item.touch) || leaseLost(run, item.touch)) return;
        const first = !sentBefore;
        sentBefore = true;
        try {
          saver.add(await writeAttio(run, item, { open: intents, opened }, first));
        } catch (thrown) {
          fail(run, item.touch, toSyncError(thrown));
        }
      },
    );
    await saver.flush();
  } finally {
    // Once per run, and even when it failed half-way (the pairs it stored are linked): waiting
    // records are looked up per call, and a job's page stores its pairs in dozens of flushes.
    if (run.linked.length > 0) await run.options.onLinked(run.linked);
  }
}

/** Salesforce creates and updates of the whole run, 200 per Collections request; whether any was sent. */
async function writeSalesforce(run: RunContext, pending: PendingWrite[], opened: OpenedIntents): Promise<boolean> {
  const { mapping } = run.compiled;
  const writes = pending.filter(
    (p) => Object.keys(p.decision.plan.toSalesforce).length > 0 && !leaseLost(run, p.touch),
  );
  const extId = mapping.salesforce_external_id_field;
  const updates = writes.filter((p) => p.ids.salesforce);
  let creates = writes.filter((p) => !p.ids.salesforce);
  if (!extId && creates.length > 0) {
    // Keyless creates: an earlier attempt's record is updated instead of created again (intents.ts).
    const guarded = await guardSalesforceCreates(run, creates, opened);
    creates = guarded.send;
    updates.push(...guarded.found);
  }
  if (creates.length > 0) {
    const records = creates.map((p) => ({
      ...p.decision.plan.toSalesforce,
      ...(extId && p.ids.attio ? { [extId]: p.ids.attio } : {}),
    }));
    const results = await saveDroppingRejected(run, creates, records, (part) =>
      extId
        ? run.deps.salesforce.upsertMany(mapping.salesforce_object, extId, part)
        : run.deps.salesforce.createMany(mapping.salesforce_object, part),
    );
    applyResults(run, creates, results, (p, id) => {
      p.ids.salesforce = id;
    });
    // A refused create created nothing: its intent is closed.
    const refused = creates.filter((p) => !p.ids.salesforce);
    if (refused.length > 0) await closeRunIntents(run, opened, refused);
  }
  // Live updates go one by one with a precondition (recheck.ts); the rest in batches.
  const batched = await updateConditionally(run, updates);
  if (batched.length > 0) {
    const records = batched.map((p) => ({ Id: p.ids.salesforce as string, ...p.decision.plan.toSalesforce }));
    const results = await saveDroppingRejected(run, batched, records, (part) =>
      run.deps.salesforce.updateMany(mapping.salesforce_object, part),
    );
    applyResults(run, batched, results, () => {});
  }
  return writes.length > 0;
}

function applyResults(
  run: RunContext,
  items: PendingWrite[],
  results: SaveOutcome[],
  onOk: (p: PendingWrite, id: string) => void,
): void {
  for (const [index, item] of items.entries()) {
    const result = results[index];
    if (!result) fail(run, item.touch, new SyncError("internal", "Salesforce returned fewer results than records"));
    else if (result.ok) onOk(item, result.id);
    else fail(run, item.touch, result.error, item.decision.plan.toSalesforce);
  }
}

/**
 * Writes one record to Attio (Attio has no batch write); returns the pair to store. `first`: no
 * write of the run was sent before this one.
 */
async function writeAttio(
  run: RunContext,
  item: PendingWrite,
  intents: { open: Map<string, OpenIntent>; opened: OpenedIntents },
  first: boolean,
): Promise<Written> {
  const { mapping } = run.compiled;
  const { plan } = item.decision;
  const toAttio = Object.keys(plan.toAttio).length > 0;
  const deferredFields: string[] = [];
  if (toAttio || !item.ids.attio) {
    const source = toAttio ? plan.toAttio : {};
    const write = mapToAttio(run.compiled, source, {
      ...run.decide.mapOptions,
      ...(item.attioValues ? { current: item.attioValues } : {}),
    });
    if (item.ids.salesforce || item.decision.salesforce) {
      run.seen.push({
        touch: item.touch,
        direction: "sf_to_attio",
        issues: write.issues,
        fields: Object.keys(source),
        ids: item.ids,
      });
    }
    if (mapping.attio_id_attribute && item.ids.salesforce) {
      write.values[mapping.attio_id_attribute] = [item.ids.salesforce];
    }
    deferredFields.push(...write.deferred.map((d) => d.salesforce));
    let record: AttioRecord | undefined;
    if (item.ids.attio) {
      if (Object.keys(write.values).length > 0) {
        if (!first) await recheckAttio(run, item, Object.keys(write.values));
        record = await run.deps.attio.updateRecord(mapping.attio_object, item.ids.attio, write.values);
      }
    } else {
      record = await createInAttio(run, item, write.values, intents);
    }
    if (record) {
      item.ids.attio = record.id.record_id;
      item.attioValues = record.values;
    }
  }
  const { attio: attioId, salesforce: sfId } = item.ids;
  if (!attioId || !sfId) throw new SyncError("internal", "a pair was planned without both records");
  // The Attio side of the base is what Attio holds now, mapped: lossy transforms never look like
  // edits. Conflicted fields keep their old base; deferred references get none (see nextBase).
  const attioNow =
    item.attioValues === item.decision.attio?.values && reusePlannedSide(run)
      ? item.decision.attioSide
      : item.attioValues && attioSide(run.compiled, item.attioValues, run.decide.mapOptions).values;
  run.ids.link(mapping.attio_object, attioId, sfId);
  const save: SavePair = {
    mapping: {
      id: item.pair?.mapping.id ?? crypto.randomUUID(),
      attioObject: mapping.attio_object,
      attioRecordId: attioId,
      sfObject: mapping.salesforce_object,
      sfRecordId: sfId,
    },
    base: nextBase(plan, attioNow, deferredFields),
    direction: toAttio ? "sf_to_attio" : Object.keys(plan.toSalesforce).length > 0 ? "attio_to_sf" : "none",
    sfSystemModstamp: sfSystemModstamp(item),
    audits: writeAudits(run, item),
  };
  return { item, save };
}

/**
 * Whether the Attio side as planned can stand for mapping the same values again: only without
 * reference fields, the one kind whose mapping reads the id map, which this run's links change
 * between deciding and writing.
 */
function reusePlannedSide(run: RunContext): boolean {
  return !run.compiled.fields.some((field) => field.transform.name === "record_reference");
}

function sfSystemModstamp(item: PendingWrite): string | null {
  const stamp = item.decision.salesforce?.["SystemModstamp"];
  return typeof stamp === "string" ? stamp : null;
}

/**
 * Creates the Attio record idempotently: asserting on the attribute that holds the Salesforce id,
 * else on a unique match attribute (email, domain), else through a create intent (intents.ts), so
 * a retry after a crash finds the record instead of creating a second one.
 */
async function createInAttio(
  run: RunContext,
  item: PendingWrite,
  values: Record<string, unknown[]>,
  intents: { open: Map<string, OpenIntent>; opened: OpenedIntents },
): Promise<AttioRecord> {
  const { mapping } = run.compiled;
  const { attio } = run.deps;
  const key = attioAssertKey(mapping, values);
  if (key) return attio.assertRecord(mapping.attio_object, key, values);
  const earlier = await guardAttioCreate(run, item, values, intents.open, intents.opened);
  if (earlier) return attio.updateRecord(mapping.attio_object, earlier, values);
  return attio.createRecord(mapping.attio_object, values);
}

/**
 * Stores pairs while the writes go on, one D1 batch after another: a flush starts once
 * SAVES_PER_FLUSH written records wait and none is running, and takes all that wait (up to
 * SAVES_PER_BATCH a batch). With Attio writes at 24/s a pair exists within about two seconds of
 * its record's creation, before the echo of that create is synced, so the echo finds it instead of
 * matching the record anew, and a consumer that dies in the middle of a batch of 2,000 has stored
 * nearly all it wrote. When D1 is slower than the writes, flushes grow instead of queueing up
 * behind each other.
 */
function pairSaver(run: RunContext, opened: OpenedIntents) {
  const waiting: Written[] = [];
  let running: Promise<void> | undefined;
  const drain = async () => {
    while (waiting.length > 0) {
      const part = waiting.splice(0, SAVES_PER_BATCH);
      try {
        await saveAll(run, part);
        const stored = part.filter(({ item }) => run.outcomes.get(item.touch)?.status === "done");
        await closeRunIntents(
          run,
          opened,
          stored.map(({ item }) => item),
        );
      } catch (thrown) {
        for (const { item } of part) if (!run.outcomes.has(item.touch)) fail(run, item.touch, toSyncError(thrown));
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
    add(written: Written) {
      waiting.push(written);
      if (waiting.length >= SAVES_PER_FLUSH) void start();
    },
    async flush() {
      await running;
      await start();
    },
  };
}

/**
 * Stores the pairs, bases and audit rows of written records in one D1 batch instead of one round
 * trip per record, then their held conflicts, and notes which records were linked.
 */
async function saveAll(run: RunContext, written: Written[]): Promise<void> {
  const errors = await savePairsApart(
    run.deps.db,
    written.map((w) => w.save),
  );
  for (const [index, error] of errors.entries()) {
    const w = written[index];
    if (w && error !== undefined) fail(run, w.item.touch, toSyncError(error));
  }
  for (const { item, save } of written) {
    if (run.outcomes.has(item.touch)) continue;
    try {
      const { plan, operation } = item.decision;
      for (const conflict of plan.conflicts) {
        await upsertConflict(run.deps.db, save.mapping.id, conflict.field, conflict);
      }
      if (!item.pair) run.linked.push({ attioId: save.mapping.attioRecordId, sfId: save.mapping.sfRecordId });
      done(run, item.touch, operation, { detail: wroteDetail(item), conflicts: plan.conflicts.length });
    } catch (thrown) {
      fail(run, item.touch, toSyncError(thrown));
    }
  }
}

/** "2 field(s) to Salesforce, 1 conflict(s)": for logs and people. */
function wroteDetail(item: PendingWrite): string {
  const { plan } = item.decision;
  const toSf = Object.keys(plan.toSalesforce).length;
  const toAttio = Object.keys(plan.toAttio).length;
  return [
    toSf > 0 ? `${toSf} field(s) to Salesforce` : "",
    toAttio > 0 ? `${toAttio} field(s) to Attio` : "",
    plan.conflicts.length > 0 ? `${plan.conflicts.length} conflict(s)` : "",
  ]
    .filter(Boolean)
    .join(", ");
}
