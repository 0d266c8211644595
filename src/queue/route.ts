import type { CompiledMapping } from "../mapping/engine.ts";
import type { ChangeEventValues } from "../plan/event-values.ts";
import type { Origin, Touch } from "../plan/touch.ts";
import { isOwnChange } from "../salesforce/change-origin.ts";
import type { SyncDeps } from "../sync/deps.ts";
import type { DrainMessage, JobPageMessage, SyncMessage } from "../sync/messages.ts";
import type { Runtime } from "../sync/runtime.ts";

/** Where a queue message goes: touches of one mapping, a catch-up request, or nowhere (and why). */
export type Route =
  | { kind: "touches"; compiled: CompiledMapping; touches: Touch[] }
  | { kind: "catchup"; salesforceObject: string; reason: string }
  | { kind: "job"; message: JobPageMessage }
  | { kind: "drain"; message: DrainMessage }
  | { kind: "skip"; reason: string };

/** Turns one message into the records it touches. Attio messages name the object by id: resolved here. */
export async function routeMessage(deps: SyncDeps, runtime: Runtime, message: SyncMessage): Promise<Route> {
  switch (message.kind) {
    case "attio.record": {
      const object = await deps.attio.getObject(message.objectId);
      const compiled = runtime.byAttioObject(object.api_slug);
      if (!compiled) return { kind: "skip", reason: `Attio object ${object.api_slug} is not mapped` };
      const touch: Touch = {
        side: "attio",
        recordId: message.recordId,
        deleted: message.eventType === "record.deleted",
        mergedFrom:
          message.eventType === "record.merged" && message.duplicateRecordId ? [message.duplicateRecordId] : undefined,
        correlationId: message.correlationId,
        origin: message.internal
          ? { kind: "internal", reason: message.internal.reason }
          : { kind: "attio_webhook", eventType: message.eventType, actor: message.actor, dedupeKey: message.dedupeKey },
      };
      return { kind: "touches", compiled, touches: [touch] };
    }
    case "salesforce.change": {
      const { header } = message;
      const compiled = runtime.bySalesforceObject(header.entityName);
      if (!compiled) return { kind: "skip", reason: `Salesforce object ${header.entityName} is not mapped` };
      const ids = header.recordIds.filter((id) => !id.includes("*"));
      // Overflow events and wildcard ids name no records: only a catch-up can find what changed.
      if (header.changeType === "GAP_OVERFLOW" || ids.length === 0) {
        return {
          kind: "catchup",
          salesforceObject: header.entityName,
          reason: `${header.changeType} without record ids`,
        };
      }
      const origin: Origin = message.internal
        ? { kind: "internal", reason: message.internal.reason }
        : {
            kind: "salesforce_event",
            changeType: header.changeType,
            changeOrigin: header.changeOrigin,
            commitUser: header.commitUser,
            replayId: message.replayId,
            dedupeKey: message.dedupeKey,
            // Our own write's echo is still compared with the base: automation in the same
            // transaction may have changed other fields.
            ownChange: isOwnChange(header.changeOrigin, deps.config.SALESFORCE_CLIENT_NAME),
          };
      const touches = ids.map(
        (recordId): Touch => ({
          side: "salesforce",
          recordId,
          deleted: header.changeType === "DELETE" || header.changeType === "GAP_DELETE",
          correlationId: message.correlationId,
          origin,
          event: eventValues(message),
        }),
      );
      return { kind: "touches", compiled, touches };
    }
    case "records.sync": {
      const compiled = runtime.mappings.find((m) => m.mapping.name === message.mapping);
      if (!compiled) return { kind: "skip", reason: `mapping ${message.mapping} is not enabled` };
      const origin: Origin = message.jobId
        ? { kind: "job", jobId: message.jobId, reason: message.reason }
        : { kind: "internal", reason: message.reason };
      const touches = [...new Set(message.recordIds)].map(
        (recordId): Touch => ({
          side: message.side,
          recordId,
          deleted: false,
          correlationId: message.correlationId,
          origin,
        }),
      );
      return { kind: "touches", compiled, touches };
    }
    case "catchup.run":
      return { kind: "catchup", salesforceObject: message.salesforceObject, reason: message.reason };
    case "job.page":
      return { kind: "job", message };
    case "parked.drain":
      return { kind: "drain", message };
  }
}

/**
 * The values a relayed CREATE or UPDATE event carries, for the engine's no-read check. Internal
 * messages (jobs, catch-up, deferred parents) are synthetic "re-read this" events: they carry none.
 */
function eventValues(message: Extract<SyncMessage, { kind: "salesforce.change" }>): ChangeEventValues | undefined {
  const { header } = message;
  if (message.internal) return undefined;
  if (header.changeType !== "CREATE" && header.changeType !== "UPDATE") return undefined;
  if (Object.keys(message.fields).length === 0) return undefined;
  return {
    changeType: header.changeType,
    changedFields: header.changedFields,
    nulledFields: header.nulledFields,
    fields: message.fields,
  };
}
