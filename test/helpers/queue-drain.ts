import worker from "../../src/index.ts";

/**
 * Messages a test enqueues through the real local queue are consumed in the background, possibly
 * after the test has finished. Counting the consumer's running invocations lets a test file wait
 * for that work before its storage is torn down (which would otherwise fail mid-write).
 */
let running = 0;
const consume = worker.queue;
worker.queue = async (...args: Parameters<typeof consume>) => {
  running += 1;
  try {
    await consume(...args);
  } finally {
    running -= 1;
  }
};

/** Waits (bounded) until no consumer invocation has run for a moment. */
export async function drainQueue(timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let quietSince = Date.now();
  while (Date.now() < until) {
    if (running > 0) quietSince = Date.now();
    // The queue delivers batches within its 50 ms test timeout: 300 ms of quiet means it is idle.
    else if (Date.now() - quietSince > 300) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
