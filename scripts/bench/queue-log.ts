/**
 * Queue invocations of the Worker under wrangler dev, read from the line miniflare's queue broker
 * logs after each batch it delivered (`QUEUE attio-sfdc-sync 12/12 (85ms)`: messages acknowledged,
 * messages delivered, the invocation's wall time). wrangler prints it at its `info` level, which
 * the sandbox stack turns on with any `logLevel` but `silent`; this captures those lines from this
 * process's stdout and swallows wrangler's other `[wrangler:info]` lines (one per HTTP request).
 * Locally the broker runs one batch of a queue at a time; Cloudflare may run several at once.
 */

/** One queue invocation, as the broker logged it. */
export interface Invocation {
  queue: string;
  acked: number;
  messages: number;
  wallMs: number;
  /** When the line reached this process, in µs of the monotonic clock (CPU profiles' clock): the invocation's end, give or take a few ms. */
  endedAtUs: number;
}

export interface QueueLog {
  readonly invocations: Invocation[];
  /** Invocations since `from` (an index into `invocations`). */
  since(from: number): Invocation[];
  stop(): void;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes
const ANSI = /\u001b\[[0-9;]*m/g;
const LINE = /QUEUE (\S+) (\d+)\/(\d+)(?: \((\d+)ms\))?/;

export function captureQueueLog(): QueueLog {
  const invocations: Invocation[] = [];
  const write = process.stdout.write.bind(process.stdout);
  let partial = "";
  const capture = (chunk: unknown, ...rest: unknown[]): boolean => {
    const text = partial + (typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    const lines = text.split("\n");
    partial = lines.pop() ?? "";
    const kept: string[] = [];
    for (const line of lines) {
      const plain = line.replace(ANSI, "");
      const match = LINE.exec(plain);
      if (match) {
        invocations.push({
          queue: match[1] as string,
          acked: Number(match[2]),
          messages: Number(match[3]),
          wallMs: Number(match[4] ?? 0),
          endedAtUs: Number(process.hrtime.bigint() / 1000n),
        });
      }
      if (!plain.startsWith("[wrangler:info]")) kept.push(line);
    }
    if (kept.length === 0) {
      const done = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
      if (done) queueMicrotask(done);
      return true;
    }
    return (write as (...args: unknown[]) => boolean)(`${kept.join("\n")}\n`, ...rest);
  };
  process.stdout.write = capture as typeof process.stdout.write;
  return {
    invocations,
    since: (from) => invocations.slice(from),
    stop() {
      process.stdout.write = write;
    },
  };
}

/** Per queue: invocations, messages, largest batch and longest invocation. */
export function invocationSummary(list: readonly Invocation[]): string {
  const byQueue = new Map<string, Invocation[]>();
  for (const inv of list) byQueue.set(inv.queue, [...(byQueue.get(inv.queue) ?? []), inv]);
  if (byQueue.size === 0) return "no queue invocations logged";
  return [...byQueue]
    .map(([queue, invs]) => {
      const messages = invs.reduce((sum, inv) => sum + inv.messages, 0);
      const biggest = Math.max(...invs.map((inv) => inv.messages));
      const longest = Math.max(...invs.map((inv) => inv.wallMs));
      return `${queue}: ${invs.length} invocations, ${messages} messages (${(messages / invs.length).toFixed(1)} per invocation, at most ${biggest}), longest ${longest} ms`;
    })
    .join("; ");
}
