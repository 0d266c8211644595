import { acquireLeases, releaseLeases } from "../durable/record-lock.ts";
import { SyncError, toSyncError } from "../lib/errors.ts";
import { mapToAttio } from "../mapping/engine.ts";
import type { UserLookup } from "../mapping/transforms.ts";
import { isWarning, type SfScalar } from "../mapping/types.ts";
import { insertAudit } from "../store/audit.ts";
import { closeConflict, loadConflict } from "../store/conflicts.ts";
import { decidePendingDelete, loadPendingDelete, pendingOfBatch } from "../store/deletes.ts";
import { loadAmbiguousMatch, resolveAmbiguousMatch } from "../store/matches.ts";
import {
  insertPair,
  loadIdLookup,
  pairById,
  pairIdOfSalesforce,
  pairsByAttio,
  savePair,
  unlinkPair,
} from "../store/pairs.ts";
import type { SyncDeps } from "./deps.ts";
import { internalAttioMessage } from "./messages.ts";
import type { Runtime } from "./runtime.ts";

/**
 * An operator's action holds the same leases as the engine (`pair:<mapping id>`, or
 * `<side>:<mapping>:<record id>` for a record with no pair), so it never writes a pair while a
 * consumer syncs it. Long enough for the few calls an action makes; released when it is done.
 */
const OPERATOR_LEASE_MS = 60_000;

/** Runs `work` under the leases on `names`; 409 record_busy when a consumer holds one of them. */
async function underLeases<T>(deps: SyncDeps, names: readonly string[], work: () => Promise<T>): Promise<T> {
  const holder = `operator:${crypto.randomUUID()}`;
  const result = await acquireLeases(deps.locks, holder, names, OPERATOR_LEASE_MS);
  if (result.busy.length > 0) {
    await releaseLeases(deps.locks, holder, result.acquired);
    const seconds = Math.max(1, Math.ceil(Math.max(...result.busy.map((b) => b.retryInMs)) / 1000));
    throw new SyncError(
      "record_busy",
      `the record is being synced right now (lease ${result.busy[0]?.name} is held): try again in ${seconds} s`,
      { status: 409, retryAfterSeconds: seconds },
    );
  }
  try {
    return await work();
  } finally {
    await releaseLeases(deps.locks, holder, names);
  }
}

/** How an operator settles a conflict: one side's value, or a value of their own. */
export type Resolution = { side: "attio" | "salesforce" } | { value: SfScalar };

/**
 * Applies an operator's decision on a conflict to both sides, stores it as the new base of that
 * field, audits it and closes the conflict.
 */
export async function resolveConflict(
  deps: SyncDeps,
  runtime: Runtime,
  conflictId: string,
  resolution: Resolution,
  actor: string,
  /** The owner directory, needed when the conflict is about an owner. */
  users?: () => Promise<UserLookup>,
) {
  const found = await loadConflict(deps.db, conflictId);
  if (!found) throw new SyncError("not_found", `no conflict ${conflictId}`, { status: 404 });
  return underLeases(deps, [`pair:${found.mappingId}`], async () => {
    // Read again under the lease: another operator may have resolved it meanwhile.
    const conflict = (await loadConflict(deps.db, conflictId)) ?? found;
    if (conflict.status !== "open")
      throw new SyncError("conflict", `conflict ${conflictId} is already resolved`, { status: 409 });
    return applyResolution(deps, runtime, conflict, resolution, actor, users);
  });
}

async function applyResolution(
  deps: SyncDeps,
  runtime: Runtime,
  conflict: NonNullable<Awaited<ReturnType<typeof loadConflict>>>,
  resolution: Resolution,
  actor: string,
  users: (() => Promise<UserLookup>) | undefined,
) {
  const conflictId = conflict.id;
  const row = await pairById(deps.db, conflict.mappingId);
  if (!row) throw new SyncError("not_found", "the conflict's pair no longer exists", { status: 404 });
  const compiled = runtime.byAttioObject(row.attioObject);
  if (!compiled) throw new SyncError("conflict", `object ${row.attioObject} is no longer mapped`, { status: 409 });
  const value = (
    "side" in resolution ? (resolution.side === "attio" ? conflict.attioValue : conflict.sfValue) : resolution.value
  ) as SfScalar;
  const field = conflict.field;

  const ids = await loadIdLookup(
    deps.db,
    [],
    typeof value === "string" ? [{ object: row.attioObject, id: value }] : [],
  );
  const current = (await deps.attio.queryRecords(row.attioObject, { record_id: { $in: [row.attioRecordId] } }))[0];
  const ownerField = compiled.fields.some((f) => f.spec.salesforce === field && f.transform.name === "owner");
  const titles = runtime.attioTitles(row.attioObject);
  const write = mapToAttio(
    compiled,
    { [field]: value },
    {
      ids,
      ...(current ? { current: current.values } : {}),
      ...(ownerField && users ? { users: await users() } : {}),
      ...(titles ? { attioTitles: titles } : {}),
    },
  );
  // A decided value Attio cannot take is refused before either side is written, never half-applied.
  const refused = write.issues.find((issue) => issue.salesforce === field && isWarning(issue));
  if (refused) {
    throw new SyncError("bad_request", `Attio cannot take this value for ${field}: ${refused.message}`, {
      status: 422,
    });
  }
  await deps.salesforce.updateMany(row.sfObject, [{ Id: row.sfRecordId, [field]: value }]).then((results) => {
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) throw failed.error;
  });
  if (Object.keys(write.values).length > 0)
    await deps.attio.updateRecord(row.attioObject, row.attioRecordId, write.values);

  const pair = (await pairsByAttio(deps.db, row.attioObject, [row.attioRecordId])).get(row.attioRecordId);
  const base = pair?.base ?? { attio: {}, salesforce: {} };
  await savePair(deps.db, {
    mapping: {
      id: row.id,
      attioObject: row.attioObject,
      attioRecordId: row.attioRecordId,
      sfObject: row.sfObject,
      sfRecordId: row.sfRecordId,
    },
    base: { attio: { ...base.attio, [field]: value }, salesforce: { ...base.salesforce, [field]: value } },
    direction: "none",
    sfSystemModstamp: pair?.sfSystemModstamp ?? null,
    audits: [
      {
        correlationId: `conflict:${conflictId}`,
        direction: "attio_to_sf",
        operation: "update",
        attioObject: row.attioObject,
        attioRecordId: row.attioRecordId,
        sfObject: row.sfObject,
        sfRecordId: row.sfRecordId,
        changes: { [field]: { before: { attio: conflict.attioValue, salesforce: conflict.sfValue }, after: value } },
        sourceEvent: { kind: "conflict.resolved", conflictId, resolution },
        actor,
      },
    ],
  });
  await closeConflict(deps.db, conflictId, { ...resolution, value });
  return { id: conflictId, field, value };
}

/**
 * Approving a held delete deletes the counterpart on the other side; rejecting keeps it. Either way
 * the pair is unlinked, since one of its records is gone.
 */
export async function decideDelete(deps: SyncDeps, deleteId: string, decision: "approve" | "reject", actor: string) {
  const found = await loadPendingDelete(deps.db, deleteId);
  if (!found) throw new SyncError("not_found", `no pending delete ${deleteId}`, { status: 404 });
  return underLeases(deps, [`pair:${found.mappingId}`], async () => {
    const pending = (await loadPendingDelete(deps.db, deleteId)) ?? found;
    if (pending.status !== "pending")
      throw new SyncError("conflict", `delete ${deleteId} was already decided`, { status: 409 });
    return applyDeleteDecision(deps, pending, decision, actor);
  });
}

async function applyDeleteDecision(
  deps: SyncDeps,
  pending: NonNullable<Awaited<ReturnType<typeof loadPendingDelete>>>,
  decision: "approve" | "reject",
  actor: string,
) {
  const deleteId = pending.id;
  const row = await pairById(deps.db, pending.mappingId);
  if (row && decision === "approve") await confirmStillGone(deps, row, pending.deletedOn);
  if (row && decision === "approve") {
    if (pending.deletedOn === "attio") await deps.salesforce.delete(row.sfObject, row.sfRecordId);
    else await deps.attio.deleteRecord(row.attioObject, row.attioRecordId);
  }
  if (row) {
    await unlinkPair(deps.db, row.id);
    await insertAudit(deps.db, {
      correlationId: `delete:${deleteId}`,
      mappingId: row.id,
      direction: pending.deletedOn === "attio" ? "attio_to_sf" : "sf_to_attio",
      operation: "delete",
      attioObject: row.attioObject,
      attioRecordId: row.attioRecordId,
      sfObject: row.sfObject,
      sfRecordId: row.sfRecordId,
      changes: {},
      sourceEvent: { kind: "delete.decided", deleteId, decision },
      actor,
    });
  }
  const status = decision === "approve" ? "approved" : "rejected";
  await decidePendingDelete(deps.db, deleteId, status);
  return { id: deleteId, status };
}

/** Deletes of a batch decided per call: each is a few API calls, within one request's limits. */
const BATCH_DECISIONS_PER_CALL = 200;

/**
 * Decides every pending delete of a batch the mass-delete circuit breaker held, one by one as
 * `decideDelete` does (each under its pair's lease, an approval re-checked). A delete that cannot
 * be decided now (its pair busy, its record back) is listed with why and stays pending; at most
 * BATCH_DECISIONS_PER_CALL per call, `remaining` says how many are left.
 */
export async function decideDeleteBatch(
  deps: SyncDeps,
  batchId: string,
  decision: "approve" | "reject",
  actor: string,
) {
  const { ids, total } = await pendingOfBatch(deps.db, batchId, BATCH_DECISIONS_PER_CALL);
  if (total === 0) throw new SyncError("not_found", `no pending deletes in batch ${batchId}`, { status: 404 });
  let decided = 0;
  const refused: { id: string; code: string; message: string }[] = [];
  for (const id of ids) {
    try {
      await decideDelete(deps, id, decision, actor);
      decided += 1;
    } catch (thrown) {
      const error = toSyncError(thrown);
      refused.push({ id, code: error.code, message: error.message });
    }
  }
  return { batch_id: batchId, decision, decided, refused, remaining: total - decided };
}

/**
 * Before an approved delete destroys the counterpart, the deleted record is checked again: it must
 * still be gone (Attio: a read by id answers 404; Salesforce: in the Recycle Bin per queryAll). A
 * record restored since, or one only hidden from the integration user, is not a delete: 409.
 */
async function confirmStillGone(
  deps: SyncDeps,
  row: NonNullable<Awaited<ReturnType<typeof pairById>>>,
  deletedOn: "attio" | "salesforce",
): Promise<void> {
  if (deletedOn === "attio") {
    if ((await deps.attio.getRecord(row.attioObject, row.attioRecordId)) === null) return;
    throw new SyncError(
      "conflict",
      `Attio ${row.attioObject} record ${row.attioRecordId} exists again (restored?): nothing was deleted; reject this delete to keep both records`,
      { status: 409 },
    );
  }
  const binned = await deps.salesforce.deletedWithMaster(row.sfObject, [row.sfRecordId], false);
  if (binned.some((r) => r.Id === row.sfRecordId)) return;
  throw new SyncError(
    "conflict",
    `Salesforce ${row.sfObject} ${row.sfRecordId} is not in the Recycle Bin (restored, purged, or hidden from the integration user): nothing was deleted; reject this delete, or delete the Attio record yourself`,
    { status: 409 },
  );
}

/**
 * Links an ambiguous record to the candidate an operator chose; the pair is then synced like any
 * first link (blanks filled, differences per the conflict strategy).
 */
export async function linkMatch(deps: SyncDeps, runtime: Runtime, queue: Queue, matchId: string, candidateId: string) {
  const match = await loadAmbiguousMatch(deps.db, matchId);
  if (!match) throw new SyncError("not_found", `no ambiguous match ${matchId}`, { status: 404 });
  if (match.status !== "open")
    throw new SyncError("conflict", `match ${matchId} was already resolved`, { status: 409 });
  if (!match.candidates.includes(candidateId)) {
    throw new SyncError("bad_request", `${candidateId} is not one of the candidates`, { status: 400 });
  }
  const compiled =
    match.side === "attio" ? runtime.byAttioObject(match.object) : runtime.bySalesforceObject(match.object);
  if (!compiled) throw new SyncError("conflict", `object ${match.object} is no longer mapped`, { status: 409 });
  const attioId = match.side === "attio" ? match.recordId : candidateId;
  const sfId = match.side === "attio" ? candidateId : match.recordId;
  const { name, attio_object: attioObject, salesforce_object: sfObject } = compiled.mapping;
  // The leases the engine takes on both records while neither has a pair (engine/run.ts, match.ts).
  return underLeases(deps, [`attio:${name}:${attioId}`, `salesforce:${name}:${sfId}`], async () => {
    if (await pairIdOfSalesforce(deps.db, sfObject, sfId)) {
      throw new SyncError("conflict", `${sfId} is already linked to another record`, { status: 409 });
    }
    await insertPair(deps.db, { attioObject, attioRecordId: attioId, sfObject, sfRecordId: sfId });
    await resolveAmbiguousMatch(deps.db, matchId);
    await queue.send(internalAttioMessage(attioObject, attioId, "linked by an operator"), { contentType: "json" });
    return {
      id: matchId,
      attio_record_id: attioId,
      salesforce_record_id: sfId,
      attio_object: attioObject,
      salesforce_object: sfObject,
    };
  });
}
