import {
  type AttioChangeMessage,
  internalSalesforceMessage,
  type SalesforceChangeMessage,
} from "../../src/sync/messages.ts";
import { PEOPLE_OBJECT_ID } from "./fake-attio.ts";

let counter = 0;

/** A queue message for an Attio person event, as the webhook route would enqueue it. */
export function personChanged(recordId: string, overrides: Partial<AttioChangeMessage> = {}): AttioChangeMessage {
  counter += 1;
  return {
    kind: "attio.record",
    eventType: "record.updated",
    objectId: PEOPLE_OBJECT_ID,
    recordId,
    actor: { type: "workspace-member", id: "9d4a1f0e-2c3b-4d5e-8f6a-7b8c9d0e1f23" },
    dedupeKey: `attio:test-delivery-${counter}:0`,
    correlationId: `test-${counter}`,
    receivedAt: new Date().toISOString(),
    ...overrides,
  };
}

/**
 * A Salesforce change event for `recordIds` as the relay would post it (not one of the Worker's own
 * re-read requests), to be completed with the header and fields a test needs.
 */
export function relayedChange(entityName: string, recordIds: string | string[]): SalesforceChangeMessage {
  const { internal: _, ...relayed } = internalSalesforceMessage(entityName, recordIds);
  return relayed;
}
