import { isOwnChange } from "../salesforce/change-origin.ts";
import type { SyncDeps } from "./deps.ts";
import type { SalesforceChangeMessage } from "./messages.ts";

export type SalesforceChangeOutcome = { status: "skipped"; reason: string };

/**
 * Salesforce -> Attio is not built yet: the foundation only carries change events through the
 * queue so that the contract between relay, route and consumer is exercised end to end. Events are
 * acknowledged with the reason logged; the scheduled catch-up (SystemModstamp cursor) is what will
 * recover every change made meanwhile once the sync engine exists, so none is lost for good.
 */
export async function handleSalesforceChange(
  deps: SyncDeps,
  message: SalesforceChangeMessage,
): Promise<SalesforceChangeOutcome> {
  if (deps.config.SYNC_DIRECTION === "attio_to_sf") return { status: "skipped", reason: "direction is attio_to_sf" };
  const own = isOwnChange(message.header.changeOrigin, deps.config.SALESFORCE_CLIENT_NAME);
  return {
    status: "skipped",
    reason: `Salesforce -> Attio sync is not built yet (${message.header.entityName} ${message.header.changeType}${own ? ", our own write" : ""})`,
  };
}
