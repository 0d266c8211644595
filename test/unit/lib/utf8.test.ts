import { describe, expect, it } from "vitest";
import { jsonBytes, utf8Length } from "../../../src/lib/utf8.ts";

const encoded = (text: string) => new TextEncoder().encode(text).length;

describe("utf8Length", () => {
  it.each([
    ["", "empty"],
    ["Acme Corp, 001000000000001AAA\n", "ASCII"],
    ["Zürich", "two-byte letters"],
    ["東京 – Ōsaka", "three-byte characters"],
    ["🚀 launch 😀", "surrogate pairs (four bytes)"],
    ["lone \ud800 high and \udc00 low surrogates", "lone surrogates (encoded as U+FFFD)"],
    ["ends on a high surrogate \ud83d", "a high surrogate at the end"],
  ])("counts what TextEncoder encodes: %j (%s)", (text) => {
    expect(utf8Length(text)).toBe(encoded(text));
  });
});

describe("jsonBytes", () => {
  it("is the UTF-8 length of the value's JSON", () => {
    const value = { name: "Société Générale", tags: ["a", "東"], n: 1.5 };
    expect(jsonBytes(value)).toBe(encoded(JSON.stringify(value)));
  });
});
