/**
 * CPU profiles of the Worker's isolate over the V8 inspector that wrangler dev opens (DevTools
 * protocol over a WebSocket): `npm run bench -- jobs --profile=FILE` writes one `.cpuprofile`
 * (open it in Chrome DevTools' Performance panel) and prints where the time went; beside it a
 * `.heapprofile` of sampled allocations, garbage included (the Memory panel opens it), and which
 * functions allocated most. Our Durable Objects run in the same isolate; local D1, KV and Queues
 * run in miniflare's own workers and are not in it.
 */
import { writeFile } from "node:fs/promises";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
/** The `Profiler.Profile` of the DevTools protocol, as far as it is read here. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A node of the DevTools protocol's `HeapProfiler.SamplingHeapProfile`. */
interface HeapNode {
  callFrame: CallFrame;
  /** Bytes the samples taken in this function stand for. */
  selfSize: number;
  children: HeapNode[];
}

/** Microseconds between samples: finer costs the isolate more. */
const SAMPLING_INTERVAL_US = 500;

/** Mean bytes allocated between allocation samples (V8's default is 32 KiB). */
const HEAP_SAMPLING_BYTES = 16_384;

/**
 * Starts profiling the Worker behind the inspector on `port`; the returned function stops,
 * writes the profile to `file` and returns it.
 */
export async function startProfile(
  port: number,
  file: string,
): Promise<() => Promise<{ cpu: CpuProfile; heap: HeapNode }>> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${port}`);
  // wrangler's inspector proxy accepts only local origins; Node's WebSocket sends none unless told.
  const socket = new WebSocket(url, { headers: { origin: "http://127.0.0.1" } } as unknown as string[]);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener("error", () => reject(new Error(`inspector ${url} refused`)), { once: true });
  });
  const pending = new Map<number, (result: unknown) => void>();
  socket.addEventListener("message", (event) => {
    const reply = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (reply.id !== undefined) pending.get(reply.id)?.(reply.result);
  });
  let nextId = 1;
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
  await call("Profiler.start");
  // Objects that died young count too: what costs the collector is what was allocated, not kept.
  await call("HeapProfiler.startSampling", {
    samplingInterval: HEAP_SAMPLING_BYTES,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return async () => {
    const { profile } = (await call("Profiler.stop")) as { profile: CpuProfile };
    const heap = (await call("HeapProfiler.stopSampling")) as { profile: { head: HeapNode } };
    socket.close();
    await writeFile(file, JSON.stringify(profile));
    await writeFile(file.replace(/(\.cpuprofile)?$/, ".heapprofile"), JSON.stringify(heap.profile));
    return { cpu: profile, heap: heap.profile.head };
  };
}

const label = (frame: CallFrame) =>
  `${frame.functionName || "(anonymous)"} ${frame.url ? `${frame.url.split("/").at(-1)}:${frame.lineNumber + 1}` : ""}`.trim();

/** Bytes allocated per function (self) and per function with its callees, the `top` largest of each. */
export function summarizeHeap(head: HeapNode, top = 20): string {
  const selfBy = new Map<string, number>();
  const totalBy = new Map<string, number>();
  const walk = (node: HeapNode, stack: readonly string[]): number => {
    const name = label(node.callFrame);
    selfBy.set(name, (selfBy.get(name) ?? 0) + node.selfSize);
    let total = node.selfSize;
    for (const child of node.children) total += walk(child, [...stack, name]);
    // Each function on the stack once, however deep its recursion.
    if (!stack.includes(name)) totalBy.set(name, (totalBy.get(name) ?? 0) + total);
    return total;
  };
  const all = walk(head, []);
  const rows = (map: Map<string, number>) =>
    [...map]
      .filter(([name]) => name !== "(root)")
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([name, bytes]) =>
          `    ${(bytes / 2 ** 20).toFixed(0).padStart(7)} MiB  ${((bytes / all) * 100).toFixed(1).padStart(5)}%  ${name}`,
      );
  return [
    `  allocated: ${(all / 2 ** 20).toFixed(0)} MiB (sampled every ${HEAP_SAMPLING_BYTES / 1024} KiB)`,
    "  allocated in:",
    ...rows(selfBy),
    "  allocated in, with callees:",
    ...rows(totalBy),
  ].join("\n");
}

/** Self time per function and per function with its callees, the `top` largest of each. */
export function summarize(profile: CpuProfile, top = 25): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<number, number>();
  // A sample after a gap carries the whole gap (the isolate was not running, or the sampler thread
  // was not scheduled on this busy machine): each sample counts for one interval at most.
  profile.samples.forEach((id, index) => {
    const delta = Math.min(profile.timeDeltas[index] ?? 0, SAMPLING_INTERVAL_US * 2);
    self.set(id, (self.get(id) ?? 0) + delta);
  });
  const selfBy = new Map<string, number>();
  const totalBy = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const own = label(node.callFrame);
    selfBy.set(own, (selfBy.get(own) ?? 0) + us);
    // Each function on the stack once, however deep its recursion.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame) break;
      const name = label(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      totalBy.set(name, (totalBy.get(name) ?? 0) + us);
    }
  }
  const all = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = selfBy.get("(idle)") ?? 0;
  const rows = (map: Map<string, number>) =>
    [...map]
      .filter(([name]) => name !== "(idle)" && name !== "(root)")
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([name, us]) =>
          `    ${(us / 1000).toFixed(0).padStart(7)} ms  ${((us / (all - idle)) * 100).toFixed(1).padStart(5)}%  ${name}`,
      );
  return [
    `  profile: ${((all - idle) / 1000).toFixed(0)} ms busy of ${(all / 1000).toFixed(0)} ms sampled`,
    "  self time:",
    ...rows(selfBy),
    "  with callees:",
    ...rows(totalBy),
  ].join("\n");
}

/**
 * The methods of our Durable Objects (RateLimiter, RecordLock), as their frames are named in the
 * bundle. Locally they run in the Worker's isolate, called straight from the event loop; on
 * Cloudflare each object has an isolate of its own, so their time is not the Worker's.
 */
const DURABLE_OBJECT_METHODS = new Set([
  "take",
  "settle",
  "stillClear",
  "inspect",
  "penalize",
  "acquireMany",
  "releaseMany",
  "acquire",
  "release",
]);

/**
 * Isolate time sampled within each window (`startUs`..`endUs`, on the profile's clock: µs of the
 * monotonic clock, the same as `process.hrtime`), idle left out, and the part of it in our Durable
 * Objects' methods. Everything else the isolate ran in the window counts: an upper bound of what
 * one invocation in that window used, since webhooks and other invocations may run beside it.
 */
export function busyInWindows(
  profile: CpuProfile,
  windows: readonly { startUs: number; endUs: number }[],
): { busyMs: number; durableObjectMs: number }[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const root = profile.nodes[0]?.id;
  const kindOf = new Map<number, "idle" | "do" | "other">();
  const kind = (id: number): "idle" | "do" | "other" => {
    const known = kindOf.get(id);
    if (known) return known;
    let top = id;
    while (parent.has(top) && parent.get(top) !== root) top = parent.get(top) as number;
    const frame = byId.get(top)?.callFrame;
    const own = byId.get(id)?.callFrame.functionName;
    const result =
      own === "(idle)"
        ? "idle"
        : frame?.url.endsWith("index.js") && DURABLE_OBJECT_METHODS.has(frame.functionName)
          ? "do"
          : "other";
    kindOf.set(id, result);
    return result;
  };
  const out = windows.map(() => ({ busyMs: 0, durableObjectMs: 0 }));
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    const k = kind(id);
    if (k === "idle") return;
    const ms = Math.min(delta, SAMPLING_INTERVAL_US * 2) / 1000;
    windows.forEach((window, w) => {
      if (at < window.startUs || at > window.endUs) return;
      const slot = out[w] as { busyMs: number; durableObjectMs: number };
      slot.busyMs += ms;
      if (k === "do") slot.durableObjectMs += ms;
    });
  });
  return out;
}
