import { describe, expect, it } from "vitest";
import { startAttioEmulatorThread } from "../../../scripts/sandbox/attio/thread.ts";
import { json } from "./helpers.ts";

describe("Attio emulator on a thread of its own (benchmarks)", () => {
  it("serves the API and its control endpoints over HTTP, reports its own stalls, and stops", async () => {
    const attio = await startAttioEmulatorThread({ port: 0, seed: 3 });
    try {
      const headers = { authorization: `Bearer ${attio.apiKey}`, "content-type": "application/json" };
      const created = await fetch(`${attio.url}/v2/objects/people/records`, {
        method: "POST",
        headers,
        body: JSON.stringify({ data: { values: { email_addresses: ["thread@q.example"] } } }),
      });
      expect(created.status).toBe(200);
      const stats = await json(await fetch(`${attio.url}/__control/stats`));
      expect(stats.writes).toBe(1);
      expect(stats.counts.people).toBe(1);
      expect(await attio.stallMs()).toBeGreaterThanOrEqual(0);
    } finally {
      await attio.close();
    }
    // Closed: nothing listens any more.
    await expect(fetch(`${attio.url}/__control/stats`)).rejects.toThrow();
  });
});
