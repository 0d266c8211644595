/**
 * At most `limit` calls in any `windowMs`: the shape of Attio's published limits ("100 reads and 25
 * writes per second"), which it counts in a window of one second as calls reach it.
 */
export interface WindowSpec {
  kind: "window";
  limit: number;
  /** The API's window: 1,000 ms for a per-second limit. */
  windowMs: number;
  /**
   * How long after its slot a call may reach the API, unless its caller reports that it took
   * longer: the few ms a busy caller wakes late and its request takes to leave.
   */
  reachMs: number;
}

/** A call handed a slot: it reaches the API between `slot` and `end` (epoch ms). */
interface Call {
  slot: number;
  end: number;
}

/** The calls of the last window and the ones queued for later slots. */
export interface WindowState {
  calls: Call[];
  /** No slot is handed out before this time (epoch ms; set after the API answered 429). */
  blockedUntil: number;
}

/** A window with no call in it. */
export function emptyWindow(): WindowState {
  return { calls: [], blockedUntil: 0 };
}

/**
 * Hands out the earliest slot at or after `now` at which fewer than `limit` calls can still be
 * reaching the API within the window that ends there, and returns it with the caller's wait. A call
 * counts until its `end`: a new call at `slot` then meets at most `limit - 1` others in any window
 * upstream, whatever the order the calls arrive in. Unlike a token bucket, a window left part-empty
 * by a pause (a batch boundary, a query between writes) is filled by the callers after it, not lost.
 * Pure.
 *
 * `unused` is a slot this caller was handed earlier and did not use (it woke too late to call on
 * time): it leaves the log, so the call it stood for is not counted twice.
 *
 * @example
 * const spec = { kind: "window", limit: 25, windowMs: 1000, reachMs: 20 } as const;
 * const { state, waitMs } = reserveSlot(emptyWindow(), spec, Date.now());
 */
export function reserveSlot(
  previous: WindowState,
  spec: WindowSpec,
  now: number,
  maxWaitMs = Number.POSITIVE_INFINITY,
  unused?: number,
): { state: WindowState; waitMs: number; slot: number } {
  const calls = without(previous.calls, unused).filter((call) => call.end > now - spec.windowMs);
  const ends = calls.map((call) => call.end).sort((a, b) => b - a);
  // The window ending at the slot must have dropped all but `limit - 1` of the calls.
  const full = ends.length >= spec.limit ? (ends[spec.limit - 1] as number) + spec.windowMs : Number.NEGATIVE_INFINITY;
  const slot = Math.max(now, previous.blockedUntil, full);
  const waitMs = Math.ceil(slot - now);
  // A caller that will not wait that long does not call: its slot is not kept.
  const kept = waitMs > maxWaitMs ? calls : [...calls, { slot, end: slot + spec.reachMs }];
  return { state: { calls: kept, blockedUntil: previous.blockedUntil }, waitMs, slot };
}

/**
 * Counts the call of `slot` until `end`, when its caller saw it go out late or take longer than
 * usual to be answered (a stalled isolate or network): later slots then keep clear of it. A report
 * that would shorten the count changes nothing. Pure.
 */
export function settleSlot(previous: WindowState, slot: number, end: number): WindowState {
  const index = leastKnown(previous.calls, slot);
  const call = previous.calls[index];
  if (!call || call.end >= end) return previous;
  const calls = previous.calls.map((other, i) => (i === index ? { slot, end } : other));
  return { calls, blockedUntil: previous.blockedUntil };
}

/**
 * Whether a slot handed out ahead of time is still clear when its time comes: fewer than `limit`
 * calls of earlier (or the same) slots still counted in the window that ends there. A call reported
 * late after the slot was handed out (`settleSlot`) can fill that window; the caller then hands the
 * slot back and takes a new one instead of calling. Pure.
 *
 * @example slotStillClear(settleSlot(state, 0, 1_050), spec, 1_000) // false: the call of 0 still counts
 */
export function slotStillClear(state: WindowState, spec: WindowSpec, slot: number): boolean {
  const before = without(state.calls, slot).filter((call) => call.slot <= slot && call.end > slot - spec.windowMs);
  return before.length < spec.limit;
}

/**
 * The call of `slot` still counted for the shortest time, or -1. Calls given the same slot (a burst
 * after a pause) are told apart by what is already known of them: a report, or a slot handed back
 * unused (which was never sent, so never reported), belongs to the one not reported yet.
 */
function leastKnown(calls: Call[], slot: number): number {
  let index = -1;
  calls.forEach((call, i) => {
    if (call.slot === slot && (index < 0 || call.end < (calls[index] as Call).end)) index = i;
  });
  return index;
}

function without(calls: Call[], slot: number | undefined): Call[] {
  const index = slot === undefined ? -1 : leastKnown(calls, slot);
  return index < 0 ? calls : [...calls.slice(0, index), ...calls.slice(index + 1)];
}

/**
 * Calls the window can still take at `now` without waiting; negative when callers are queued for
 * later slots. Pure.
 */
export function roomAt(state: WindowState, spec: WindowSpec, now: number): number {
  return spec.limit - state.calls.filter((call) => call.end > now - spec.windowMs).length;
}

/** Calls per second the window allows to steady work, each counted until its assumed end. Pure. */
export function steadyWindowRate(spec: WindowSpec): number {
  return (spec.limit * 1000) / (spec.windowMs + spec.reachMs);
}

/**
 * Blocks the window until `untilMs` after a 429. The window before `untilMs` is then counted as
 * used at the steady rate, so the callers waiting go one interval apart from `untilMs` on, not all
 * in the same instant (which would fill the API's next second at once and draw the next 429). The
 * calls already handed slots keep them. Pure.
 */
export function blockWindow(previous: WindowState, spec: WindowSpec, untilMs: number): WindowState {
  const spacing = 1000 / steadyWindowRate(spec);
  const evenlyUsed = Array.from({ length: spec.limit - 1 }, (_, i) => {
    const at = untilMs - spec.windowMs + (i + 1) * spacing;
    return { slot: at, end: at };
  });
  return {
    calls: [...previous.calls, ...evenlyUsed],
    blockedUntil: Math.max(previous.blockedUntil, untilMs),
  };
}
