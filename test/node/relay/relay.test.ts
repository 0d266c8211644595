import { readFile, writeFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "./helpers/fake-worker.ts";
import { accountUpdate, Harness } from "./helpers/harness.ts";

const CHANNEL = "/data/AccountChangeEvent";
let harness: Harness;

afterEach(async (context) => {
  // biome-ignore lint/suspicious/noConsole: a failed relay test shows the relay's logs, and only then.
  if (context.task.result?.state === "fail") console.error(JSON.stringify(harness?.logs, null, 1).slice(0, 6000));
  await harness?.stop();
});

/** Phone numbers of the events the Worker acknowledged, in the order it received them. */
const deliveredPhones = () => harness.worker.acceptedEvents.map((e) => e.payload["Phone"]);
const phones = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `+1 503 555 ${String(from + i).padStart(4, "0")}`);
const subscribed = () => harness.pubsub.streams.length === 1;

describe("relay end to end: fake Pub/Sub gRPC server -> relay -> fake Worker (all on 127.0.0.1)", () => {
  it("first start: asks for a catch-up, then relays live events signed, in order, storing the replay id after the 2xx", async () => {
    harness = await new Harness().start();
    const relay = await harness.startRelay();
    await waitFor(() => harness.worker.accepted.length === 1, 3000, "catch-up request");
    expect(harness.worker.accepted[0]).toEqual({ events: [], catchup: ["Account"] });

    await waitFor(subscribed, 3000, "subscription");
    const ids = [1, 2, 3, 4, 5].map((n) => harness.pubsub.publish(CHANNEL, accountUpdate(n)));
    await waitFor(() => deliveredPhones().length === 5, 3000, "5 events");
    expect(deliveredPhones()).toEqual(phones(1, 5));
    const first = harness.worker.acceptedEvents[0];
    expect(first?.channel).toBe(CHANNEL);
    expect(first?.event.replayId).toBe(ids[0]);
    expect(first?.payload.ChangeEventHeader).toMatchObject({
      changedFields: ["Phone", "LastModifiedDate"],
      commitNumber: 12011223300001,
    });
    expect(harness.worker.requests.every((r) => r.status === 200)).toBe(true);
    await waitFor(
      () => harness.logs.some((l) => l.msg === "batch delivered" && l.fields["last_replay_id"] === ids[4]),
      2000,
      "log",
    );
    expect(await harness.storedReplayId()).toBe(ids[4]);

    const batchLine = harness.logs.find((l) => l.msg === "batch delivered" && (l.fields["events"] as number) > 0);
    expect(batchLine?.fields).toMatchObject({ channel: CHANNEL, status: 200, attempts: 1 });
    expect(batchLine?.fields).toHaveProperty("first_replay_id");
    expect(batchLine?.fields).toHaveProperty("duration_ms");
    expect(batchLine?.fields).toHaveProperty("backlog");

    const health = await fetch(`${relay.healthUrl}/healthz`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { status: string; backlog: number; channels: Record<string, unknown>[] };
    expect(body.status).toBe("ok");
    expect(body.backlog).toBe(0);
    expect(body.channels[0]).toMatchObject({ channel: CHANNEL, connected: true, last_delivered_replay_id: ids[4] });
    expect(body.channels[0]?.["last_event_at"]).toEqual(expect.any(String));
  });

  it("Worker down (500s) then up: retries the same batch, drops nothing, stores nothing before the 2xx", async () => {
    harness = await new Harness().start();
    const before = harness.pubsub.publish(CHANNEL, accountUpdate(0));
    for (let n = 1; n <= 6; n++) harness.pubsub.publish(CHANNEL, accountUpdate(n));
    await harness.seedReplayId(before);
    const storedDuringOutage: (number | undefined)[] = [];
    harness.worker.respond = async (_body, index) => {
      if (index < 3) {
        storedDuringOutage.push(await harness.storedReplayId());
        return 500;
      }
      return 200;
    };
    await harness.startRelay();
    await waitFor(() => deliveredPhones().length === 6, 5000, "all 6 events after the outage");
    expect(deliveredPhones()).toEqual(phones(1, 6));
    expect(storedDuringOutage).toEqual([before, before, before]);
    const failed = harness.worker.requests.slice(0, 3).map((r) => r.body?.events.map((e) => e.event.replayId));
    expect(failed[1]).toEqual(failed[0]);
    await waitFor(() => harness.logs.some((l) => l.msg === "batch delivered"), 1000, "delivery log");
    expect(await harness.storedReplayId()).toBe(before + 6);
    expect(harness.logs.filter((l) => l.msg === "batch not delivered; retrying")).toHaveLength(3);
  });

  it("restart resumes right after the stored replay id: no catch-up, no duplicates, nothing missed", async () => {
    harness = await new Harness().start();
    const first = await harness.startRelay();
    await waitFor(subscribed, 3000, "subscription");
    for (let n = 1; n <= 3; n++) harness.pubsub.publish(CHANNEL, accountUpdate(n));
    await waitFor(() => deliveredPhones().length === 3, 3000, "first 3 events");
    await first.stop(1000);
    await first.done;
    const requestsBefore = harness.worker.requests.length;

    for (let n = 4; n <= 7; n++) harness.pubsub.publish(CHANNEL, accountUpdate(n));
    await harness.startRelay();
    await waitFor(() => deliveredPhones().length === 7, 3000, "events published while stopped");
    expect(deliveredPhones()).toEqual(phones(1, 7));
    expect(harness.worker.requests.slice(requestsBefore).some((r) => r.body?.catchup)).toBe(false);
  });

  it("expired replay id: resubscribes from the latest event and sends a catch-up before moving the stored id", async () => {
    harness = await new Harness().start();
    const old = harness.pubsub.publish(CHANNEL, accountUpdate(1));
    harness.pubsub.publish(CHANNEL, accountUpdate(2));
    harness.pubsub.retainedAfter = old + 1; // both purged: the stored id is outside retention
    await harness.seedReplayId(old);
    let storedWhenCatchupArrived: number | undefined;
    harness.worker.respond = async (body) => {
      if (body.catchup) storedWhenCatchupArrived = await harness.storedReplayId();
      return 200;
    };
    await harness.startRelay();
    await waitFor(() => harness.worker.accepted.some((b) => b.catchup), 3000, "catch-up");
    expect(harness.worker.accepted.find((b) => b.catchup)?.catchup).toEqual(["Account"]);
    expect(storedWhenCatchupArrived).toBe(old);
    expect(harness.logs.some((l) => l.level === "warn" && /replay id rejected/.test(l.msg))).toBe(true);

    await waitFor(subscribed, 3000, "resubscription from latest");
    const fresh = harness.pubsub.publish(CHANNEL, accountUpdate(3));
    await waitFor(() => deliveredPhones().length === 1, 3000, "new event");
    expect(deliveredPhones()).toEqual(phones(3, 3));
    await waitFor(() => harness.logs.some((l) => l.fields["last_replay_id"] === fresh), 1000, "delivery log");
    expect(await harness.storedReplayId()).toBe(fresh);
  });

  it("flow control: with a stalled Worker the relay holds at most RELAY_BUFFER_CAPACITY events and asks for no more", async () => {
    harness = await new Harness().start({ RELAY_BUFFER_CAPACITY: "5", RELAY_BATCH_SIZE: "5" });
    await harness.seedReplayId(harness.pubsub.publish(CHANNEL, accountUpdate(0)));
    for (let n = 1; n <= 30; n++) harness.pubsub.publish(CHANNEL, accountUpdate(n));
    let release: () => void = () => {};
    let gate = new Promise<void>((resolve) => (release = resolve));
    let acknowledged = 0;
    let worstOverCapacity = 0;
    harness.worker.respond = async (body) => {
      const stream = harness.pubsub.streams[0];
      if (stream) worstOverCapacity = Math.max(worstOverCapacity, stream.sent - acknowledged);
      await gate;
      acknowledged += body.events.length;
      return 200;
    };
    await harness.startRelay();
    await waitFor(() => harness.worker.requests.length === 1, 3000, "first POST");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stream = harness.pubsub.streams[0];
    expect(stream?.sent).toBeLessThanOrEqual(5);
    expect(stream?.requests.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(5);

    // Let the Worker answer one batch at a time: the relay refills only as far as the buffer allows.
    const drain = (async () => {
      while (acknowledged < 30) {
        release();
        gate = new Promise<void>((resolve) => (release = resolve));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await waitFor(() => deliveredPhones().length === 30, 5000, "all 30 events");
    release();
    await drain;
    expect(deliveredPhones()).toEqual(phones(1, 30));
    expect(worstOverCapacity).toBeLessThanOrEqual(5);
  });

  it("forwards GAP events and turns a GAP_OVERFLOW (no record ids) into a catch-up of its object", async () => {
    harness = await new Harness().start();
    await harness.seedReplayId(harness.pubsub.publish(CHANNEL, accountUpdate(0)));
    const gapHeader = (changeType: string, recordIds: string[]) => ({
      ...(accountUpdate(0)["ChangeEventHeader"] as object),
      changeType,
      recordIds,
      changedFields: [],
      transactionKey: `tx-${changeType}`,
    });
    harness.pubsub.publish(CHANNEL, {
      ChangeEventHeader: gapHeader("GAP_UPDATE", ["001Hs00003Gap0001", "001Hs00003Gap0002"]),
    });
    const overflow = harness.pubsub.publish(CHANNEL, { ChangeEventHeader: gapHeader("GAP_OVERFLOW", []) });
    harness.pubsub.publish(CHANNEL, accountUpdate(9));
    await harness.startRelay();
    await waitFor(
      () => harness.worker.acceptedEvents.length === 2 && harness.worker.accepted.some((b) => b.catchup),
      3000,
      "gap + catch-up",
    );
    const [gap, after] = harness.worker.acceptedEvents;
    expect(gap?.payload.ChangeEventHeader).toMatchObject({
      changeType: "GAP_UPDATE",
      recordIds: ["001Hs00003Gap0001", "001Hs00003Gap0002"],
    });
    expect(Object.keys(gap?.payload ?? {})).toEqual(["ChangeEventHeader"]);
    expect(after?.payload["Phone"]).toBe(phones(9, 9)[0]);
    expect(harness.worker.accepted.find((b) => b.catchup)?.catchup).toEqual(["Account"]);
    expect(harness.worker.requests.every((r) => r.status === 200)).toBe(true);
    await waitFor(() => harness.logs.some((l) => l.fields["last_replay_id"] === overflow + 1), 2000, "delivery log");
    expect(await harness.storedReplayId()).toBe(overflow + 1);
  });

  it("expired access token mid-stream: fetches a new token and resumes where it was, without loss", async () => {
    harness = await new Harness().start();
    await harness.seedReplayId(harness.pubsub.publish(CHANNEL, accountUpdate(0)));
    await harness.startRelay();
    await waitFor(subscribed, 3000, "subscription");
    harness.pubsub.publish(CHANNEL, accountUpdate(1));
    await waitFor(() => deliveredPhones().length === 1, 3000, "event 1");

    harness.pubsub.expireTokens();
    harness.pubsub.publish(CHANNEL, accountUpdate(2));
    harness.pubsub.publish(CHANNEL, accountUpdate(3));
    await waitFor(() => deliveredPhones().length === 3, 5000, "events after re-authentication");
    expect(deliveredPhones()).toEqual(phones(1, 3));
    expect(harness.tokens.issued).toBe(2);
    expect(harness.pubsub.seenTokens).toContain("token-2");
  });

  it("a quiet org: keepalives move the stored position to the tip once nothing is pending", async () => {
    harness = await new Harness().start();
    for (let n = 1; n <= 3; n++) harness.pubsub.publish(CHANNEL, accountUpdate(n)); // before the relay existed
    await harness.startRelay();
    await waitFor(() => harness.worker.accepted.some((b) => b.catchup), 3000, "catch-up");
    await waitFor(subscribed, 3000, "subscription");
    expect(await harness.storedReplayId()).toBeUndefined();
    harness.pubsub.keepalive();
    await waitFor(() => harness.pubsub.streams.length === 1, 1000);
    const tip = harness.pubsub.events.get(CHANNEL)?.at(-1)?.replayId;
    let stored: number | undefined;
    const deadline = Date.now() + 2000;
    while (stored !== tip && Date.now() < deadline) {
      stored = await harness.storedReplayId();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(stored).toBe(tip);
    expect(deliveredPhones()).toEqual([]);
  });

  it("a Worker that keeps refusing (wrong RELAY_SECRET): keeps the events, stores nothing, reports itself stalled", async () => {
    harness = await new Harness().start({
      RELAY_STALL_AFTER_MS: "1000",
      RELAY_SECRET: "a-different-secret-than-the-worker",
    });
    await harness.seedReplayId(harness.pubsub.publish(CHANNEL, accountUpdate(0)));
    const seeded = await harness.storedReplayId();
    harness.pubsub.publish(CHANNEL, accountUpdate(1));
    const relay = await harness.startRelay();
    await waitFor(() => harness.worker.requests.length >= 2, 3000, "two refused POSTs");
    expect(harness.worker.requests.every((r) => r.status === 401)).toBe(true);
    expect(harness.logs.some((l) => l.level === "error" && /rejected the batch/.test(l.msg))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const health = await fetch(`${relay.healthUrl}/healthz`);
    expect(health.status).toBe(503);
    const body = (await health.json()) as { status: string; backlog: number; channels: { last_error: string }[] };
    expect(body).toMatchObject({ status: "stalled", backlog: 1 });
    expect(body.channels[0]?.last_error).toMatch(/401/);
    expect(await harness.storedReplayId()).toBe(seeded);
  });

  it("a batch the Worker keeps refusing (400): its bad event is parked in the dead-letter file after 5 attempts, the rest go on", async () => {
    harness = await new Harness().start();
    await harness.seedReplayId(harness.pubsub.publish(CHANNEL, accountUpdate(0)));
    const poison = phones(2, 2)[0];
    harness.worker.respond = (body) => (body.events.some((e) => e.payload["Phone"] === poison) ? 400 : 200);
    const ids = [1, 2, 3, 4].map((n) => harness.pubsub.publish(CHANNEL, accountUpdate(n)));
    const relay = await harness.startRelay();

    await waitFor(() => deliveredPhones().length === 3, 8000, "the events beside the refused one");
    expect(deliveredPhones()).toEqual([...phones(1, 1), ...phones(3, 4)]);
    const letters = await harness.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ channel: CHANNEL, replayId: ids[1], status: 400, attempts: 5 });
    expect(letters[0]?.["event"]).toMatchObject({ payload: { Phone: poison } });
    // The refused event alone was posted 5 times (and its first batch 5 times before that).
    const alone = harness.worker.requests.filter((r) => r.body?.events.length === 1 && r.status === 400);
    expect(alone).toHaveLength(5);
    expect(harness.logs.filter((l) => l.msg.startsWith("events parked in the dead-letter file"))).toEqual([
      expect.objectContaining({ level: "error", fields: expect.objectContaining({ replay_ids: [ids[1]] }) }),
    ]);
    await waitFor(() => harness.logs.some((l) => l.fields["last_replay_id"] === ids[3]), 1000, "delivery log");
    expect(await harness.storedReplayId()).toBe(ids[3]);
    const health = (await (await fetch(`${relay.healthUrl}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: "ok", dead_lettered: 1, backlog: 0 });
  });

  it("an event the relay cannot convert is parked at once and the stream goes on past it", async () => {
    harness = await new Harness().start();
    await harness.seedReplayId(harness.pubsub.publish(CHANNEL, accountUpdate(0)));
    const bad = accountUpdate(2);
    (bad["ChangeEventHeader"] as Record<string, unknown>)["entityName"] = "";
    const ids = [accountUpdate(1), bad, accountUpdate(3)].map((payload) => harness.pubsub.publish(CHANNEL, payload));
    const relay = await harness.startRelay();

    await waitFor(() => deliveredPhones().length === 2, 5000, "the convertible events");
    expect(deliveredPhones()).toEqual([...phones(1, 1), ...phones(3, 3)]);
    const letters = await harness.deadLetters();
    expect(letters).toEqual([
      expect.objectContaining({ replayId: ids[1], attempts: 0, reason: expect.stringMatching(/entityName/) }),
    ]);
    await waitFor(() => harness.logs.some((l) => l.fields["last_replay_id"] === ids[2]), 1000, "delivery log");
    expect(await harness.storedReplayId()).toBe(ids[2]);
    const health = (await (await fetch(`${relay.healthUrl}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ dead_lettered: 1 });
  });

  it("a replay-id file torn by a crash: moved aside, the relay starts from the latest event and asks for a catch-up", async () => {
    harness = await new Harness().start();
    harness.pubsub.publish(CHANNEL, accountUpdate(1));
    await harness.seedReplayId(harness.pubsub.publish(CHANNEL, accountUpdate(2)));
    const whole = await readFile(harness.storePath, "utf8");
    await writeFile(harness.storePath, whole.slice(0, Math.floor(whole.length / 2)));

    await harness.startRelay();
    await waitFor(() => harness.worker.accepted.some((b) => b.catchup), 3000, "catch-up");
    expect(harness.worker.accepted.find((b) => b.catchup)?.catchup).toEqual(["Account"]);
    expect(harness.logs.some((l) => l.level === "error" && /replay store unreadable/.test(l.msg))).toBe(true);
    await waitFor(subscribed, 3000, "subscription from latest");
    const fresh = harness.pubsub.publish(CHANNEL, accountUpdate(3));
    await waitFor(() => deliveredPhones().length === 1, 3000, "the new event");
    expect(deliveredPhones()).toEqual(phones(3, 3));
    await waitFor(() => harness.logs.some((l) => l.fields["last_replay_id"] === fresh), 1000, "delivery log");
    expect(await harness.storedReplayId()).toBe(fresh);
  });

  it("credentials Salesforce refuses: stops with an auth_failed error that says what to check", async () => {
    harness = await new Harness().start({ SALESFORCE_CLIENT_SECRET: "not-the-right-secret" });
    const relay = await harness.startRelay();
    await expect(relay.done).rejects.toMatchObject({
      code: "auth_failed",
      message: expect.stringMatching(/invalid_client.*SALESFORCE_CLIENT_ID/),
    });
    expect(harness.worker.requests.filter((r) => r.body?.events.length)).toHaveLength(0);
  });
});
