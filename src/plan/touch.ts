import type { AttioActor } from "../attio/webhook-schema.ts";
import type { ChangeType } from "../salesforce/cdc-schema.ts";
import type { ChangeEventValues } from "./event-values.ts";

/**
 * Where a change came from. The engine's echo short-cuts and the audit log read it; nothing infers
 * it from a message's key or id.
 */
export type Origin =
  | {
      kind: "attio_webhook";
      eventType: "record.created" | "record.updated" | "record.deleted" | "record.merged";
      actor: AttioActor;
      dedupeKey: string;
    }
  | {
      kind: "salesforce_event";
      changeType: ChangeType;
      changeOrigin: string;
      commitUser: string | undefined;
      replayId: string;
      dedupeKey: string;
      /** Our own write (its changeOrigin names our client): its echo, unless automation changed more. */
      ownChange: boolean;
    }
  /** A job listed the record. */
  | { kind: "job"; jobId: string; reason: string }
  /** The Worker asked itself (catch-up, the parent of a deferred reference, an operator's action). */
  | { kind: "internal"; reason: string };

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
  origin: Origin;
  /** The field values a Salesforce change event carried, when it lists them (see event-values.ts). */
  event?: ChangeEventValues | undefined;
  /** How many times the queue delivered the message (1 the first time). */
  attempt?: number | undefined;
}

/** Who made the change, as the audit log names it. */
export function actorOf(origin: Origin): string {
  switch (origin.kind) {
    case "attio_webhook":
      return `${origin.actor.type}:${origin.actor.id ?? "-"}`;
    case "salesforce_event":
      return `salesforce-user:${origin.commitUser ?? "-"}`;
    case "job":
      return `job:${origin.jobId}`;
    case "internal":
      return "app:attio-sfdc";
  }
}
