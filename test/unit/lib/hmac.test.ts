import { describe, expect, it } from "vitest";
import { hmacSha256Hex, timingSafeEqual } from "../../../src/lib/hmac.ts";
import { retryAt } from "../../../src/lib/retry-after.ts";

describe("hmacSha256Hex", () => {
  it("matches an HMAC-SHA256 computed independently (Python's hmac module)", async () => {
    expect(await hmacSha256Hex("whsec_test", '{"webhook_id":"w","events":[]}')).toBe(
      "3bfecd7aa5ad309f55bbbfc076cb3529ad5097ae8df9b983c74c6cefdad495aa",
    );
  });
});

describe("timingSafeEqual", () => {
  it("is true only for identical strings", () => {
    expect(timingSafeEqual("abc", "abc")).toBe(true);
    expect(timingSafeEqual("abc", "abd")).toBe(false);
    expect(timingSafeEqual("abc", "abcd")).toBe(false);
  });
});

describe("retryAt", () => {
  const now = Date.parse("2023-05-23T14:42:00Z");
  it("gives the instant of Attio's HTTP-date form, for the bucket to reopen at", () => {
    expect(retryAt("Tue, 23 May 2023 14:42:01 GMT", now)).toBe(now + 1_000);
    expect(retryAt("Tue, 23 May 2023 14:42:01 GMT", now + 400)).toBe(now + 1_000);
  });
  it("reads delta-seconds", () => {
    expect(retryAt("30", now)).toBe(now + 30_000);
  });
  it("never returns a time in the past and ignores garbage", () => {
    expect(retryAt("Tue, 23 May 2023 14:41:00 GMT", now)).toBe(now);
    expect(retryAt("soon", now)).toBeUndefined();
    expect(retryAt(null, now)).toBeUndefined();
  });
});
