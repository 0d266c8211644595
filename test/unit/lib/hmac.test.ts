import { describe, expect, it } from "vitest";
import { hmacSha256Hex, timingSafeEqual } from "../../../src/lib/hmac.ts";
import { parseRetryAfter, retryAt } from "../../../src/lib/retry-after.ts";

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

describe("parseRetryAfter", () => {
  const now = Date.parse("2023-05-23T14:42:00Z");
  it("reads Attio's HTTP-date form", () => {
    expect(parseRetryAfter("Tue, 23 May 2023 14:42:01 GMT", now)).toBe(1);
  });
  it("gives the HTTP date's own instant for the bucket to reopen at", () => {
    expect(retryAt("Tue, 23 May 2023 14:42:01 GMT", now + 400)).toBe(now + 1_000);
    expect(retryAt("2", now)).toBe(now + 2_000);
    expect(retryAt("Tue, 23 May 2023 14:41:00 GMT", now)).toBe(now);
  });
  it("reads delta-seconds", () => {
    expect(parseRetryAfter("30", now)).toBe(30);
  });
  it("never returns a negative wait and ignores garbage", () => {
    expect(parseRetryAfter("Tue, 23 May 2023 14:41:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
