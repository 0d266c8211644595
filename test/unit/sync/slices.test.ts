import { describe, expect, it } from "vitest";
import { pipeline } from "../../../src/sync/slices.ts";

/** A slice's run that the test drives by hand: it reads, says it is writing, then finishes. */
function scripted() {
  const log: string[] = [];
  const steps = new Map<string, { writing(): void; finish(): void }>();
  const run = (slice: string, writing: () => void) =>
    new Promise<void>((resolve) => {
      log.push(`start ${slice}`);
      steps.set(slice, {
        writing: () => {
          log.push(`writing ${slice}`);
          writing();
        },
        finish: () => {
          log.push(`done ${slice}`);
          resolve();
        },
      });
    });
  return { log, run, step: (slice: string) => steps.get(slice) as { writing(): void; finish(): void } };
}

/** Lets every pending promise callback run. */
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("pipeline", () => {
  it("starts the next slice while the current one writes, never more than two alive", async () => {
    const { log, run, step } = scripted();
    const all = pipeline(["a", "b", "c"], run);
    await flush();
    expect(log).toEqual(["start a"]);

    step("a").writing();
    await flush();
    expect(log).toEqual(["start a", "writing a", "start b"]);

    // b writes while a still does: c waits for a to finish.
    step("b").writing();
    await flush();
    expect(log.at(-1)).toBe("writing b");

    step("a").finish();
    await flush();
    expect(log.slice(-2)).toEqual(["done a", "start c"]);

    step("c").writing();
    step("b").finish();
    step("c").finish();
    await all;
    expect(log.filter((line) => line.startsWith("done"))).toEqual(["done a", "done b", "done c"]);
  });

  it("moves on when a slice finishes without writing (everything settled, or nothing leased)", async () => {
    const { log, run, step } = scripted();
    const all = pipeline(["a", "b"], run);
    await flush();
    step("a").finish();
    await flush();
    expect(log).toEqual(["start a", "done a", "start b"]);
    step("b").finish();
    await all;
  });

  it("does nothing for no slices", async () => {
    const { log, run } = scripted();
    await pipeline([], run);
    expect(log).toEqual([]);
  });
});
