import { SyncError } from "../lib/errors.ts";
import type { FinalDecision, LinkedPair, RecordFacts } from "../plan/decision.ts";
import type { Touch } from "../plan/touch.ts";
import { actorOf } from "../plan/touch.ts";
import { insertAudit } from "../store/audit.ts";
import { holdDelete } from "../store/deletes.ts";
import { movePair, unlinkPair } from "../store/pairs.ts";
import { done, type RunContext } from "./context.ts";

type DeleteDecision = Extract<FinalDecision, { kind: "delete" | "hold_delete" | "follow_merge" }>;

/** Executes a decision about a linked record gone on one side: delete, hold, or follow a merge. */
export async function executeDelete(
  run: RunContext,
  touch: Touch,
  pair: LinkedPair,
  decision: DeleteDecision,
): Promise<void> {
  switch (decision.kind) {
    case "hold_delete": {
      const held = await holdDelete(run.deps.db, pair.mapping.id, decision.on, {
        reason: decision.reason,
        batchId: decision.reason === "mass_delete" ? decision.batch : null,
      });
      done(run, touch, "hold_delete", { detail: holdDetail(decision, held) });
      return;
    }
    case "delete":
      await deleteAndUnlink(run, touch, pair, decision);
      return;
    case "follow_merge":
      await followSalesforceMerge(run, touch, pair, decision.master);
      return;
  }
}

function holdDetail(decision: Extract<DeleteDecision, { kind: "hold_delete" }>, held: boolean): string {
  switch (decision.reason) {
    case "merged_into_linked":
      return `merged in Salesforce into ${decision.master}, which is linked to another record: held for a person`;
    case "mass_delete":
      return `${decision.count} deletes in one run, more than the ${decision.threshold} allowed: all held for approval as batch ${decision.batch}`;
    case "policy":
      return held ? `delete on ${decision.on} held for approval` : "delete already held";
  }
}

/**
 * A linked Salesforce record the integration user can no longer see: not returned by a query and
 * not in the Recycle Bin. Reported as a failure (an operator can replay it once sharing is fixed);
 * nothing is deleted and the pair stays.
 */
export function notVisible(run: RunContext, facts: RecordFacts): SyncError {
  const { mapping } = run.compiled;
  const sfId = facts.pair?.mapping.sfRecordId ?? facts.touch.recordId;
  return new SyncError(
    "not_found",
    `${mapping.salesforce_object} ${sfId} is not visible to the integration user: a query does not return it and it is not deleted (queryAll). Sharing or permissions changed? Nothing was deleted; the pair stays linked.`,
    {
      retryable: false,
      detail: { reason: "not_visible", salesforce_object: mapping.salesforce_object, sf_record_id: sfId },
    },
  );
}

async function deleteAndUnlink(
  run: RunContext,
  touch: Touch,
  pair: LinkedPair,
  decision: Extract<DeleteDecision, { kind: "delete" }>,
): Promise<void> {
  const { mapping } = run.compiled;
  if (decision.policy === "propagate") {
    if (decision.on === "attio") await run.deps.salesforce.delete(mapping.salesforce_object, pair.mapping.sfRecordId);
    else await run.deps.attio.deleteRecord(mapping.attio_object, pair.mapping.attioRecordId);
  }
  await unlinkPair(run.deps.db, pair.mapping.id);
  await insertAudit(run.deps.db, {
    correlationId: touch.correlationId,
    mappingId: pair.mapping.id,
    direction: decision.on === "attio" ? "attio_to_sf" : "sf_to_attio",
    operation: "delete",
    attioObject: mapping.attio_object,
    attioRecordId: pair.mapping.attioRecordId,
    sfObject: mapping.salesforce_object,
    sfRecordId: pair.mapping.sfRecordId,
    changes: {},
    sourceEvent: touch.origin,
    actor: actorOf(touch.origin),
  });
  const other = decision.on === "attio" ? "salesforce" : "attio";
  if (decision.policy === "propagate") done(run, touch, "delete", { detail: `deleted on ${other} too` });
  else done(run, touch, "unlink", { detail: "unlinked (delete ignored)" });
}

/**
 * A Salesforce record that lost a merge: the pair moves to the surviving record, whose values are
 * then synced like a first link.
 */
async function followSalesforceMerge(run: RunContext, touch: Touch, pair: LinkedPair, master: string): Promise<void> {
  const { mapping } = run.compiled;
  await movePair(run.deps.db, pair.mapping.id, { sfRecordId: master });
  await insertAudit(run.deps.db, {
    correlationId: touch.correlationId,
    mappingId: pair.mapping.id,
    direction: "sf_to_attio",
    operation: "link",
    attioObject: mapping.attio_object,
    attioRecordId: pair.mapping.attioRecordId,
    sfObject: mapping.salesforce_object,
    sfRecordId: master,
    changes: { Id: { before: pair.mapping.sfRecordId, after: master } },
    sourceEvent: { ...touch.origin, merge: { loser: pair.mapping.sfRecordId, master } },
    actor: actorOf(touch.origin),
  });
  await run.options.requestSync("salesforce", mapping.salesforce_object, master);
  done(run, touch, "follow_merge", { detail: `merged in Salesforce into ${master}: the pair moved to it` });
}
