import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadRelayConfig } from "../../../scripts/relay/config.ts";
import { FileReplayStore } from "../../../scripts/relay/replay-store.ts";
import { SyncError } from "../../../src/lib/errors.ts";
import { type LogEntry, memoryLogger } from "./helpers/harness.ts";

const valid = {
  SALESFORCE_LOGIN_URL: "https://acme.my.salesforce.com/",
  SALESFORCE_CLIENT_ID: "client-id",
  SALESFORCE_CLIENT_SECRET: "very-secret-client-value",
  RELAY_SECRET: "relay-secret-0123456789abcdef-0123",
  WORKER_URL: "https://attio-sfdc.example.workers.dev",
};

describe("configuration", () => {
  it("applies the documented defaults", () => {
    const config = loadRelayConfig(valid);
    expect(config.channels).toEqual(["/data/ChangeEvents"]);
    expect(config.salesforce.loginUrl).toBe("https://acme.my.salesforce.com");
    expect(config.salesforce.pubSubEndpoint).toBe("api.pubsub.salesforce.com:7443");
    expect(config.batch).toEqual({ maxEvents: 100, maxBytes: 5 * 1024 * 1024, lingerMs: 1000 });
    expect(config.bufferCapacity).toBe(1000);
    expect(config.health).toMatchObject({ host: "127.0.0.1", port: 8080 });
    expect(config.catchupEntities).toEqual(["Account", "Contact", "Opportunity"]);
    expect(config.deadLetterPath).toBe(join(".relay", "dead-letters.jsonl"));
    expect(config.maxRejections).toBe(5);
    expect(loadRelayConfig({ ...valid, RELAY_REPLAY_STORE: "/var/lib/relay/ids.json" }).deadLetterPath).toBe(
      "/var/lib/relay/dead-letters.jsonl",
    );
  });

  it("takes PORT (Cloud Run) when RELAY_HEALTH_PORT is not set, and parses channel lists", () => {
    const config = loadRelayConfig({
      ...valid,
      PORT: "9000",
      RELAY_CHANNELS: "/data/AccountChangeEvent, /data/ContactChangeEvent",
    });
    expect(config.health.port).toBe(9000);
    expect(config.channels).toEqual(["/data/AccountChangeEvent", "/data/ContactChangeEvent"]);
  });

  it("names every missing or bad variable and never echoes a value", () => {
    let error: unknown;
    try {
      loadRelayConfig({
        SALESFORCE_LOGIN_URL: "http://acme.my.salesforce.com",
        SALESFORCE_CLIENT_SECRET: "very-secret-client-value",
        RELAY_SECRET: "short",
        WORKER_URL: "https://w.example",
        RELAY_CHANNELS: "/event/Order__e",
        RELAY_BATCH_SIZE: "5000",
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SyncError);
    const message = (error as SyncError).message;
    for (const name of [
      "SALESFORCE_LOGIN_URL",
      "SALESFORCE_CLIENT_ID",
      "RELAY_SECRET",
      "RELAY_CHANNELS",
      "RELAY_BATCH_SIZE",
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain("very-secret-client-value");
    expect(message).not.toContain("short");
    expect((error as SyncError).code).toBe("config_invalid");
    expect((error as SyncError).retryable).toBe(false);
  });

  it("allows plain http only to loopback addresses", () => {
    expect(() => loadRelayConfig({ ...valid, WORKER_URL: "http://127.0.0.1:8787" })).not.toThrow();
    expect(() => loadRelayConfig({ ...valid, WORKER_URL: "http://worker.internal:8787" })).toThrow(/WORKER_URL/);
  });

  it("rejects a buffer smaller than a batch", () => {
    expect(() => loadRelayConfig({ ...valid, RELAY_BUFFER_CAPACITY: "10", RELAY_BATCH_SIZE: "50" })).toThrow(
      /RELAY_BUFFER_CAPACITY/,
    );
  });
});

describe("FileReplayStore", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "relay-store-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps one position per channel across instances (restarts), creating the folder", async () => {
    const path = join(dir, "nested", "replay-ids.json");
    const store = new FileReplayStore(path);
    expect(await store.load("/data/ChangeEvents")).toBeUndefined();
    await Promise.all([
      store.save("/data/AccountChangeEvent", "AAAAAAAAA+g="),
      store.save("/data/ContactChangeEvent", "AAAAAAAAA+k="),
    ]);
    await store.save("/data/AccountChangeEvent", "AAAAAAAAA+o=");
    const reopened = new FileReplayStore(path);
    expect(await reopened.load("/data/AccountChangeEvent")).toBe("AAAAAAAAA+o=");
    expect(await reopened.load("/data/ContactChangeEvent")).toBe("AAAAAAAAA+k=");
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ version: 1 });
  });

  it.each([
    ["empty (a crash before the data reached the disk)", ""],
    [
      "torn mid-write",
      '{\n  "version": 1,\n  "channels": {\n    "/data/AccountChangeEvent": {\n      "replayId": "AAAA',
    ],
    ["of another shape", JSON.stringify({ version: 2 })],
  ])("moves a file that is %s aside, logs it, and starts with no position", async (_name, text) => {
    const path = join(dir, "replay-ids.json");
    await writeFile(path, text);
    const logs: LogEntry[] = [];
    const store = new FileReplayStore(path, memoryLogger(logs));

    expect(await store.load("/data/AccountChangeEvent")).toBeUndefined();
    const aside = (await readdir(dir)).filter((name) => name.startsWith("replay-ids.json.unreadable-"));
    expect(aside).toHaveLength(1);
    expect(await readFile(join(dir, aside[0] ?? ""), "utf8")).toBe(text);
    expect(logs).toEqual([
      expect.objectContaining({ level: "error", msg: expect.stringMatching(/replay store unreadable/) }),
    ]);
    // The next position is stored as usual.
    await store.save("/data/AccountChangeEvent", "AAAAAAAAA+g=");
    expect(await new FileReplayStore(path).load("/data/AccountChangeEvent")).toBe("AAAAAAAAA+g=");
  });
});
