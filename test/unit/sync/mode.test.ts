import { describe, expect, it } from "vitest";
import { type Mode, type ModeAction, modeTransition } from "../../../src/sync/mode.ts";

describe("modeTransition", () => {
  const cases: [Mode, ModeAction, string][] = [
    ["setup", "start", "move:running"],
    ["running", "start", "stay"],
    ["paused", "start", "refuse"],
    ["running", "pause", "move:paused"],
    ["paused", "pause", "stay"],
    ["setup", "pause", "refuse"],
    ["paused", "resume", "move:running"],
    ["running", "resume", "stay"],
    ["setup", "resume", "refuse"],
    // A job that writes starts a new deployment, and waits in a paused one.
    ["setup", "job", "move:running"],
    ["running", "job", "stay"],
    ["paused", "job", "stay"],
  ];
  it.each(cases)("%s + %s -> %s", (mode, action, expected) => {
    const next = modeTransition(mode, action);
    expect(next.kind === "move" ? `move:${next.to}` : next.kind).toBe(expected);
  });

  it("says which call to make instead when it refuses", () => {
    expect(modeTransition("paused", "start")).toMatchObject({ message: expect.stringContaining("/api/v1/resume") });
    expect(modeTransition("setup", "resume")).toMatchObject({ message: expect.stringContaining("/api/v1/start") });
  });
});
