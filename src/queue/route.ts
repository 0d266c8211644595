import type { Touch } from "../engine/run.ts";
import type { CompiledMapping } from "../mapping/engine.ts";
import type { ChangeEventValues } from "../plan/event-values.ts";
import { isOwnChange } from "../salesforce/change-origin.ts";
import type { SyncDeps } from "../sync/deps.ts";
import type { JobPageMessage, SyncMessage } from "../sync/messages.ts";
import type { Runtime } from "../sync/runtime.ts";

/** Where a queue message goes: touches of one mapping, a catch-up request, or nowhere (and why). */
export type Route =
  | { kind: "touches"; compiled: CompiledMapping; touches: Touch[] }
  | { kind: "catchup"; salesforceObject: string; reason: string }
  | { kind: "job"; message: JobPageMessage }
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
        sourceEvent: { kind: message.kind, eventType: message.eventType, dedupeKey: message.dedupeKey },
        actor: `${message.actor.type}:${message.actor.id ?? "-"}`,
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
      const touches = ids.map(
        (recordId): Touch => ({
          side: "salesforce",
          recordId,
          deleted: header.changeType === "DELETE" || header.changeType === "GAP_DELETE",
          correlationId: message.correlationId,
          sourceEvent: {
            kind: message.kind,
            changeType: header.changeType,
            changeOrigin: header.changeOrigin,
            dedupeKey: message.dedupeKey,
            replayId: message.replayId,
            // Our own write's echo is still compared with the base: automation in the same
            // transaction may have changed other fields.
            ownChange: isOwnChange(header.changeOrigin, deps.config.SALESFORCE_CLIENT_NAME),
          },
          actor: `salesforce-user:${header.commitUser ?? "-"}`,
          event: eventValues(message),
        }),
      );
      return { kind: "touches", compiled, touches };
    }
    case "records.sync": {
      const compiled = runtime.mappings.find((m) => m.mapping.name === message.mapping);
      if (!compiled) return { kind: "skip", reason: `mapping ${message.mapping} is not enabled` };
      const actor = message.jobId ? `job:${message.jobId}` : "app:attio-sfdc";
      const touches = [...new Set(message.recordIds)].map(
        (recordId): Touch => ({
          side: message.side,
          recordId,
          deleted: false,
          correlationId: message.correlationId,
          sourceEvent: { kind: message.kind, reason: message.reason, dedupeKey: message.dedupeKey },
          actor,
        }),
      );
      return { kind: "touches", compiled, touches };
    }
    case "catchup.run":
      return { kind: "catchup", salesforceObject: message.salesforceObject, reason: message.reason };
    case "job.page":
      return { kind: "job", message };
  }
}

/**
 * The values a relayed CREATE or UPDATE event carries, for the engine's no-read check. Internal
 * messages (jobs, catch-up, deferred parents) are synthetic "re-read this" events: they carry none.
 */
function eventValues(message: Extract<SyncMessage, { kind: "salesforce.change" }>): ChangeEventValues | undefined {
  const { header } = message;
  if (message.replayId === "internal" || message.dedupeKey.startsWith("internal:")) return undefined;
  if (header.changeType !== "CREATE" && header.changeType !== "UPDATE") return undefined;
  if (Object.keys(message.fields).length === 0) return undefined;
  return {
    changeType: header.changeType,
    changedFields: header.changedFields,
    nulledFields: header.nulledFields,
    fields: message.fields,
  };
}
