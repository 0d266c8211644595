/** The Pub/Sub API caps one FetchRequest at 100 events. */
export const MAX_EVENTS_PER_FETCH = 100;

/**
 * How many more events to ask Salesforce for. The relay never asks for more than its buffer can
 * hold: buffered (received, not yet acknowledged by the Worker) plus outstanding (asked for, not yet
 * received) stays at or under `capacity`, so a slow Worker makes the relay stop asking instead of
 * making it buffer without bound. Small top-ups are skipped while a request is still outstanding so a
 * draining buffer does not turn into one FetchRequest per event.
 */
export function creditsToRequest(input: { capacity: number; buffered: number; outstanding: number }): number {
  const room = input.capacity - input.buffered - input.outstanding;
  if (room <= 0) return 0;
  const credits = Math.min(room, MAX_EVENTS_PER_FETCH);
  const worthwhile = Math.min(MAX_EVENTS_PER_FETCH, input.capacity) / 2;
  if (input.outstanding > 0 && credits < worthwhile) return 0;
  return credits;
}
