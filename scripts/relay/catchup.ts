/**
 * Which objects a channel carries, so that a lost position on that channel can be repaired by a
 * catch-up of exactly those objects. Per-object channels name their object; the all-objects channel
 * (`/data/ChangeEvents`) and custom channels (`/data/<Name>__chn`) do not, so for those the relay
 * uses RELAY_CATCHUP_ENTITIES.
 */
export function entitiesForChannel(channel: string, configured: readonly string[]): string[] {
  const match = /^\/data\/(\w+?)ChangeEvent$/.exec(channel);
  const name = match?.[1];
  if (name === undefined) return [...configured];
  // Custom objects: Employee__c publishes on /data/Employee__ChangeEvent.
  return [name.endsWith("__") ? `${name}c` : name];
}

/** True for the channels the relay can follow: change data capture channels only. */
export function isChangeEventChannel(channel: string): boolean {
  return /^\/data\/(ChangeEvents|\w+ChangeEvent|\w+__chn)$/.test(channel);
}
