import type { AttioRecord } from "../attio/record-schema.ts";
import type { CompiledMapping, MapOptions } from "../mapping/engine.ts";
import type { FinalDecision, LinkedPair } from "./decision.ts";
import { attioMatchesBase, eventMatchesBase } from "./event-values.ts";
import type { Touch } from "./touch.ts";

/**
 * The "settle without syncing" rules, in the order the engine applies them: each lets a touch end
 * before the work the next step costs (a lease, a read of both sides). Most touches are the echoes
 * of our own writes, so these rules are why a record is often not written: look here first.
 *
 * 1. before_lease: a create event whose values all equal its pair's base is settled. It shows the
 *    record as first committed, so any sync running now read it after that commit (or writes over
 *    it), and every later change has an event of its own. An update event cannot be settled so: it
 *    may revert the record to the base just as a running sync moves the base on, and only the lease
 *    orders the two.
 * 2. before_lease: the echo of a record we just created, whose pair the writer is about to store,
 *    waits (OWN_CREATE_WAITS deliveries, and for as long as a sync job of ours is queued or running:
 *    a job page's creates store their pairs only once the page is written): matching it now would
 *    only race the writer, and a keyless record would be created a second time on the other side.
 * 3. without_read (under the lease, so the base is the latest): a change event whose mapped values
 *    all equal the base (the echo of our own write, an edit of unmapped fields) is settled.
 * 4. attio_read: an Attio webhook on a linked record whose mapped values all equal the base's Attio
 *    side (read from Attio alone: its webhooks carry no values) is settled, and Salesforce is not
 *    read. Changes on Salesforce arrive through its own events and the catch-up.
 */

/** What a settle-early rule can decide: settle now, or wait for our own create's pair. */
export type EarlyDecision = Extract<FinalDecision, { kind: "settle" | "retry" }>;

/** Deliveries during which the echo of our own create waits for its pair before being matched. */
export const OWN_CREATE_WAITS = 2;

/** Seconds the echo of our own create waits before it is delivered again. */
const OWN_CREATE_WAIT_SECONDS = 5;

/** Seconds it waits while a job of ours runs: a job page takes this long or more to write. */
const OWN_CREATE_JOB_WAIT_SECONDS = 30;

/**
 * Rules 1 and 2: with the pair as stored, before taking a lease. `jobRunning`: a sync job of ours is
 * queued or running, so it may have made the record an own-create echo is about.
 */
export function settleBeforeLease(
  compiled: CompiledMapping,
  touch: Touch,
  pair: LinkedPair | undefined,
  jobRunning = false,
): EarlyDecision | undefined {
  if (pair && touch.event?.changeType === "CREATE" && eventMatchesBase(compiled, pair.base, touch.event)) {
    return { kind: "settle", reason: "create_event_matches_base" };
  }
  if (!pair && ownCreateEcho(touch)) {
    if ((touch.attempt ?? 1) <= OWN_CREATE_WAITS) {
      return { kind: "retry", reason: "own_create_waiting", afterSeconds: OWN_CREATE_WAIT_SECONDS };
    }
    if (jobRunning) return { kind: "retry", reason: "own_create_waiting", afterSeconds: OWN_CREATE_JOB_WAIT_SECONDS };
  }
  return undefined;
}

/** Rule 3: under the lease, before reading either side. */
export function settleWithoutRead(
  compiled: CompiledMapping,
  touch: Touch,
  pair: LinkedPair | undefined,
): EarlyDecision | undefined {
  if (touch.event && pair && eventMatchesBase(compiled, pair.base, touch.event)) {
    return { kind: "settle", reason: "event_matches_base" };
  }
  return undefined;
}

/** Whether rule 4 applies to a touch: an Attio webhook (not our own re-read request) on a linked record. */
export function attioEchoCandidate(touch: Touch, pair: LinkedPair | undefined): pair is LinkedPair {
  const { origin } = touch;
  return (
    touch.side === "attio" &&
    pair?.base != null &&
    !touch.deleted &&
    !touch.mergedFrom?.length &&
    origin.kind === "attio_webhook" &&
    (origin.eventType === "record.created" || origin.eventType === "record.updated")
  );
}

/** Rule 4: with the Attio record read. */
export function settleOnAttio(
  compiled: CompiledMapping,
  touch: Touch,
  pair: LinkedPair | undefined,
  attio: AttioRecord | null | undefined,
  options: MapOptions,
): EarlyDecision | undefined {
  if (!attioEchoCandidate(touch, pair) || !attio) return undefined;
  return attioMatchesBase(compiled, pair.base, attio.values, options)
    ? { kind: "settle", reason: "attio_matches_base" }
    : undefined;
}

/** A Salesforce create event of our own write (rule 2 applies to it while it has no pair). */
export function ownCreateEcho(touch: Touch): boolean {
  return touch.event?.changeType === "CREATE" && touch.origin.kind === "salesforce_event" && touch.origin.ownChange;
}
