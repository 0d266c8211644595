/**
 * `npm run bench -- latency [edits] [--latency=MS,...] [--batch-timeout=S] [--instant] [--inline] [--burst=N]`:
 * end-to-end sync latency through the sandbox stack (both emulators + the Worker under wrangler dev).
 *
 * The queues batch as wrangler.toml deploys them (`max_batch_timeout` of each consumer), unless
 * `--batch-timeout=S` sets the live queue's (attio-sfdc-sync) to S seconds for this run, or
 * `--instant` delivers every queue at once (every `max_batch_timeout` 0: the sandbox's default,
 * for comparison). `--inline` turns the live fast path on (LIVE_SYNC_INLINE=on: a webhook syncs a
 * person's change in its own invocation), for comparison.
 *
 * For each added API latency (the emulators' `latencyMs` fault knob, on every API response of
 * both), it makes `edits` human edits (default 200), one at a time, alternately in Attio and in
 * Salesforce, and measures the time from the edit until the other emulator holds the new value.
 * Prints p50, p90, p99 and max per setting, and the live queue's invocations.
 *
 * `--burst=N`: then N pairs more are linked and N human edits made at once, half of them in Attio
 * and half in Salesforce, one per pair (20 requests in flight). Prints how long until every edit
 * reached the other side, the live queue's invocations per edit and the CPU the Worker's workerd
 * process used from the first edit until the emulators were quiet, per edit: what a setting costs
 * when many changes come together.
 * Not a test: nothing here asserts; the numbers go to docs/BENCHMARKS.md.
 */
import { type Stack, startStack } from "../sandbox/stack.ts";
import { captureQueueLog, type Invocation, invocationSummary } from "./queue-log.ts";
import { workerdSeconds } from "./workerd-cpu.ts";

const args = process.argv.slice(3);
const EDITS = Number(args.find((a) => /^\d+$/.test(a)) ?? 200);
const LATENCIES = (args.find((a) => a.startsWith("--latency="))?.slice("--latency=".length) ?? "0,100")
  .split(",")
  .map(Number);
const INSTANT = args.includes("--instant");
/** `--inline`: the live fast path on (LIVE_SYNC_INLINE=on; wrangler.toml deploys it off). */
const INLINE = args.includes("--inline");
const BATCH_TIMEOUT = args.find((a) => a.startsWith("--batch-timeout="))?.slice("--batch-timeout=".length);
const BURST = Number(args.find((a) => a.startsWith("--burst="))?.slice("--burst=".length) ?? 0);
const LIVE_QUEUE = "attio-sfdc-sync";
const PAIRS = 10;
const TIMEOUT_MS = 15_000;
const BURST_TIMEOUT_MS = 120_000;
/** After a burst: no API request to either emulator and no queue batch for this long. */
const QUIET_MS = 3_000;

if (INSTANT && BATCH_TIMEOUT !== undefined) throw new Error("--instant and --batch-timeout exclude each other");
if (BATCH_TIMEOUT !== undefined && !(Number(BATCH_TIMEOUT) >= 0 && Number(BATCH_TIMEOUT) <= 60)) {
  throw new Error("--batch-timeout is in seconds, 0 to 60 (Cloudflare Queues' range for max_batch_timeout)");
}

interface Pair {
  personId: string;
  contactId: string;
  email: string;
}

async function post<T>(url: string, body: unknown, method = "POST"): Promise<T> {
  const response = await fetch(url, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function contacts(stack: Stack): Promise<Record<string, unknown>[]> {
  const dump = (await (await fetch(`${stack.salesforce.url}/__control/state`)).json()) as {
    records: { Contact?: Record<string, unknown>[] };
  };
  return dump.records.Contact ?? [];
}

async function people(
  stack: Stack,
): Promise<{ id: { record_id: string }; values: Record<string, { value?: unknown }[]> }[]> {
  const dump = (await (await fetch(`${stack.attio.url}/__control/state`)).json()) as {
    records: { people?: { id: { record_id: string }; values: Record<string, { value?: unknown }[]> }[] };
  };
  return dump.records.people ?? [];
}

/** Polls every 5 ms until `check` is true; returns the elapsed milliseconds since `start`, or null. */
async function until(start: number, check: () => Promise<boolean>, timeoutMs = TIMEOUT_MS): Promise<number | null> {
  while (performance.now() - start < timeoutMs) {
    if (await check()) return performance.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

/** Creates `count` people in Attio (as a person would) and waits until each has its Contact. */
async function link(stack: Stack, from: number, count: number): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (let i = from; i < from + count; i++) {
    const email = `bench.${i}@latency.example`;
    const { data } = await post<{ data: { id: { record_id: string } } }>(`${stack.attio.url}/__control/edit`, {
      object: "people",
      values: {
        name: { first_name: "Bench", last_name: `Pair${i}`, full_name: `Bench Pair${i}` },
        email_addresses: [email],
        job_title: "start",
      },
    });
    pairs.push({ personId: data.id.record_id, contactId: "", email });
  }
  const linked = await until(
    performance.now(),
    async () => {
      const all = new Map((await contacts(stack)).map((c) => [c["Email"], String(c["Id"])]));
      for (const pair of pairs) pair.contactId = all.get(pair.email) ?? "";
      return pairs.every((p) => p.contactId);
    },
    BURST_TIMEOUT_MS,
  );
  if (linked === null) throw new Error("setup: the Contacts did not appear");
  // Let the echoes and Attio's system follow-ups of the setup pass.
  await sleep(3000 + (BATCH_TIMEOUT === undefined ? 5000 : Number(BATCH_TIMEOUT) * 1000));
  return pairs;
}

async function setFaults(stack: Stack, latencyMs: number): Promise<void> {
  await post(`${stack.attio.url}/__control/faults`, { latencyMs }, "PUT");
  await post(`${stack.salesforce.url}/__control/faults`, { latencyMs }, "PUT");
}

function summary(list: number[]): string {
  const sorted = [...list].sort((a, b) => a - b);
  const f = (n: number) => `${Math.round(n)} ms`.padStart(8);
  return `p50 ${f(percentile(sorted, 50))}  p90 ${f(percentile(sorted, 90))}  p99 ${f(percentile(sorted, 99))}  max ${f(sorted.at(-1) ?? Number.NaN)}  (n=${sorted.length})`;
}

function liveInvocations(list: readonly Invocation[]): Invocation[] {
  return list.filter((inv) => inv.queue === LIVE_QUEUE);
}

async function measure(stack: Stack, pairs: Pair[], addedMs: number, log: ReturnType<typeof captureQueueLog>) {
  await setFaults(stack, addedMs);
  const logFrom = log.invocations.length;
  const samples: { side: "attio" | "salesforce"; ms: number }[] = [];
  let timeouts = 0;
  for (let i = 0; i < EDITS; i++) {
    const pair = pairs[i % pairs.length] as Pair;
    const value = `lat${addedMs}-${i}`;
    const side = i % 2 === 0 ? "attio" : "salesforce";
    const start = performance.now();
    let ms: number | null;
    if (side === "attio") {
      await post(`${stack.attio.url}/__control/edit`, {
        object: "people",
        record_id: pair.personId,
        values: { job_title: value },
      });
      ms = await until(start, async () =>
        (await contacts(stack)).some((c) => c["Id"] === pair.contactId && c["Title"] === value),
      );
    } else {
      await post(`${stack.salesforce.url}/__control/edit`, {
        object: "Contact",
        id: pair.contactId,
        fields: { Title: value },
      });
      ms = await until(start, async () =>
        (await people(stack)).some(
          (p) => p.id.record_id === pair.personId && p.values["job_title"]?.[0]?.value === value,
        ),
      );
    }
    if (ms === null) timeouts++;
    else samples.push({ side, ms });
  }
  console.log(`added API latency ${addedMs} ms per call, ${EDITS} edits${timeouts ? `, ${timeouts} timed out` : ""}:`);
  console.log(`  all          ${summary(samples.map((s) => s.ms))}`);
  console.log(`  Attio -> SF  ${summary(samples.filter((s) => s.side === "attio").map((s) => s.ms))}`);
  console.log(`  SF -> Attio  ${summary(samples.filter((s) => s.side === "salesforce").map((s) => s.ms))}`);
  console.log(`  queue invocations: ${invocationSummary(liveInvocations(log.since(logFrom)))}`);
}

/** Requests either emulator has answered so far. */
async function requestsSeen(stack: Stack): Promise<number> {
  const [attio, salesforce] = await Promise.all(
    [stack.attio.url, stack.salesforce.url].map(
      async (url) => ((await (await fetch(`${url}/__control/stats`)).json()) as { requests: number }).requests,
    ),
  );
  return (attio ?? 0) + (salesforce ?? 0);
}

/** Waits until neither emulator has seen an API request, nor the queues delivered a batch, for QUIET_MS. */
async function quiet(stack: Stack, log: ReturnType<typeof captureQueueLog>): Promise<void> {
  const seen = async () => `${await requestsSeen(stack)}:${log.invocations.length}`;
  let last = await seen();
  let since = performance.now();
  while (performance.now() - since < QUIET_MS) {
    await sleep(250);
    const now = await seen();
    if (now !== last) since = performance.now();
    last = now;
  }
}

async function burst(stack: Stack, log: ReturnType<typeof captureQueueLog>): Promise<void> {
  await setFaults(stack, 0);
  const pairs = await link(stack, PAIRS, BURST);
  await quiet(stack, log);
  const proxyPort = Number(new URL(stack.workerUrl).port);
  // What the Worker's workerd uses doing nothing (timers, the local queue broker), subtracted below.
  const idleFrom = workerdSeconds(proxyPort);
  const idleStart = performance.now();
  await sleep(QUIET_MS);
  const idleTo = workerdSeconds(proxyPort);
  const idlePerMs = idleFrom && idleTo ? (idleTo.worker - idleFrom.worker) / (performance.now() - idleStart) : 0;
  const cpuFrom = workerdSeconds(proxyPort);
  const logFrom = log.invocations.length;
  const start = performance.now();
  const edits = pairs.map((pair, i) => ({ pair, side: i % 2 === 0 ? "attio" : "salesforce", value: `burst-${i}` }));
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < edits.length) {
        const { pair, side, value } = edits[next++] as (typeof edits)[number];
        if (side === "attio") {
          await post(`${stack.attio.url}/__control/edit`, {
            object: "people",
            record_id: pair.personId,
            values: { job_title: value },
          });
        } else {
          await post(`${stack.salesforce.url}/__control/edit`, {
            object: "Contact",
            id: pair.contactId,
            fields: { Title: value },
          });
        }
      }
    }),
  );
  const sent = performance.now() - start;
  const converged = await until(
    start,
    async () => {
      const [sf, attio] = await Promise.all([contacts(stack), people(stack)]);
      const titles = new Map(sf.map((c) => [String(c["Id"]), c["Title"]]));
      const jobs = new Map(attio.map((p) => [p.id.record_id, p.values["job_title"]?.[0]?.value]));
      return edits.every(({ pair, side, value }) =>
        side === "attio" ? titles.get(pair.contactId) === value : jobs.get(pair.personId) === value,
      );
    },
    BURST_TIMEOUT_MS,
  );
  await quiet(stack, log);
  const cpuTo = workerdSeconds(proxyPort);
  const elapsed = performance.now() - start;
  const invocations = liveInvocations(log.since(logFrom));
  const messages = invocations.reduce((sum, inv) => sum + inv.messages, 0);
  console.log(
    `burst of ${BURST} edits (half in Attio, half in Salesforce, one per pair), sent in ${Math.round(sent)} ms:`,
  );
  console.log(
    `  every edit on the other side after ${converged === null ? `more than ${BURST_TIMEOUT_MS} ms` : `${Math.round(converged)} ms`}`,
  );
  console.log(
    `  ${LIVE_QUEUE}: ${invocations.length} invocations = ${(invocations.length / BURST).toFixed(2)} per edit, ${messages} messages (${(messages / Math.max(1, invocations.length)).toFixed(1)} per invocation)`,
  );
  if (cpuFrom && cpuTo) {
    const worker = cpuTo.worker - cpuFrom.worker - idlePerMs * elapsed;
    const proxy = cpuTo.proxy - cpuFrom.proxy;
    console.log(
      `  CPU from the first edit until quiet, less what it uses idle (${(idlePerMs * 1000_000).toFixed(1)} ms/s): Worker (workerd) ${worker.toFixed(2)} s = ${((worker / BURST) * 1000).toFixed(2)} ms per edit; wrangler dev's proxy ${proxy.toFixed(2)} s`,
    );
  }
}

const log = captureQueueLog();
const batching = INSTANT
  ? "instant: every max_batch_timeout 0"
  : BATCH_TIMEOUT !== undefined
    ? `${LIVE_QUEUE} max_batch_timeout = ${BATCH_TIMEOUT} (the other queues as in wrangler.toml)`
    : "as wrangler.toml deploys it";
console.log(`latency bench: queue batching ${batching}; live fast path ${INLINE ? "on" : "off"}`);
const stack = await startStack({
  seed: 77,
  queueBatching: INSTANT ? "instant" : "production",
  ...(INLINE ? { vars: { LIVE_SYNC_INLINE: "on" } } : {}),
  ...(BATCH_TIMEOUT !== undefined ? { batchTimeouts: { [LIVE_QUEUE]: Number(BATCH_TIMEOUT) } } : {}),
  // Not silent, so that wrangler prints the queue broker's line per invocation (queue-log.ts);
  // the Worker itself logs errors only.
  logLevel: "error",
});
try {
  const pairs = await link(stack, 0, PAIRS);
  if (EDITS > 0) for (const added of LATENCIES) await measure(stack, pairs, added, log);
  if (BURST > 0) await burst(stack, log);
} finally {
  await stack.stop();
  log.stop();
}
