import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../../scripts/relay/backoff.ts";
import { batchIsDue, nextBatchSize } from "../../../scripts/relay/batch.ts";
import { entitiesForChannel, isChangeEventChannel } from "../../../scripts/relay/catchup.ts";
import { creditsToRequest, MAX_EVENTS_PER_FETCH } from "../../../scripts/relay/flow-control.ts";
import {
  replayIdForDisplay,
  replayIdFromBase64,
  replayIdFromNumber,
  replayIdToBase64,
} from "../../../scripts/relay/replay-id.ts";
import { signRelayRequest } from "../../../scripts/relay/signing.ts";
import { hmacSha256Hex } from "../../../src/lib/hmac.ts";

describe("flow control", () => {
  it("never lets buffered + outstanding exceed the capacity", () => {
    for (const capacity of [1, 5, 100, 1000]) {
      for (let buffered = 0; buffered <= capacity; buffered += Math.max(1, Math.floor(capacity / 7))) {
        for (
          let outstanding = 0;
          buffered + outstanding <= capacity;
          outstanding += Math.max(1, Math.floor(capacity / 5))
        ) {
          const credits = creditsToRequest({ capacity, buffered, outstanding });
          expect(buffered + outstanding + credits).toBeLessThanOrEqual(capacity);
          expect(credits).toBeLessThanOrEqual(MAX_EVENTS_PER_FETCH);
        }
      }
    }
  });

  it("asks for nothing when the buffer is full, and skips tiny top-ups while a request is outstanding", () => {
    expect(creditsToRequest({ capacity: 10, buffered: 10, outstanding: 0 })).toBe(0);
    expect(creditsToRequest({ capacity: 1000, buffered: 0, outstanding: 0 })).toBe(100);
    expect(creditsToRequest({ capacity: 1000, buffered: 890, outstanding: 100 })).toBe(0);
    expect(creditsToRequest({ capacity: 1000, buffered: 10, outstanding: 0 })).toBe(100);
    expect(creditsToRequest({ capacity: 1000, buffered: 960, outstanding: 0 })).toBe(40);
  });
});

describe("batching", () => {
  const sized = (...bytes: number[]) => bytes.map((b) => ({ bytes: b }));

  it("takes up to maxEvents and maxBytes from the head, but always at least one event", () => {
    expect(nextBatchSize(sized(10, 10, 10), { maxEvents: 2, maxBytes: 1000 })).toBe(2);
    expect(nextBatchSize(sized(400, 400, 400), { maxEvents: 10, maxBytes: 1000 })).toBe(2);
    expect(nextBatchSize(sized(5000, 10), { maxEvents: 10, maxBytes: 1000 })).toBe(1);
    expect(nextBatchSize([], { maxEvents: 10, maxBytes: 1000 })).toBe(0);
  });

  it("sends a full batch at once, a partial one after the linger time, a catch-up request even empty", () => {
    const base = { now: 10_000, maxEvents: 100, lingerMs: 1000, catchupPending: false };
    expect(batchIsDue({ ...base, buffered: 100, oldestBufferedAt: 9_999 })).toBe(true);
    expect(batchIsDue({ ...base, buffered: 5, oldestBufferedAt: 9_500 })).toBe(false);
    expect(batchIsDue({ ...base, buffered: 5, oldestBufferedAt: 9_000 })).toBe(true);
    expect(batchIsDue({ ...base, buffered: 0, oldestBufferedAt: undefined })).toBe(false);
    expect(batchIsDue({ ...base, buffered: 0, oldestBufferedAt: undefined, catchupPending: true })).toBe(true);
  });
});

describe("backoff", () => {
  it("doubles the ceiling per attempt up to the maximum, with full jitter", () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, policy, () => 0.999999))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    expect(backoffDelay(1_000_000, policy, () => 0.5)).toBe(500);
  });
});

describe("signing", () => {
  it("is v1=hex HMAC-SHA256(secret, timestamp + '.' + rawBody), identical to the Worker's HMAC", async () => {
    const raw = JSON.stringify({ events: [], catchup: ["Account"] });
    const headers = signRelayRequest("a-relay-secret-of-some-length", raw, 1_733_486_400_999);
    expect(headers["X-Relay-Timestamp"]).toBe("1733486400");
    expect(headers["X-Relay-Signature"]).toBe(
      `v1=${await hmacSha256Hex("a-relay-secret-of-some-length", `1733486400.${raw}`)}`,
    );
  });
});

describe("replay ids and channels", () => {
  it("keeps replay ids as opaque bytes and shows 8-byte ones as numbers", () => {
    const bytes = replayIdFromNumber(18098167);
    expect(replayIdFromBase64(replayIdToBase64(bytes)).equals(bytes)).toBe(true);
    expect(replayIdForDisplay(bytes)).toBe(18098167);
    expect(replayIdForDisplay(replayIdFromNumber(2n ** 63n))).toBe("9223372036854775808");
    expect(replayIdForDisplay(Buffer.from([1, 2, 3]))).toBe("AQID");
  });

  it("knows which objects a channel carries", () => {
    expect(entitiesForChannel("/data/AccountChangeEvent", ["X"])).toEqual(["Account"]);
    expect(entitiesForChannel("/data/Employee__ChangeEvent", ["X"])).toEqual(["Employee__c"]);
    expect(entitiesForChannel("/data/ChangeEvents", ["Account", "Contact"])).toEqual(["Account", "Contact"]);
    expect(entitiesForChannel("/data/Sync__chn", ["Opportunity"])).toEqual(["Opportunity"]);
    expect(isChangeEventChannel("/data/ChangeEvents")).toBe(true);
    expect(isChangeEventChannel("/event/Order_Placed__e")).toBe(false);
  });
});
