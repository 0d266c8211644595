import { describe, expect, it } from "vitest";
import { pipeline } from "../../../src/queue/slices.ts";

/** Slices whose runs the test drives by hand: each reads, asks for its turn, writes, finishes. */
function scripted() {
  const log: string[] = [];
  const steps = new Map<string, { read(): void; finish(): void }>();
  const run = (slice: string, turn: () => Promise<void>) =>
    new Promise<void>((resolve) => {
      log.push(`start ${slice}`);
      steps.set(slice, {
        read: () => {
          turn().then(() => log.push(`write ${slice}`));
        },
        finish: () => {
          log.push(`done ${slice}`);
          resolve();
        },
      });
    });
  return { log, run, step: (slice: string) => steps.get(slice) as { read(): void; finish(): void } };
}

/** Lets every pending promise callback run. */
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("pipeline", () => {
  it("reads the next slice while the current one writes, and writes one slice at a time", async () => {
    const { log, run, step } = scripted();
    const all = pipeline(["a", "b", "c"], run);
    await flush();
    expect(log).toEqual(["start a"]);

    step("a").read();
    await flush();
    expect(log).toEqual(["start a", "write a", "start b"]);

    // b has read, but writes only once a is done; c waits for that too (never three alive).
    step("b").read();
    await flush();
    expect(log).toEqual(["start a", "write a", "start b"]);

    step("a").finish();
    await flush();
    expect(log.slice(3)).toEqual(["done a", "write b", "start c"]);

    step("c").read();
    step("b").finish();
    await flush();
    expect(log.slice(6)).toEqual(["done b", "write c"]);
    step("c").finish();
    await all;
  });

  it("moves on when a slice finishes without asking to write (all settled, or nothing leased)", async () => {
    const { log, run, step } = scripted();
    const all = pipeline(["a", "b"], run);
    await flush();
    step("a").finish();
    await flush();
    expect(log).toEqual(["start a", "done a", "start b"]);
    step("b").read();
    await flush();
    expect(log.at(-1)).toBe("write b");
    step("b").finish();
    await all;
  });

  it("does nothing for no slices", async () => {
    const { log, run } = scripted();
    await pipeline([], run);
    expect(log).toEqual([]);
  });
});
