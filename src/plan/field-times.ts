import type { CompiledMapping } from "../mapping/engine.ts";
import { salesforceSide } from "./canon.ts";
import { type ChangeEventValues, flatFieldName, flattenEventFields } from "./event-values.ts";
import { sameValue } from "./plan-fields.ts";

/**
 * When each Salesforce field got its value, from the change events themselves. Pure.
 *
 * `last_write` needs a per-field time on both sides. Attio gives one (each value's active_from);
 * a Salesforce record gives only LastModifiedDate, which any later change to the record moves,
 * our own writes of other fields included. A change event names the fields it changed, with their
 * new values and its commit time: that is the per-field time, as long as the field still holds the
 * value the event gave it (a later change whose event never reached us makes the time unknown).
 * /webhooks/salesforce keeps them in D1 as events arrive (store/field-times.ts), so the engine has
 * them whichever message starts a run: the event itself, the other side's webhook, a catch-up, a
 * parked change sent again.
 */
export interface FieldTime {
  /** The event's commitTimestamp, epoch milliseconds. */
  at: number;
  /** The value the event gave the field (raw, as the event carries it). */
  value: unknown;
}

/** Per flat Salesforce field name (`BillingCity`, not `BillingAddress.City`). */
export type FieldTimes = Readonly<Record<string, FieldTime>>;

/**
 * The fields a CREATE or UPDATE event set, each with the event's commit time: an UPDATE's changed
 * and nulled fields whose values it carries, a CREATE's fields it carries.
 */
export function eventFieldTimes(event: ChangeEventValues, commitTimestamp: number): FieldTimes {
  const flat = flattenEventFields(event.fields);
  const times: Record<string, FieldTime> = {};
  if (!Number.isFinite(commitTimestamp)) return times;
  if (event.changeType === "CREATE") {
    for (const [field, value] of Object.entries(flat)) times[field] = { at: commitTimestamp, value };
    return times;
  }
  for (const name of event.changedFields) {
    const field = flatFieldName(name);
    if (field in flat) times[field] = { at: commitTimestamp, value: flat[field] };
  }
  for (const name of event.nulledFields) times[flatFieldName(name)] = { at: commitTimestamp, value: null };
  return times;
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
    if (!(field in now) || !(field in fromEvents)) continue;
    if (sameValue(fromEvents[field], now[field])) out[field] = new Date(time.at).toISOString();
  }
  return out;
}
