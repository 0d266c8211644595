import type { SyncError } from "../lib/errors.ts";
import { salesforceSide } from "../plan/canon.ts";
import { rejectedFields, type SaveErrorItem, withoutRejected } from "../plan/field-rejections.ts";
import type { SaveOutcome, SObjectFields } from "../salesforce/client.ts";
import type { PendingWrite, RunContext } from "./context.ts";

/**
 * Saves records to Salesforce; a record refused only for some of its fields' values (see
 * plan/field-rejections.ts) is saved once more without them. When that second save succeeds, its
 * plan no longer writes those fields (nor takes them into the base) and each becomes a warning on
 * the record. The result at index i belongs to records[i], as `save` returns them.
 */
export async function saveDroppingRejected<R extends SObjectFields>(
  run: RunContext,
  items: readonly PendingWrite[],
  records: readonly R[],
  save: (records: readonly R[]) => Promise<SaveOutcome[]>,
): Promise<SaveOutcome[]> {
  const results = await save(records);
  const again: { index: number; fields: string[] }[] = [];
  for (const [index, result] of results.entries()) {
    const item = items[index];
    if (!item || !result || result.ok) continue;
    const fields = rejectedFields(errorsOf(result.error), Object.keys(item.decision.plan.toSalesforce));
    if (fields) again.push({ index, fields });
  }
  if (again.length === 0) return results;
  const retried = await save(again.map(({ index, fields }) => without(records[index] as R, fields)));
  for (const [n, { index, fields }] of again.entries()) {
    const item = items[index];
    const result = retried[n];
    const refusal = results[index];
    if (!item || !result || !refusal || refusal.ok) continue;
    results[index] = result;
    if (result.ok) dropFields(run, item, fields, refusal.error);
  }
  return results;
}

/** The errors a refusal names (salesforce/errors.ts saveError keeps them all in its detail). */
function errorsOf(error: SyncError): SaveErrorItem[] {
  const errors = error.detail["errors"];
  return Array.isArray(errors) ? (errors as SaveErrorItem[]) : [];
}

function without<R extends SObjectFields>(record: R, fields: readonly string[]): R {
  const copy = { ...record };
  for (const field of fields) delete copy[field];
  return copy;
}

/** The record was written without `fields`: its plan says so, and each field is a warning. */
function dropFields(run: RunContext, item: PendingWrite, fields: readonly string[], refusal: SyncError): void {
  const { plan, salesforce } = item.decision;
  const read = salesforce ? salesforceSide(run.compiled, salesforce) : undefined;
  const errors = errorsOf(refusal);
  item.decision = {
    ...item.decision,
    plan: withoutRejected(plan, fields, { base: item.pair?.base ?? undefined, salesforce: read }),
  };
  run.seen.push({
    touch: item.touch,
    direction: "attio_to_sf",
    issues: fields.map((field) => {
      const error = errors.find((e) => e.fields.includes(field));
      return {
        code: "rejected_by_salesforce" as const,
        attio: run.compiled.fields.find((f) => f.spec.salesforce === field)?.spec.attio ?? field,
        salesforce: field,
        message: `Salesforce refused the value: ${error?.code ?? ""} ${error?.message ?? ""}`.trim(),
        value: plan.toSalesforce[field] ?? null,
      };
    }),
    fields,
    ids: item.ids,
  });
}
