import { once } from "node:events";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { type AttioEmulatorOptions, startAttioEmulator } from "./server.ts";

/** What the stack needs of an Attio emulator it talks to over HTTP only. */
export interface AttioEndpoint {
  url: string;
  apiKey: string;
  /** The longest its event loop was blocked since the previous call, in ms. */
  stallMs(): Promise<number>;
  close(): Promise<void>;
}

type ToThread = { kind: "stall" } | { kind: "close" };
type FromThread = { kind: "ready"; url: string; apiKey: string } | { kind: "stall"; ms: number };

/**
 * The Attio emulator on a thread of its own, for benchmarks. Real Attio stamps a request when it
 * reaches Attio. On the main thread, a pause there (a garbage collection of the Salesforce
 * emulator's 100,000 records, a big SOQL sort, wrangler's own work) held the Worker's paced writes
 * back and let them in together, and Attio's one-second window counted a burst that was never sent.
 * Its own event loop, and its own heap, keep its clock to its own work.
 */
export async function startAttioEmulatorThread(options: AttioEmulatorOptions): Promise<AttioEndpoint> {
  // tsx compiles the emulator's TypeScript in the thread as it does in the process.
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { attioEmulator: options },
    execArgv: ["--import", "tsx"],
  });
  const [ready] = (await once(worker, "message")) as [FromThread];
  if (ready.kind !== "ready") throw new Error("the Attio emulator thread did not start");
  let exited: Promise<unknown> | undefined;
  return {
    url: ready.url,
    apiKey: ready.apiKey,
    async stallMs() {
      worker.postMessage({ kind: "stall" } satisfies ToThread);
      const [reply] = (await once(worker, "message")) as [FromThread];
      return reply.kind === "stall" ? reply.ms : 0;
    },
    close() {
      exited ??= (async () => {
        worker.postMessage({ kind: "close" } satisfies ToThread);
        await once(worker, "exit");
      })();
      return exited.then(() => undefined);
    },
  };
}

/** The thread's side: start the emulator, answer the main thread's requests, stop when told. */
async function serve(options: AttioEmulatorOptions): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const emulator = await startAttioEmulator(options);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  port.on("message", async (message: ToThread) => {
    if (message.kind === "stall") {
      port.postMessage({ kind: "stall", ms: delay.max / 1e6 } satisfies FromThread);
      delay.reset();
      return;
    }
    delay.disable();
    await emulator.close();
    port.close();
  });
  port.postMessage({ kind: "ready", url: emulator.url, apiKey: emulator.apiKey } satisfies FromThread);
}

if (!isMainThread && workerData?.attioEmulator) await serve(workerData.attioEmulator as AttioEmulatorOptions);
