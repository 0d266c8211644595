/**
 * At most `limit` calls in any `windowMs`: the shape of Attio's published limits ("100 reads and 25
 * writes per second"). The window is kept a little longer than the API's second so that calls
 * leaving slightly after their slot still fit (see `windowFor` in limits.ts).
 */
export interface WindowSpec {
  kind: "window";
  limit: number;
  windowMs: number;
}

/**
 * The calls handed out so far, as a sorted log of their slots (epoch ms). Only the slots of the
 * last window and the ones queued for later are kept.
 */
export interface WindowState {
  slots: number[];
  /** No slot is handed out before this time (epoch ms; set after the API answered 429). */
  blockedUntil: number;
}

/** A window with no call in it. */
export function emptyWindow(): WindowState {
  return { slots: [], blockedUntil: 0 };
}

/**
 * Hands out the earliest slot at or after `now` that keeps every window of `spec.windowMs` at or
 * under `spec.limit` calls, and returns it with the caller's wait. Slots only move forward, so the
 * window that ends at the new slot is the only one it can overfill. Unlike a token bucket, a window
 * left part-empty by a pause (a batch boundary, a query between writes) is filled by the callers
 * that come after it instead of being lost. Pure.
 *
 * `unused` is a slot this caller was handed earlier and did not use (it woke too late to call on
 * time): it leaves the log, so the call it stood for is not counted twice.
 *
 * @example
 * const { state, waitMs } = reserveSlot(emptyWindow(), { kind: "window", limit: 25, windowMs: 1030 }, Date.now());
 */
export function reserveSlot(
  previous: WindowState,
  spec: WindowSpec,
  now: number,
  maxWaitMs = Number.POSITIVE_INFINITY,
  unused?: number,
): { state: WindowState; waitMs: number; slot: number } {
  const slots = withoutUnused(previous.slots, unused).filter((slot) => slot > now - spec.windowMs);
  const last = slots.at(-1) ?? Number.NEGATIVE_INFINITY;
  const windowFull =
    slots.length >= spec.limit
      ? (slots[slots.length - spec.limit] as number) + spec.windowMs
      : Number.NEGATIVE_INFINITY;
  const slot = Math.max(now, previous.blockedUntil, last, windowFull);
  const waitMs = Math.ceil(slot - now);
  // A caller that will not wait that long does not call: its slot is not kept.
  const kept = waitMs > maxWaitMs ? slots : [...slots, slot];
  return { state: { slots: kept, blockedUntil: previous.blockedUntil }, waitMs, slot };
}

function withoutUnused(slots: number[], unused: number | undefined): number[] {
  const index = unused === undefined ? -1 : slots.indexOf(unused);
  return index < 0 ? slots : [...slots.slice(0, index), ...slots.slice(index + 1)];
}

/**
 * Calls the window can still take at `now` without waiting; negative when callers are queued for
 * later slots. Pure.
 */
export function roomAt(state: WindowState, spec: WindowSpec, now: number): number {
  return spec.limit - state.slots.filter((slot) => slot > now - spec.windowMs).length;
}

/**
 * Blocks the window until `untilMs` after a 429. The window before `untilMs` is then counted as
 * used evenly, so the callers waiting go one `windowMs / limit` apart from `untilMs` on, not all in
 * the same instant (which would fill the API's next second at once and draw the next 429). Slots
 * already handed out stay where they are. Pure.
 */
export function blockWindow(previous: WindowState, spec: WindowSpec, untilMs: number): WindowState {
  const spacing = spec.windowMs / spec.limit;
  const evenlyUsed = Array.from({ length: spec.limit - 1 }, (_, i) => untilMs - spec.windowMs + (i + 1) * spacing);
  return {
    slots: [...previous.slots, ...evenlyUsed].sort((a, b) => a - b),
    blockedUntil: Math.max(previous.blockedUntil, untilMs),
  };
}
