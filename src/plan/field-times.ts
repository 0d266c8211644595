import type { CompiledMapping } from "../mapping/engine.ts";
import { salesforceFieldsOf, salesforceSide } from "./canon.ts";
import { type ChangeEventValues, flatFieldName, flattenEventFields } from "./event-values.ts";
import { sameValue } from "./plan-fields.ts";
import type { Touch } from "./touch.ts";

/**
 * When each Salesforce field got its value, from the change events themselves. Pure.
 *
 * `last_write` needs a per-field time on both sides. Attio gives one (each value's active_from);
 * a Salesforce record gives only LastModifiedDate, which any later change to the record moves,
 * our own writes of other fields included. A change event names the fields it changed, with their
 * new values and its commit time: that is the per-field time, as long as the field still holds the
 * value the event gave it (a later change whose event never reached us makes the time unknown again).
 */
export interface FieldTime {
  /** The event's commitTimestamp, epoch milliseconds. */
  at: number;
  /** The value the event gave the field (flat field name, raw as the event carries it). */
  value: unknown;
}

/** Per flat Salesforce field name. */
export type FieldTimes = Readonly<Record<string, FieldTime>>;

/**
 * The fields a CREATE or UPDATE event set, each with the event's commit time. A CREATE sets every
 * field, so a mapped field it does not carry was set to null.
 */
export function fieldTimesOf(
  compiled: CompiledMapping,
  event: ChangeEventValues,
  commitTimestamp: number,
): FieldTimes | undefined {
  if (!Number.isFinite(commitTimestamp)) return undefined;
  const flat = flattenEventFields(event.fields);
  const times: Record<string, FieldTime> = {};
  if (event.changeType === "CREATE") {
    for (const field of salesforceFieldsOf(compiled))
      times[field] = { at: commitTimestamp, value: flat[field] ?? null };
    return times;
  }
  for (const name of event.changedFields) {
    const field = flatFieldName(name);
    if (field in flat) times[field] = { at: commitTimestamp, value: flat[field] };
  }
  for (const name of event.nulledFields) times[flatFieldName(name)] = { at: commitTimestamp, value: null };
  return Object.keys(times).length > 0 ? times : undefined;
}

/** Two events' times for one record: per field, the later event's. */
export function mergeFieldTimes(a: FieldTimes | undefined, b: FieldTimes | undefined): FieldTimes | undefined {
  if (!a) return b;
  if (!b) return a;
  const merged: Record<string, FieldTime> = { ...a };
  for (const [field, time] of Object.entries(b)) {
    const earlier = merged[field];
    if (!earlier || time.at >= earlier.at) merged[field] = time;
  }
  return merged;
}

/**
 * The change time (ISO) of each mapped field whose current value is the one an event gave it.
 * A field whose value differs from its event's (changed again since, unseen) gets no time here:
 * the planner falls back to the record's LastModifiedDate.
 */
export function fieldChangedAt(
  compiled: CompiledMapping,
  times: FieldTimes | undefined,
  current: Readonly<Record<string, unknown>>,
): Record<string, string> {
  if (!times) return {};
  const raw: Record<string, unknown> = {};
  for (const [field, time] of Object.entries(times)) raw[field] = time.value;
  const fromEvents = salesforceSide(compiled, raw);
  const now = salesforceSide(compiled, current);
  const out: Record<string, string> = {};
  for (const [field, time] of Object.entries(times)) {
    if (!(field in now)) continue;
    if (sameValue(fromEvents[field], now[field])) out[field] = new Date(time.at).toISOString();
  }
  return out;
}

/** Each Salesforce record's field times, from all of a run's touches of it. */
export function fieldTimesByRecord(touches: readonly Touch[]): Map<string, FieldTimes> {
  const byRecord = new Map<string, FieldTimes>();
  for (const touch of touches) {
    if (touch.side !== "salesforce" || !touch.fieldTimes) continue;
    const merged = mergeFieldTimes(byRecord.get(touch.recordId), touch.fieldTimes);
    if (merged) byRecord.set(touch.recordId, merged);
  }
  return byRecord;
}
