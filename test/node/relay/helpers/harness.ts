import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRelayConfig } from "../../../../scripts/relay/config.ts";
import { type RunningRelay, startRelay } from "../../../../scripts/relay/relay.ts";
import { replayIdFromBase64, replayIdFromNumber, replayIdToBase64 } from "../../../../scripts/relay/replay-id.ts";
import type { Logger } from "../../../../src/lib/log.ts";
import { FakePubSub } from "./fake-pubsub.ts";
import { FakeTokenEndpoint, FakeWorker } from "./fake-worker.ts";

export const RELAY_SECRET = "test-relay-secret-0123456789abcdef";

export interface LogEntry {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** A Logger that keeps its lines for assertions instead of printing them. */
export function memoryLogger(entries: LogEntry[], base: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    void entries.push({ level, msg, fields: { ...base, ...fields } });
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (fields) => memoryLogger(entries, { ...base, ...fields }),
  };
}

/** Fake Salesforce (token endpoint + Pub/Sub gRPC) and a fake Worker, all on 127.0.0.1, plus a temp replay store. */
export class Harness {
  readonly pubsub = new FakePubSub();
  readonly worker = new FakeWorker(RELAY_SECRET);
  readonly tokens = new FakeTokenEndpoint();
  readonly logs: LogEntry[] = [];
  readonly relays: RunningRelay[] = [];
  dir = "";
  env: Record<string, string> = {};

  async start(env: Record<string, string> = {}): Promise<this> {
    this.dir = await mkdtemp(join(tmpdir(), "relay-test-"));
    this.tokens.onIssue = (token) => this.pubsub.validTokens.add(token);
    const [pubsubEndpoint, workerUrl, loginUrl] = await Promise.all([
      this.pubsub.start(),
      this.worker.start(),
      this.tokens.start(),
    ]);
    this.env = {
      SALESFORCE_LOGIN_URL: loginUrl,
      SALESFORCE_CLIENT_ID: "test-client-id",
      SALESFORCE_CLIENT_SECRET: "test-client-secret",
      RELAY_SECRET,
      WORKER_URL: workerUrl,
      RELAY_CHANNELS: "/data/AccountChangeEvent",
      RELAY_PUBSUB_ENDPOINT: pubsubEndpoint,
      RELAY_REPLAY_STORE: this.storePath,
      RELAY_HEALTH_HOST: "127.0.0.1",
      RELAY_HEALTH_PORT: "0",
      RELAY_BATCH_LINGER_MS: "20",
      RELAY_RETRY_BASE_MS: "10",
      RELAY_RETRY_MAX_MS: "100",
      RELAY_WORKER_TIMEOUT_MS: "2000",
      ...env,
    };
    return this;
  }

  get storePath(): string {
    return join(this.dir, "state", "replay-ids.json");
  }

  async startRelay(env: Record<string, string> = {}): Promise<RunningRelay> {
    const relay = await startRelay(loadRelayConfig({ ...this.env, ...env }), { log: memoryLogger(this.logs) });
    this.relays.push(relay);
    return relay;
  }

  /** The replay id stored for a channel, as the integer the fake server issued; undefined if none. */
  async storedReplayId(channel = "/data/AccountChangeEvent"): Promise<number | undefined> {
    try {
      const json = JSON.parse(await readFile(this.storePath, "utf8")) as {
        channels: Record<string, { replayId: string }>;
      };
      const stored = json.channels[channel]?.replayId;
      return stored === undefined ? undefined : Number(replayIdFromBase64(stored).readBigUInt64BE());
    } catch {
      return undefined;
    }
  }

  async seedReplayId(replayId: number, channel = "/data/AccountChangeEvent"): Promise<void> {
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(this.dir, "state"), { recursive: true });
    const contents = {
      version: 1,
      channels: {
        [channel]: { replayId: replayIdToBase64(replayIdFromNumber(replayId)), savedAt: new Date().toISOString() },
      },
    };
    await writeFile(this.storePath, JSON.stringify(contents));
  }

  /** The lines of the dead-letter file (beside the replay store by default), parsed. */
  async deadLetters(): Promise<Record<string, unknown>[]> {
    try {
      const text = await readFile(join(this.dir, "state", "dead-letters.jsonl"), "utf8");
      return text
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    } catch {
      return [];
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.relays.map((relay) => relay.stop(500)));
    this.pubsub.stop();
    await Promise.all([this.worker.stop(), this.tokens.stop()]);
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** A decoded Account change event for the fake server to publish, numbered for easy ordering checks. */
export function accountUpdate(n: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ChangeEventHeader: {
      entityName: "Account",
      recordIds: [`001Hs00003Test${String(n).padStart(4, "0")}`],
      changeType: "UPDATE",
      changeOrigin: "com/salesforce/api/soap/62.0;client=SfdcInternalAPI/",
      transactionKey: `tx-${n}`,
      sequenceNumber: 1,
      commitTimestamp: 1733486400000 + n,
      commitNumber: 12011223300000 + n,
      commitUser: "005Hs00000XyZ12IAB",
      nulledFields: [],
      diffFields: [],
      changedFields: ["Phone", "LastModifiedDate"],
    },
    Phone: `+1 503 555 ${String(n).padStart(4, "0")}`,
    LastModifiedDate: 1733486400000 + n,
    ...overrides,
  };
}
