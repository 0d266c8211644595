import { afterEach, describe, expect, it, vi } from "vitest";
import type { AcquireManyResult } from "../../../src/durable/record-lock.ts";
import { Leases } from "../../../src/engine/leases.ts";
import { createLogger } from "../../../src/lib/log.ts";
import type { SyncDeps } from "../../../src/sync/deps.ts";

afterEach(() => vi.useRealTimers());

/** A RecordLock namespace whose answers the test scripts: the names it grants, or a failure. */
function locks(answer: (names: readonly string[]) => AcquireManyResult) {
  const stub = {
    acquireMany: async (_holder: string, names: readonly string[]) => answer(names),
    releaseMany: async () => 0,
  };
  return { getByName: () => stub } as unknown as SyncDeps["locks"];
}

function leasesWith(answer: (names: readonly string[]) => AcquireManyResult) {
  return new Leases({ locks: locks(answer), log: createLogger("silent") } as unknown as SyncDeps);
}

describe("Leases: fencing", () => {
  it("a lease another holder took is lost at the next renewal, and stays lost", async () => {
    let takenOver = false;
    const leases = leasesWith((names) =>
      takenOver
        ? { acquired: [], busy: names.map((name) => ({ name, heldBy: "other", retryInMs: 20_000 })) }
        : { acquired: [...names], busy: [] },
    );
    await leases.take(["pair:1"]);
    expect(leases.holds("pair:1")).toBe(true);
    takenOver = true;
    await leases.renew();
    expect(leases.holds("pair:1")).toBe(false);
    takenOver = false;
    await leases.renew();
    expect(leases.holds("pair:1")).toBe(false);
    await leases.release();
  });

  it("failed renewals keep a lease until it can have expired (20 s unconfirmed), then it is lost", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-12-07T10:00:00Z"));
    let failing = false;
    const leases = leasesWith((names) => {
      if (failing) throw new Error("RecordLock unavailable");
      return { acquired: [...names], busy: [] };
    });
    await leases.take(["pair:2"]);
    failing = true;
    vi.setSystemTime(new Date("2026-12-07T10:00:10Z"));
    await leases.renew();
    expect(leases.holds("pair:2")).toBe(true);
    vi.setSystemTime(new Date("2026-12-07T10:00:20Z"));
    await leases.renew();
    expect(leases.holds("pair:2")).toBe(false);
    await leases.release();
  });
});

describe("Leases: release", () => {
  it("waits for a renewal in flight, so the renewal cannot take the leases back after the release", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const calls: string[] = [];
    let answerRenewal: (() => void) | undefined;
    const stub = {
      acquireMany: async (_holder: string, names: readonly string[]) => {
        calls.push("acquire");
        // The first call is the take, answered at once; the renewal waits for the test.
        if (calls.length > 1) await new Promise<void>((resolve) => (answerRenewal = resolve));
        calls.push("acquired");
        return { acquired: [...names], busy: [] };
      },
      releaseMany: async () => {
        calls.push("release");
        return 1;
      },
    };
    const leases = new Leases({
      locks: { getByName: () => stub },
      log: createLogger("silent"),
    } as unknown as SyncDeps);
    await leases.take(["pair:3"]);
    vi.advanceTimersByTime(5_000);
    expect(calls).toEqual(["acquire", "acquired", "acquire"]);
    const released = leases.release();
    await Promise.resolve();
    expect(calls).not.toContain("release");
    answerRenewal?.();
    await released;
    expect(calls).toEqual(["acquire", "acquired", "acquire", "acquired", "release"]);
  });
});
