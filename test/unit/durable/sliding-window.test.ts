import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../../scripts/sandbox/shared/random.ts";
import {
  blockWindow,
  emptyWindow,
  reserveSlot,
  roomAt,
  settleSlot,
  slotStillClear,
  steadyWindowRate,
  type WindowSpec,
  type WindowState,
} from "../../../src/durable/sliding-window.ts";

const spec: WindowSpec = { kind: "window", limit: 5, windowMs: 1000, reachMs: 0 };

/** Reserves one slot at each of `times` (ms) and returns the slots handed out. */
function slotsAt(times: number[], state: WindowState = emptyWindow(), within: WindowSpec = spec) {
  return times.map((now) => {
    const result = reserveSlot(state, within, now);
    state = result.state;
    expect(result.waitMs).toBe(Math.ceil(result.slot - now));
    return result.slot;
  });
}

/** The most calls any window of the API holds, when each call reaches it at `arrivals[i]`. */
function busiestWindow(arrivals: number[], windowMs: number): number {
  return Math.max(...arrivals.map((end) => arrivals.filter((at) => at > end - windowMs && at <= end).length));
}

describe("sliding window", () => {
  it("hands out the limit at once, then the next call when the first leaves the window", () => {
    expect(slotsAt([0, 0, 0, 0, 0, 0, 0])).toEqual([0, 0, 0, 0, 0, 1000, 1000]);
  });

  it("spaces steady callers at limit per window", () => {
    // Callers arriving one interval apart never wait.
    expect(slotsAt([0, 200, 400, 600, 800, 1000, 1200])).toEqual([0, 200, 400, 600, 800, 1000, 1200]);
  });

  it("counts each call until its reach has passed", () => {
    const reaching = { ...spec, reachMs: 20 };
    expect(slotsAt([0, 0, 0, 0, 0, 0], emptyWindow(), reaching)).toEqual([0, 0, 0, 0, 0, 1020]);
    expect(steadyWindowRate({ kind: "window", limit: 25, windowMs: 1000, reachMs: 20 })).toBeCloseTo(24.51, 2);
  });

  it("fills a window that a pause left part-empty, instead of losing it", () => {
    // Two calls at 0, then a pause: at 600 three more may go at once, since (−400, 600] holds two.
    expect(slotsAt([0, 0, 600, 600, 600, 600])).toEqual([0, 0, 600, 600, 600, 1000]);
  });

  it("never lets a window upstream hold more than the limit, even when calls arrive late", () => {
    const source = new SeededRandom(7);
    const random = () => source.next();
    const reaching = { ...spec, reachMs: 30 };
    let state = emptyWindow();
    let now = 0;
    const arrivals: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      now += Math.floor(random() * 300);
      const { state: next, slot } = reserveSlot(state, reaching, now);
      // Most calls reach the API within their reach; one in ten is held 30-330 ms, and its caller
      // reports that before the limiter hands out the next slot.
      const late = random() < 0.1 ? 30 + Math.floor(random() * 300) : Math.floor(random() * 30);
      state = late > reaching.reachMs ? settleSlot(next, slot, slot + late) : next;
      arrivals.push(slot + late);
    }
    expect(busiestWindow(arrivals, reaching.windowMs)).toBe(reaching.limit);
    // Over a long run the callers are served at the window's rate (5 per s), not below it: the
    // first five go at 0, 10, ..., 40 as they arrive, and every later five one window after.
    const heavy = slotsAt(Array.from({ length: 500 }, (_, i) => i * 10));
    expect(heavy.slice(0, 6)).toEqual([0, 10, 20, 30, 40, 1000]);
    expect(heavy.at(-1)).toBe(99_040);
  });

  it("keeps later slots clear of a call reported to have reached the API late", () => {
    let state = emptyWindow();
    for (let i = 0; i < 5; i++) state = reserveSlot(state, spec, i * 100).state;
    // The call of slot 0 was held and may have reached the API as late as 1050: a sixth call at
    // 1000 could meet all five, so it waits until 1100, when the call of slot 100 has left.
    const settled = settleSlot(state, 0, 1050);
    expect(reserveSlot(settled, spec, 500).slot).toBe(1100);
    expect(reserveSlot(state, spec, 500).slot).toBe(1000);
    // Two calls of one slot, reported one after the other: each report counts one call longer.
    let twins = emptyWindow();
    for (let i = 0; i < 2; i++) twins = reserveSlot(twins, spec, 0).state;
    twins = settleSlot(settleSlot(twins, 0, 30), 0, 80);
    expect(twins.calls.map((call) => call.end).sort((a, b) => a - b)).toEqual([30, 80]);
    // A slot handed back unused was never sent: the call reported late stays counted.
    let pair = emptyWindow();
    for (let i = 0; i < 2; i++) pair = reserveSlot(pair, spec, 0).state;
    pair = reserveSlot(settleSlot(pair, 0, 50), spec, 10, Number.POSITIVE_INFINITY, 0).state;
    expect(pair.calls).toEqual([
      { slot: 0, end: 50 },
      { slot: 10, end: 10 },
    ]);
    // A report for a slot no longer kept, or earlier than assumed, changes nothing.
    expect(settleSlot(state, 12, 900)).toBe(state);
    expect(settleSlot(settled, 0, 100)).toBe(settled);
  });

  it("tells a slot handed out ahead that a call before it, reported late since, fills its window", () => {
    let state = emptyWindow();
    for (let i = 0; i < 5; i++) state = reserveSlot(state, spec, i * 100).state;
    const ahead = reserveSlot(state, spec, 450);
    expect(ahead.slot).toBe(1000);
    expect(slotStillClear(ahead.state, spec, 1000)).toBe(true);
    // The call of slot 0 reached the API as late as 1050: at 1000 the window still holds five.
    expect(slotStillClear(settleSlot(ahead.state, 0, 1050), spec, 1000)).toBe(false);
    // Calls of later slots never count against an earlier one.
    const queued = reserveSlot(ahead.state, spec, 460).state;
    expect(slotStillClear(queued, spec, 1000)).toBe(true);
  });

  it("keeps windows upstream to the limit when callers queue ahead and late reports come after", () => {
    const reaching = { ...spec, reachMs: 20 };
    const run = (recheck: boolean) => {
      const source = new SeededRandom(11);
      const random = () => source.next();
      let state = emptyWindow();
      // Events in time order: callers asking, slots coming due, late calls being reported.
      type Event = { at: number; order: number; run: () => void };
      const events: Event[] = [];
      const at = (time: number, order: number, run: () => void) => events.push({ at: time, order, run });
      const arrivals: number[] = [];
      const due = (slot: number, tries: number) => () => {
        if (recheck && tries < 3 && !slotStillClear(state, reaching, slot)) {
          const again = reserveSlot(state, reaching, slot, Number.POSITIVE_INFINITY, slot);
          state = again.state;
          at(again.slot, 1, due(again.slot, tries + 1));
          return;
        }
        // One call in five is held 30-200 ms on its way; its caller reports it when answered.
        const late = random() < 0.2 ? 30 + Math.floor(random() * 170) : Math.floor(random() * 20);
        arrivals.push(slot + late);
        if (late > reaching.reachMs) at(slot + late + 5, 0, () => (state = settleSlot(state, slot, slot + late)));
      };
      // Bursts of 8 callers every 1.2 s: more than the window takes, so slots are handed out ahead.
      for (let i = 0; i < 400; i++) {
        at(Math.floor(i / 8) * 1_200, 2, () => {
          const taken = reserveSlot(state, reaching, Math.floor(i / 8) * 1_200);
          state = taken.state;
          at(taken.slot, 1, due(taken.slot, 0));
        });
      }
      while (events.length > 0) {
        events.sort((a, b) => a.at - b.at || a.order - b.order);
        (events.shift() as Event).run();
      }
      return busiestWindow(arrivals, reaching.windowMs);
    };
    expect(run(false)).toBeGreaterThan(spec.limit);
    expect(run(true)).toBe(spec.limit);
  });

  it("takes back a slot its caller did not use, so the next caller may have it", () => {
    let state = emptyWindow();
    for (let i = 0; i < 5; i++) state = reserveSlot(state, spec, 0).state;
    // The caller of slot 0 woke too late at 30 and hands it back: the window has room again at 30.
    const retaken = reserveSlot(state, spec, 30, Number.POSITIVE_INFINITY, 0);
    expect(retaken.slot).toBe(30);
    expect(retaken.state.calls.map((call) => call.slot)).toEqual([0, 0, 0, 0, 30]);
    // A slot that is not in the log (already forgotten) changes nothing.
    expect(reserveSlot(retaken.state, spec, 30, Number.POSITIVE_INFINITY, 12).slot).toBe(1000);
  });

  it("keeps nothing for a caller that will not wait, so giving up leaves no debt", () => {
    const full = { calls: [0, 0, 0, 0, 0].map((at) => ({ slot: at, end: at })), blockedUntil: 0 };
    const refused = reserveSlot(full, spec, 10, 500);
    expect(refused.waitMs).toBe(990);
    expect(refused.state.calls).toEqual(full.calls);
  });

  it("forgets the calls that left the window", () => {
    let state = emptyWindow();
    for (const now of [0, 100]) state = reserveSlot(state, spec, now).state;
    expect(reserveSlot(state, spec, 5_000).state.calls).toEqual([{ slot: 5_000, end: 5_000 }]);
  });

  it("reports the room left now, negative when callers are queued", () => {
    const state = { calls: [0, 0, 0, 0, 0, 1000, 1000].map((at) => ({ slot: at, end: at })), blockedUntil: 0 };
    expect(roomAt(state, spec, 500)).toBe(-2);
    expect(roomAt(state, spec, 1500)).toBe(3);
  });

  it("blocks until a 429's Retry-After, then lets the callers go one interval apart", () => {
    const blocked = blockWindow(emptyWindow(), spec, 2_000);
    expect(blocked.blockedUntil).toBe(2_000);
    expect(slotsAt([100, 100, 100, 100], blocked)).toEqual([2_000, 2_200, 2_400, 2_600]);
    // The callers already queued keep their places; the block only holds back new ones.
    const queued = { calls: [0, 0, 0, 0, 0, 1000].map((at) => ({ slot: at, end: at })), blockedUntil: 0 };
    const after = blockWindow(queued, spec, 500);
    expect(after.calls).toContainEqual({ slot: 1000, end: 1000 });
    expect(reserveSlot(after, spec, 100).slot).toBeGreaterThanOrEqual(1000);
  });
});
