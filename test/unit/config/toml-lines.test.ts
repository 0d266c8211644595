import { describe, expect, it } from "vitest";
import { parseSyncConfig, safeParseSyncConfig } from "../../../src/config/config-toml.ts";
import { indexTomlLines, lineOf } from "../../../src/config/toml-lines.ts";
import { SyncError } from "../../../src/lib/errors.ts";

describe("locating config.toml lines", () => {
  it("skips lines that are not keys (inside multi-line arrays, odd headers) without losing later keys", () => {
    const text = [
      "[mappings.companies]", // 1
      "match_keys = [", // 2
      '  { attio = "domains", salesforce = "Website", normalize = "domain" },', // 3
      "]", // 4
      "[not a key!]", // 5
      "[[also bad!]]", // 6
      "weird key = 1", // 7
      "[sync]", // 8
      "batch_size = 0", // 9
    ].join("\n");
    const index = indexTomlLines(text);
    expect(lineOf(index, ["mappings", "companies", "match_keys", 0, "attio"])).toBe(2);
    expect(lineOf(index, ["sync", "batch_size"])).toBe(9);
    expect([...index.keys()]).toEqual([
      "mappings.companies",
      "mappings.companies.match_keys",
      "sync",
      "sync.batch_size",
    ]);
  });

  it("a path under no known table has no line", () => {
    expect(lineOf(indexTomlLines("[sync]\n"), ["salesforce", "bulk_threshold"])).toBeUndefined();
  });

  it("a key given twice (a locator reads even invalid files) keeps its first line", () => {
    const index = indexTomlLines("[sync]\nbatch_size = 1\nbatch_size = 2\n");
    expect(index.get("sync.batch_size")).toBe(2);
  });

  it("a problem found in a multi-line inline array points at the array's line", () => {
    const result = safeParseSyncConfig(
      [
        "[mappings.companies]",
        "match_keys = [",
        '  { attio = "domains", salesforce = "Website", normalize = "fuzzy" },',
        "]",
      ].join("\n"),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      expect.objectContaining({ path: "mappings.companies.match_keys.0.normalize", line: 2 }),
    ]);
  });

  it("a TOML syntax error thrown by parseSyncConfig names the file, its line, and is a 400", () => {
    let error: unknown;
    try {
      parseSyncConfig("[sync\nbatch_size = 1\n");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({ code: "config_invalid", status: 400, retryable: false });
    expect((error as SyncError).message).toMatch(/^Invalid config\.toml: config\.toml \(line 1\): /);
  });
});
