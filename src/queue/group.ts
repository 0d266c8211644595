import type { AttioRecord } from "../attio/record-schema.ts";
import type { CompiledMapping } from "../mapping/engine.ts";
import type { Touch } from "../plan/touch.ts";
import type { SyncMessage } from "../sync/messages.ts";

/** Which engine run a touched record joins. */
export interface GroupKey {
  mapping: string;
  /** A dry run's records are planned apart from live ones. */
  dryRun: boolean;
  /** A job's records matched through its match index, on their first delivery. */
  matchIndex?: { jobId: string; since: string };
  /** A job page's listed Attio records: each message its own run (a page's two run side by side). */
  part?: number;
  /** The records of a mass-update hold a person decided run apart, with that decision. */
  release?: { hold: string; decision: "approve" | "reject" };
}

/** The touched records of one engine run, coalesced: one Touch per record however many messages named it. */
export interface Group {
  key: GroupKey;
  compiled: CompiledMapping;
  touches: Map<string, Touch>;
  /** The Attio records a job page listed moments ago, not to be read again. */
  listed: Map<string, AttioRecord>;
}

/** One message routed to its mapping, with what the route learnt. */
export interface TouchRoute {
  message: SyncMessage;
  /** How many times the queue delivered the message. */
  attempts: number;
  compiled: CompiledMapping;
  touches: readonly Touch[];
  /** For a job's listing message: the records its page listed (jobs/listed.ts). */
  listed?: ReadonlyMap<string, AttioRecord> | undefined;
}

/** A record a message touched: its group, and the key of its touch there. */
export interface TouchRef {
  group: Group;
  touchKey: string;
  side: Touch["side"];
  recordId: string;
}

/**
 * Groups the routed messages' touches into engine runs. Pure: messages in, groups out, and for each
 * message the records it touched. Several events about one record in a batch are synced once (the
 * latest event wins; every merge is remembered).
 */
export function groupTouches(routes: readonly TouchRoute[]): { groups: Group[]; refs: TouchRef[][] } {
  const groups = new Map<string, Group>();
  /** Records a message other than a job's listing names: they may have changed since a page listed them. */
  const mustRead = new Set<string>();
  const refs = routes.map((route, index) => {
    const key = groupKeyOf(route, index);
    const id = groupId(key);
    const group = groups.get(id) ?? { key, compiled: route.compiled, touches: new Map(), listed: new Map() };
    groups.set(id, group);
    if (route.listed) for (const [recordId, record] of route.listed) group.listed.set(recordId, record);
    else for (const touch of route.touches) mustRead.add(JSON.stringify([key.mapping, touch.recordId]));
    return route.touches.map((touch): TouchRef => {
      const touchKey = `${touch.side}:${touch.recordId}`;
      const earlier = group.touches.get(touchKey);
      group.touches.set(touchKey, {
        ...touch,
        attempt: route.attempts,
        // A merge into a new record sends one record.merged per original: all are kept.
        mergedFrom: mergedFromBoth(earlier?.mergedFrom, touch.mergedFrom),
        // One event's values say nothing about another's: a record named twice is always read.
        event: earlier ? undefined : touch.event,
      });
      return { group, touchKey, side: touch.side, recordId: touch.recordId };
    });
  });
  for (const group of groups.values()) {
    for (const recordId of group.listed.keys()) {
      if (mustRead.has(JSON.stringify([group.key.mapping, recordId]))) group.listed.delete(recordId);
    }
  }
  return { groups: [...groups.values()], refs };
}

function groupKeyOf(route: TouchRoute, index: number): GroupKey {
  const { message } = route;
  const jobRecords = message.kind === "records.sync" && message.jobId ? message : undefined;
  // Only a first delivery uses the index: a redelivered message may follow our own creates, which
  // the index (a snapshot that ignores the integration user's changes) cannot see.
  const indexed =
    jobRecords?.jobId && jobRecords.matchIndexSince && route.attempts === 1
      ? { jobId: jobRecords.jobId, since: jobRecords.matchIndexSince }
      : undefined;
  return {
    mapping: route.compiled.mapping.name,
    dryRun: "dryRun" in message && message.dryRun === true,
    ...(indexed ? { matchIndex: indexed } : {}),
    ...(jobRecords?.side === "attio" ? { part: index } : {}),
    ...(message.kind === "records.sync" && message.release ? { release: message.release } : {}),
  };
}

/** A group's identity: its key's parts (a Map key, never parsed back). */
function groupId(key: GroupKey): string {
  return JSON.stringify([
    key.mapping,
    key.dryRun,
    key.matchIndex?.jobId ?? null,
    key.part ?? null,
    key.release?.hold ?? null,
    key.release?.decision ?? null,
  ]);
}

function mergedFromBoth(
  earlier: readonly string[] | undefined,
  later: readonly string[] | undefined,
): readonly string[] | undefined {
  if (!earlier) return later;
  if (!later) return earlier;
  return [...new Set([...earlier, ...later])];
}
