import { describe, expect, it } from "vitest";
import {
  blockWindow,
  emptyWindow,
  reserveSlot,
  roomAt,
  type WindowSpec,
  type WindowState,
} from "../../../src/durable/sliding-window.ts";

const spec: WindowSpec = { kind: "window", limit: 5, windowMs: 1000 };

/** Reserves one slot at each of `times` (ms) and returns the slots handed out. */
function slotsAt(times: number[], state: WindowState = emptyWindow()) {
  return times.map((now) => {
    const result = reserveSlot(state, spec, now);
    state = result.state;
    expect(result.waitMs).toBe(Math.ceil(result.slot - now));
    return result.slot;
  });
}

/** The most slots any window of `windowMs` holds (windows start at each slot). */
function busiestWindow(slots: number[], windowMs: number): number {
  return Math.max(...slots.map((start) => slots.filter((s) => s >= start && s < start + windowMs).length));
}

describe("sliding window", () => {
  it("hands out the limit at once, then the next call when the first leaves the window", () => {
    expect(slotsAt([0, 0, 0, 0, 0, 0, 0])).toEqual([0, 0, 0, 0, 0, 1000, 1000]);
  });

  it("spaces steady callers at limit per window", () => {
    // Callers arriving one interval apart never wait.
    expect(slotsAt([0, 200, 400, 600, 800, 1000, 1200])).toEqual([0, 200, 400, 600, 800, 1000, 1200]);
  });

  it("fills a window that a pause left part-empty, instead of losing it", () => {
    // Two calls at 0, then a pause: at 600 three more may go at once, since (−400, 600] holds two.
    const slots = slotsAt([0, 0, 600, 600, 600, 600]);
    expect(slots).toEqual([0, 0, 600, 600, 600, 1000]);
  });

  it("never puts more than the limit in any window, whatever the arrivals", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let now = 0;
    const arrivals = Array.from({ length: 2_000 }, () => {
      now += Math.floor(random() * 400);
      return now;
    });
    const slots = slotsAt(arrivals);
    expect(busiestWindow(slots, spec.windowMs)).toBe(spec.limit);
    expect(slots.every((slot, i) => slot >= (arrivals[i] as number))).toBe(true);
    // Over a long run the callers are served at the window's rate (5 per s), not below it: the
    // first five go at 0, 10, ..., 40 as they arrive, and every later five one window after.
    const heavy = slotsAt(Array.from({ length: 500 }, (_, i) => i * 10));
    expect(heavy.slice(0, 6)).toEqual([0, 10, 20, 30, 40, 1000]);
    expect(heavy.at(-1)).toBe(99_040);
  });

  it("takes back a slot its caller did not use, so the next caller may have it", () => {
    let state = emptyWindow();
    const slots: number[] = [];
    for (let i = 0; i < 5; i++) {
      const result = reserveSlot(state, spec, 0);
      state = result.state;
      slots.push(result.slot);
    }
    // The caller of slot 0 woke too late at 30 and hands it back: the window has room again at 30.
    const retaken = reserveSlot(state, spec, 30, Number.POSITIVE_INFINITY, 0);
    expect(retaken.slot).toBe(30);
    expect(retaken.state.slots).toEqual([0, 0, 0, 0, 30]);
    // A slot that is not in the log (already forgotten) changes nothing.
    expect(reserveSlot(retaken.state, spec, 30, Number.POSITIVE_INFINITY, 12).slot).toBe(1000);
  });

  it("keeps nothing for a caller that will not wait, so giving up leaves no debt", () => {
    const full = { slots: [0, 0, 0, 0, 0], blockedUntil: 0 };
    const refused = reserveSlot(full, spec, 10, 500);
    expect(refused.waitMs).toBe(990);
    expect(refused.state.slots).toEqual(full.slots);
  });

  it("forgets the slots that left the window", () => {
    const state = slotsAt([0, 100], emptyWindow());
    const later = reserveSlot({ slots: state, blockedUntil: 0 }, spec, 5_000);
    expect(later.state.slots).toEqual([5_000]);
  });

  it("reports the room left now, negative when callers are queued", () => {
    const state = { slots: [0, 0, 0, 0, 0, 1000, 1000], blockedUntil: 0 };
    expect(roomAt(state, spec, 500)).toBe(-2);
    expect(roomAt(state, spec, 1500)).toBe(3);
  });

  it("blocks until a 429's Retry-After, then lets the callers go one interval apart", () => {
    const blocked = blockWindow(emptyWindow(), spec, 2_000);
    expect(blocked.blockedUntil).toBe(2_000);
    expect(slotsAt([100, 100, 100, 100], blocked)).toEqual([2_000, 2_200, 2_400, 2_600]);
    // The callers already queued keep their places; the block only holds back new ones.
    const queued = { slots: [0, 0, 0, 0, 0, 1000], blockedUntil: 0 };
    const after = blockWindow(queued, spec, 500);
    expect(after.slots).toContain(1000);
    expect(reserveSlot(after, spec, 100).slot).toBeGreaterThanOrEqual(1000);
  });
});
