import type { ChangeEvent } from "../salesforce/cdc-schema.ts";
import type { SalesforceChangeMessage } from "../sync/messages.ts";

/** The queue message of one relayed change event. */
export function toMessage(event: ChangeEvent, correlationId: string, receivedAt: string): SalesforceChangeMessage {
  const { ChangeEventHeader: header, ...fields } = event.payload;
  // transactionKey + sequenceNumber identify one change; a redelivered event repeats both.
  const dedupeKey = `salesforce:${header.transactionKey}:${header.sequenceNumber}:${header.entityName}`;
  return {
    kind: "salesforce.change",
    header,
    fields,
    replayId: String(event.event.replayId),
    dedupeKey,
    correlationId: `${correlationId}:${header.transactionKey}:${header.sequenceNumber}`,
    receivedAt,
  };
}
