import { describe, expect, it } from "vitest";
import { AttioClient } from "../../../src/attio/client.ts";
import { noLimiter } from "../../../src/durable/limiter.ts";

/** A client over an object of `total` records, answering Attio's records query by limit and offset. */
function clientOver(total: number) {
  const bodies: { limit: number; offset: number }[] = [];
  const client = new AttioClient({
    apiUrl: "https://api.attio.test",
    apiKey: "key-123",
    limiter: noLimiter,
    fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      expect(`${request.method} ${new URL(request.url).pathname}`).toBe("POST /v2/objects/people/records/query");
      const body = (await request.json()) as { limit: number; offset: number };
      bodies.push(body);
      const size = Math.max(0, Math.min(body.limit, total - body.offset));
      const data = Array.from({ length: size }, (_, i) => ({ id: { record_id: `r-${body.offset + i}` } }));
      return Response.json({ data });
    },
  });
  return { client, bodies };
}

describe("AttioClient.countRecords", () => {
  it.each([0, 3, 499])("counts %i records with one page", async (total) => {
    const { client, bodies } = clientOver(total);
    expect(await client.countRecords("people")).toEqual({ count: total, exact: true });
    expect(bodies).toEqual([{ limit: 500, offset: 0 }]);
  });

  it.each([500, 501, 1_234, 4_000, 100_003])("counts %i records exactly by probing offsets", async (total) => {
    const { client, bodies } = clientOver(total);
    expect(await client.countRecords("people")).toEqual({ count: total, exact: true });
    // Pages of one record past the first: under 2·log2(n) calls in all.
    expect(bodies.slice(1).every((b) => b.limit === 1)).toBe(true);
    expect(bodies.length).toBeLessThan(2 * Math.log2(total));
  });

  it("stops at a lower bound when the calls it may make are spent", async () => {
    const { client, bodies } = clientOver(1_000_000);
    const counted = await client.countRecords("people", 5);
    expect(counted.exact).toBe(false);
    expect(counted.count).toBeGreaterThan(500);
    expect(counted.count).toBeLessThanOrEqual(1_000_000);
    expect(bodies).toHaveLength(5);
  });
});
