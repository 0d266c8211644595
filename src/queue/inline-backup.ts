import type { EnvConfig } from "../config/env.ts";
import { openDb } from "../store/db.ts";
import { handledInline } from "../store/inbound-events.ts";
import type { AttioChangeMessage, SalesforceChangeMessage, SyncMessage } from "../sync/messages.ts";

/**
 * The live fast path's choice and its backups (queue/inline.ts runs the changes): which changes a
 * webhook syncs in its own invocation, and the consumer dropping the queued backups of those that
 * were synced so.
 */

type LiveMessage = AttioChangeMessage | SalesforceChangeMessage;

/** More changes than this in one delivery are a burst: the queue batches those better. */
export const INLINE_MAX_MESSAGES = 5;

/** Seconds before the queued backup of an inline change is delivered. */
export const INLINE_BACKUP_DELAY_SECONDS = 20;

/**
 * Which of a delivery's messages are synced inline, marked as such (pure): those `eligible` says
 * are a person's change, and none when they are more than INLINE_MAX_MESSAGES or the switch is off.
 */
export function markInline<T extends LiveMessage>(
  config: Pick<EnvConfig, "LIVE_SYNC_INLINE">,
  messages: readonly T[],
  eligible: (message: T) => boolean,
): T[] {
  if (config.LIVE_SYNC_INLINE === "off") return [...messages];
  const live = messages.filter(eligible);
  if (live.length === 0 || live.length > INLINE_MAX_MESSAGES) return [...messages];
  return messages.map((message) => (live.includes(message) ? { ...message, inlineBackup: true as const } : message));
}

/** The queued delay of a message marked by markInline, if it is one. */
export function backupDelay(message: SyncMessage): number | undefined {
  return "inlineBackup" in message && message.inlineBackup ? INLINE_BACKUP_DELAY_SECONDS : undefined;
}

/**
 * The consumer's side: acks the backups whose inline run was recorded as handled and returns the
 * other messages. One D1 read, and only when the batch holds a backup.
 */
export async function dropHandledBackups<T extends { raw: Message<unknown>; message: SyncMessage }>(
  env: Env,
  parsed: readonly T[],
): Promise<T[]> {
  const backups = parsed.filter(({ message }) => backupDelay(message) !== undefined);
  if (backups.length === 0) return [...parsed];
  // Unread marks only cost a second sync of the same change, which finds nothing to do.
  const handled = await handledInline(
    openDb(env.DB),
    backups.map(({ message }) => message.dedupeKey),
  ).catch(() => new Set<string>());
  return parsed.filter(({ raw, message }) => {
    if (backupDelay(message) === undefined || !handled.has(message.dedupeKey)) return true;
    raw.ack();
    return false;
  });
}
