import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { AttioClient } from "../../../src/attio/client.ts";
import { sharedLimiter } from "../../../src/durable/limiter.ts";
import { BUCKETS, dueTime } from "../../../src/durable/limits.ts";

/** A window that counts each read 50 ms past its slot unless told otherwise, in windows of 400 ms. */
const reads = { kind: "window" as const, limit: 100, windowMs: 400, reachMs: 50 };

/** An Attio that answers `/v2/self` after `delays[i]` ms for the i-th call. */
function slowAttio(delays: number[]): typeof fetch {
  let call = 0;
  return async () => {
    await new Promise((resolve) => setTimeout(resolve, delays[call++] ?? 0));
    return Response.json({ active: true, workspace_id: "ws" });
  };
}

describe("AttioClient with the shared limiter", () => {
  it("reports a call answered far later than usual, so the limiter counts it until then", async () => {
    const name = "attio:read";
    const limiter = env.RATE_LIMITER;
    const held = new AttioClient({
      apiUrl: "https://attio.test",
      apiKey: "key",
      limiter: sharedLimiter(limiter, { ...BUCKETS, [name]: reads }),
      // Three quick calls set the usual round trip; the fourth is held 300 ms.
      fetch: slowAttio([0, 0, 0, 300]),
    });
    for (let i = 0; i < 4; i++) await held.self();
    // Every quick call has left the 400 ms window by now; the held one, answered just now, may
    // have reached Attio at its very end, so it still counts. Unreported, it would have left at
    // its slot + 50 ms, 250 ms ago.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { tokens } = await limiter.getByName(name).inspect(reads);
    expect(tokens).toBe(reads.limit - 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await limiter.getByName(name).inspect(reads)).tokens).toBe(reads.limit);
  });

  it("sends a call on the limiter's slot even when its answer reached the isolate late", () => {
    // Asked at 990, given slot 1000 at once, answer in the isolate only at 1040: due at 1000.
    expect(dueTime(1_000, 990, 1_040)).toBe(1_000);
    // A limiter clock ahead of ours cannot put the slot after what the round trip allows.
    expect(dueTime(5_000, 990, 1_040)).toBe(1_040);
    expect(dueTime(0, 990, 1_040)).toBe(990);
  });
});
