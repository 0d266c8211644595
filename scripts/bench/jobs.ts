/**
 * `npm run bench -- jobs [--companies=N] [--contacts=N] [--naive=N] [--latency=MS] [--sf-daily-limit=N] [--timeout-min=M]`:
 * full sync jobs at scale through the sandbox stack (both emulators + the Worker under wrangler dev).
 *
 * 1. Worker, Attio -> Salesforce: N Attio companies (default 100,000) seeded into the Attio emulator
 *    only (no webhooks), then `POST /api/v1/sync {objects:["companies"], direction:"attio_to_sf"}`.
 * 2. Worker, Salesforce -> Attio: N Contacts (default 10,000) seeded into the Salesforce emulator only,
 *    on a fresh stack, then `{objects:["people"], direction:"sf_to_attio"}`.
 * 3. Naive: scripts/bench/naive-sync.ts (query then create/update one Account at a time with jsforce)
 *    over N Attio companies (default 1,000) on a fresh pair of emulators.
 *
 * Each Worker job is polled every second until done or failed (at most --timeout-min, default 60);
 * a progress line is printed at most every 10 s. The Attio emulator enforces Attio's published
 * limits (100 reads/s, 25 writes/s) and answers 429 beyond them; no fault is injected, so every 429
 * or Salesforce limit refusal counted here was caused by the sync's own traffic. Salesforce's daily
 * API allocation is raised (--sf-daily-limit, default 1,000,000) so the Worker's budget reserve
 * never pauses a job; the calls used are reported. --latency adds that many milliseconds to every API
 * response of both emulators (their `latencyMs` fault knob; default 0), in every phase.
 * Each Worker phase also prints the CPU the Worker's workerd process used while the job ran (from
 * /proc on Linux), per 1,000 records: on a shared machine it varies far less than the wall time.
 * wrangler dev's proxy (a second workerd every request to the Worker's URL passes through) is
 * counted apart: nothing of it runs on Cloudflare. Each phase also lists the queue invocations
 * (from the broker's log, scripts/bench/queue-log.ts); with --profile, the most isolate time sampled
 * during one invocation of each queue.
 * Not a test: nothing here asserts; the numbers go to docs/BENCHMARKS.md.
 */
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { type AttioEmulator, startAttioEmulator } from "../sandbox/attio/server.ts";
import { type SalesforceEmulator, startSalesforceEmulator } from "../sandbox/salesforce/server.ts";
import { freePort, type Stack, startStack } from "../sandbox/stack.ts";
import { machineSpeed } from "./calibrate.ts";
import { naiveSync } from "./naive-sync.ts";
import { busyInWindows, type CpuProfile, startProfile, summarize, summarizeHeap } from "./profile.ts";
import { captureQueueLog, type Invocation, invocationSummary } from "./queue-log.ts";
import { workerdSeconds } from "./workerd-cpu.ts";

const args = process.argv.slice(3);
function flag(name: string, fallback: number): number {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const value = raw === undefined ? fallback : Number(raw.replace(/[_,]/g, ""));
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer`);
  return value;
}
const COMPANIES = flag("companies", 100_000);
const CONTACTS = flag("contacts", 10_000);
const NAIVE = flag("naive", 1_000);
const SF_DAILY_LIMIT = flag("sf-daily-limit", 1_000_000);
const TIMEOUT_MS = flag("timeout-min", 60) * 60_000;
const POLL_TIMEOUT_MS = 15_000;
const LATENCY_MS = flag("latency", 0);
const SEED = 2026;
/** `--profile=FILE`: CPU and allocation profiles of the Worker during each job, to FILE with the run's name before the extension. */
const PROFILE = args.find((a) => a.startsWith("--profile="))?.slice("--profile=".length);
const ATTIO_LIMITS = { read: 100, write: 25 };
/** After a job is done: wait until neither emulator sees a request for this long (at most SETTLE_MAX_MS). */
const QUIET_MS = 5_000;
const SETTLE_MAX_MS = 120_000;

interface AttioStats {
  requests: number;
  reads: number;
  writes: number;
  rateLimited: number;
  webhookEvents: number;
  counts: Record<string, number>;
  requestsByRoute: Record<string, number>;
}
interface SalesforceStats {
  requests: number;
  apiCalls: number;
  writes: number;
  limitRefusals: number;
  tokensIssued: number;
  changeEvents: number;
  api_usage: number;
  daily_api_limit: number;
  counts: Record<string, number>;
  callsByRoute: Record<string, number>;
}
interface Emulators {
  /** On a thread of its own in the Worker runs (it reports its own stalls), in process otherwise. */
  attio: Stack["attio"] | AttioEmulator;
  salesforce: SalesforceEmulator;
}
interface Snapshot {
  at: number;
  attio: AttioStats;
  salesforce: SalesforceStats;
  /** The longest this process's event loop was blocked since the previous snapshot. */
  stallMs: number;
  /** The same for the Attio emulator's own loop (its thread, or this process). */
  attioStallMs: number;
}
interface JobReport {
  id: string;
  state: string;
  enqueued: number;
  counts: Record<string, number>;
  errors: unknown[];
  progress: Record<string, unknown>;
}

/** One row of the final table. */
interface Row {
  label: string;
  records: number;
  ms: number | null;
  sfCalls: number;
  sfUsage: number;
  sfRefusals: number;
  attio429: number;
  attioWrites: number;
  note: string;
}

/**
 * JSON over HTTP with a hard timeout. Not `AbortSignal.timeout()`: under GC pressure (the emulators
 * hold 100,000s of records in this process) undici can lose the link to a fetch's signal
 * (nodejs/undici#4068), and a request the Worker never answered then hung the bench for good.
 */
async function json<T>(url: string, init: RequestInit = {}, timeoutMs = 30_000): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`${init.method ?? "GET"} ${url}: no answer within ${timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      expired,
      (async () => {
        const response = await fetch(url, { ...init, signal: controller.signal });
        const text = await response.text();
        if (!response.ok) throw new Error(`${init.method ?? "GET"} ${url}: ${response.status} ${text.slice(0, 300)}`);
        return JSON.parse(text) as T;
      })(),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
const control = <T>(base: string, path: string, body: unknown, method = "POST", timeoutMs = 30_000) =>
  json<T>(`${base}/__control/${path}`, { method, body: JSON.stringify(body) }, timeoutMs);

/**
 * A blocked event loop (a GC pause, a big response) holds an emulator's requests back and lets them
 * through together: the Attio emulator's one-second window can then see more requests than were
 * sent in any second. In the Worker runs the Attio emulator has a thread of its own (so this
 * process's pauses do not reach it); stalls of this process and of that thread are both measured,
 * to tell such 429s apart.
 */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

async function snapshot(emulators: Emulators): Promise<Snapshot> {
  const [attio, salesforce] = await Promise.all([
    json<AttioStats>(`${emulators.attio.url}/__control/stats`),
    json<SalesforceStats>(`${emulators.salesforce.url}/__control/stats`),
  ]);
  const stallMs = loopDelay.max / 1e6;
  const attioStallMs =
    "stallMs" in emulators.attio && emulators.attio.stallMs ? await emulators.attio.stallMs() : stallMs;
  loopDelay.reset();
  return { at: performance.now(), attio, salesforce, stallMs, attioStallMs };
}

/**
 * A stall of the Attio emulator's loop this long or longer can draw a 429 up to a second later:
 * the requests it held back are counted together, well past the 20 ms after its slot that the
 * limiter counts each call for, and the slots handed out before the Worker saw their slow answers
 * cannot move.
 */
const ATTIO_STALL_MS = 40;

/** Event-loop stalls over a run, and the Attio 429s counted in seconds next to an Attio stall. */
function stalls(samples: Snapshot[]): string {
  const seconds = samples.slice(1);
  let during = 0;
  let total = 0;
  for (let i = 1; i < samples.length; i++) {
    const [before, after] = [samples[i - 1] as Snapshot, samples[i] as Snapshot];
    const refused = after.attio.rateLimited - before.attio.rateLimited;
    total += refused;
    // The window a stall overfills closes up to a second after it: the same interval or the next.
    if (after.attioStallMs >= ATTIO_STALL_MS || (i > 1 && before.attioStallMs >= ATTIO_STALL_MS)) during += refused;
  }
  const worst = (pick: (s: Snapshot) => number) => Math.round(Math.max(0, ...seconds.map(pick)));
  const stalled = seconds.filter((s) => s.attioStallMs >= ATTIO_STALL_MS).length;
  return (
    `Attio emulator's event loop blocked at most ${worst((s) => s.attioStallMs)} ms, >= ${ATTIO_STALL_MS} ms in ` +
    `${stalled} of ${seconds.length} seconds; ${during} of ${total} Attio 429s near such a stall ` +
    `(this process, with the Salesforce emulator: at most ${worst((s) => s.stallMs)} ms)`
  );
}

/**
 * The bench's rules for both emulators: Attio's real rate limits, no injected faults (only the
 * added latency, if any), a large Salesforce allocation.
 */
async function configure(emulators: Emulators): Promise<void> {
  // PUT /__control/faults replaces every knob: no errors, no refusals, no delivery faults.
  const faults = { latencyMs: LATENCY_MS };
  await control(emulators.attio.url, "config", { rate_limits: ATTIO_LIMITS }, "PUT");
  await control(emulators.attio.url, "faults", faults, "PUT");
  await control(emulators.salesforce.url, "config", { daily_api_limit: SF_DAILY_LIMIT }, "PUT");
  await control(emulators.salesforce.url, "faults", faults, "PUT");
}

/** Calls per route between two snapshots, most first: `GET query 240, POST composite/sobjects 10`. */
function routes(before: Record<string, number>, after: Record<string, number>): string {
  return (
    Object.entries(after)
      .map(([route, n]) => [route, n - (before[route] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([route, n]) => `${route} ${int(n)}`)
      .join(", ") || "none"
  );
}

async function seed(base: string, objects: string[], count: number): Promise<unknown> {
  const start = performance.now();
  const result = await control(base, "seed", { dataset: "generated", count, seed: SEED, objects }, "POST", 600_000);
  console.log(`  seeded ${JSON.stringify(result)} in ${seconds(performance.now() - start)}`);
  return result;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const int = (n: number) => Math.round(n).toLocaleString("en-US");
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const perMinute = (records: number, ms: number | null) => (ms ? (records / ms) * 60_000 : Number.NaN);

/**
 * CPU seconds used so far by the Worker's workerd process and by wrangler dev's proxy in front of
 * it (null where /proc cannot tell), and by this process.
 */
interface CpuReading {
  worker: number | null;
  proxy: number | null;
  bench: number;
}

/**
 * Reads both CPU clocks. The wall time of a run on this shared 2-vCPU machine varies by 15% or
 * more from run to run; the CPU the Worker spends per record varies far less, so it tells whether
 * a change made the Worker cheaper. workerd runs as a child of this process (wrangler's
 * `unstable_dev`); its time is read from /proc on Linux.
 */
function readCpu(stack: Stack): CpuReading {
  const usage = process.cpuUsage();
  const workerd = workerdSeconds(Number(new URL(stack.workerUrl).port));
  return { worker: workerd?.worker ?? null, proxy: workerd?.proxy ?? null, bench: (usage.user + usage.system) / 1e6 };
}

function cpuLine(from: CpuReading, to: CpuReading, records: number): string {
  const bench = `this process (both emulators, the relay, the bench) ${(to.bench - from.bench).toFixed(1)} s`;
  if (from.worker === null || to.worker === null) return `CPU during the job: Worker not measurable here; ${bench}`;
  const worker = to.worker - from.worker;
  const proxy = (to.proxy ?? 0) - (from.proxy ?? 0);
  const per1k = (s: number) => `${((s / records) * 1_000_000).toFixed(0)} ms per 1,000 records`;
  return `CPU during the job: Worker (workerd) ${worker.toFixed(1)} s = ${per1k(worker)}; wrangler dev's proxy (workerd) ${proxy.toFixed(1)} s = ${per1k(proxy)}; ${bench}`;
}

/**
 * The queue invocations of a job, and with a profile the most isolate time sampled during one
 * invocation of each queue (Durable Object methods left out; webhooks and other invocations that
 * ran at the same time count, so it is an upper bound).
 */
function invocationLines(invocations: readonly Invocation[], profile: CpuProfile | undefined): string[] {
  const lines = [`queue invocations: ${invocationSummary(invocations)}`];
  if (!profile || invocations.length === 0) return lines;
  const windows = invocations.map((inv) => ({
    startUs: inv.endedAtUs - inv.wallMs * 1000 - 5_000,
    endUs: inv.endedAtUs,
  }));
  const busy = busyInWindows(profile, windows);
  const worst = new Map<string, { ms: number; inv: Invocation; doMs: number }>();
  invocations.forEach((inv, i) => {
    const b = busy[i] as { busyMs: number; durableObjectMs: number };
    const ms = b.busyMs - b.durableObjectMs;
    if (ms > (worst.get(inv.queue)?.ms ?? -1)) worst.set(inv.queue, { ms, inv, doMs: b.durableObjectMs });
  });
  for (const [queue, w] of worst) {
    lines.push(
      `most isolate CPU during one ${queue} invocation: ${w.ms.toFixed(0)} ms (${w.inv.messages} messages, ${(w.inv.wallMs / 1000).toFixed(1)} s wall; Durable Object methods left out: ${w.doMs.toFixed(0)} ms more)`,
    );
  }
  return lines;
}

/**
 * Starts a job and polls it every second until it is done or failed (or the timeout passes).
 * The emulators' stats are sampled every second whether or not the Worker answers the poll.
 * Returns the last report, the wall time (POST to the first poll that saw the job finish), the
 * time of the last record written (from the samples; `records` counts the written records) and
 * the samples.
 */
async function runJob(stack: Stack, body: unknown, records: (s: Snapshot) => number, run: string) {
  const speedBefore = machineSpeed();
  const logFrom = queueLog.invocations.length;
  const profiling = stack.inspectorPort
    ? await startProfile(stack.inspectorPort, (PROFILE ?? "").replace(/(\.cpuprofile)?$/, `-${run}.cpuprofile`))
    : undefined;
  const headers = { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" };
  const samples: Snapshot[] = [await snapshot(stack)];
  const cpuFrom = readCpu(stack);
  const start = performance.now();
  const { id } = await json<{ id: string }>(`${stack.workerUrl}/api/v1/sync`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
  console.log(`  job ${id} started: ${JSON.stringify(body)}`);
  let report: JobReport | null = null;
  let ms: number | null = null;
  let lastPrint = start;
  let pollErrors = 0;
  let cpuTo: CpuReading | null = null;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sleep(1000);
      // The emulators run in this process; a failed sample is only a gap.
      await snapshot(stack).then(
        (sample) => samples.push(sample),
        () => undefined,
      );
    }
  })();
  while (performance.now() - start < TIMEOUT_MS) {
    await sleep(1000);
    try {
      report = await json<JobReport>(`${stack.workerUrl}/api/v1/sync/${id}`, { headers }, POLL_TIMEOUT_MS);
    } catch (err) {
      // A busy Worker may answer slowly; keep polling until the overall timeout.
      if (++pollErrors <= 3) console.log(`  poll failed: ${(err as Error).message}`);
      continue;
    }
    const finished = report.state !== "queued" && report.state !== "running";
    if (finished) {
      ms = performance.now() - start;
      cpuTo = readCpu(stack);
    }
    if (finished || performance.now() - lastPrint >= 10_000) {
      lastPrint = performance.now();
      console.log(`  ${progressLine(performance.now() - start, report, samples[0] as Snapshot, samples.at(-1))}`);
    }
    if (finished) break;
  }
  sampling = false;
  await sampler;
  let profile: CpuProfile | undefined;
  if (profiling) {
    const { cpu, heap } = await profiling();
    profile = cpu;
    console.log(summarize(cpu));
    console.log(summarizeHeap(heap));
  }
  for (const line of invocationLines(queueLog.since(logFrom), profile)) console.log(`  ${line}`);
  samples.push(await snapshot(stack));
  if (ms === null) console.log(`  job not finished after ${seconds(TIMEOUT_MS)}: stopped waiting`);
  if (pollErrors > 0)
    console.log(`  ${pollErrors} polls failed (the Worker did not answer within ${seconds(POLL_TIMEOUT_MS)})`);
  const final = records(samples.at(-1) as Snapshot);
  const lastWrite = samples.find((sample) => records(sample) === final && final > records(samples[0] as Snapshot));
  return {
    id,
    report,
    ms,
    lastWriteMs: lastWrite ? lastWrite.at - start : null,
    samples,
    cpu: { from: cpuFrom, to: cpuTo },
    speedBefore,
  };
}

/**
 * Prints the machine's speed before the job beside its speed now. Called once the Worker is quiet:
 * the calibration blocks this process (and the emulators in it) and shares the CPUs with whatever
 * still runs.
 */
function printMachineSpeed(before: string): void {
  console.log(
    `  machine speed (scripts/bench/calibrate.ts, the same work each time; lower is faster): before the job ${before}; after ${machineSpeed()}`,
  );
}

function progressLine(elapsed: number, report: JobReport, first: Snapshot, last: Snapshot | undefined): string {
  const c = report.counts;
  const outcomes = ["created", "updated", "linked", "unchanged", "ambiguous", "conflicts", "deferred", "failed"]
    .filter((k) => (c[k] ?? 0) > 0)
    .map((k) => `${k} ${int(c[k] ?? 0)}`)
    .join(", ");
  const d = last ? delta(first, last) : null;
  const traffic = d
    ? ` | SF calls ${int(d.sfCalls)}, Attio reads ${int(d.attioReads)} writes ${int(d.attioWrites)}, 429s ${d.attio429}, SF refusals ${d.sfRefusals}`
    : "";
  return `[${seconds(elapsed).padStart(8)}] ${report.state.padEnd(8)} enqueued ${int(report.enqueued)}, processed ${int(c["processed"] ?? 0)}${outcomes ? ` (${outcomes})` : ""}${traffic}`;
}

function delta(a: Snapshot, b: Snapshot) {
  return {
    sfCalls: b.salesforce.apiCalls - a.salesforce.apiCalls,
    sfUsage: b.salesforce.api_usage - a.salesforce.api_usage,
    sfWrites: b.salesforce.writes - a.salesforce.writes,
    sfRefusals: b.salesforce.limitRefusals - a.salesforce.limitRefusals,
    sfTokens: b.salesforce.tokensIssued - a.salesforce.tokensIssued,
    sfChangeEvents: b.salesforce.changeEvents - a.salesforce.changeEvents,
    sfRequests: b.salesforce.requests - a.salesforce.requests,
    attioRequests: b.attio.requests - a.attio.requests,
    attioReads: b.attio.reads - a.attio.reads,
    attioWrites: b.attio.writes - a.attio.writes,
    attio429: b.attio.rateLimited - a.attio.rateLimited,
    attioWebhookEvents: b.attio.webhookEvents - a.attio.webhookEvents,
  };
}

/** Waits (bounded) until neither emulator has seen a request for QUIET_MS; returns what came after `from`. */
async function settle(emulators: Emulators, from: Snapshot) {
  let last = await snapshot(emulators);
  let quietSince = last.at;
  while (last.at - from.at < SETTLE_MAX_MS && last.at - quietSince < QUIET_MS) {
    await sleep(1000);
    const next = await snapshot(emulators);
    const moved = next.attio.requests !== last.attio.requests || next.salesforce.requests !== last.salesforce.requests;
    if (moved) quietSince = next.at;
    last = next;
  }
  return { ...delta(from, last), ms: last.at - from.at, quiet: last.at - quietSince >= QUIET_MS };
}

/** Attio writes per second: over the whole job, and from the first to the last poll that saw a write. */
function writeRates(samples: Snapshot[], ms: number | null) {
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || !ms) return { overall: Number.NaN, writing: Number.NaN, peak10s: Number.NaN };
  const total = last.attio.writes - first.attio.writes;
  const changed = samples.findIndex((s) => s.attio.writes > first.attio.writes);
  const lastChange = samples.findIndex((s) => s.attio.writes === last.attio.writes);
  const from = samples[Math.max(0, changed - 1)] as Snapshot;
  const to = samples[lastChange] as Snapshot;
  let peak10s = 0;
  for (let i = 0, j = 0; i < samples.length; i++) {
    const end = samples[i] as Snapshot;
    while (j < i && end.at - (samples[j] as Snapshot).at > 10_000) j++;
    const start = samples[Math.max(0, j - 1)] as Snapshot;
    if (end.at - start.at >= 5_000)
      peak10s = Math.max(peak10s, ((end.attio.writes - start.attio.writes) / (end.at - start.at)) * 1000);
  }
  return {
    overall: (total / ms) * 1000,
    writing: to.at > from.at ? ((to.attio.writes - from.attio.writes) / (to.at - from.at)) * 1000 : Number.NaN,
    peak10s,
  };
}

/** The stack both Worker runs use: production queue batching, and the inspector when profiling. */
async function startBenchStack(): Promise<Stack> {
  return startStack({
    seed: SEED,
    queueBatching: "production",
    attioThread: true,
    // Not silent, so that wrangler prints the queue broker's line per invocation (queue-log.ts);
    // the Worker itself logs errors only.
    logLevel: "error",
    ...(PROFILE ? { inspectorPort: await freePort() } : {}),
  });
}

async function workerCompanies(rows: Row[]): Promise<void> {
  console.log(`\n## Worker: ${int(COMPANIES)} Attio companies -> Salesforce Accounts`);
  const stack = await startBenchStack();
  try {
    await configure(stack);
    await seed(stack.attio.url, ["companies"], COMPANIES);
    const job = await runJob(
      stack,
      { objects: ["companies"], direction: "attio_to_sf", mode: "full" },
      (sample) => sample.salesforce.counts["Account"] ?? 0,
      "companies",
    );
    const first = job.samples[0] as Snapshot;
    const end = job.samples.at(-1) as Snapshot;
    const d = delta(first, end);
    const tail = await settle(stack, end);
    printMachineSpeed(job.speedBefore);
    const accounts = end.salesforce.counts["Account"] ?? 0;
    const rate = perMinute(COMPANIES, job.ms);
    console.log(
      `  state ${job.report?.state ?? "unknown"} after ${job.ms ? seconds(job.ms) : "-"}; last record written at ${job.lastWriteMs ? seconds(job.lastWriteMs) : "-"}`,
    );
    console.log(`  counts ${JSON.stringify(job.report?.counts ?? {})}, enqueued ${int(job.report?.enqueued ?? 0)}`);
    if (job.report?.errors.length) console.log(`  errors (sample): ${JSON.stringify(job.report.errors.slice(0, 3))}`);
    console.log(`  Accounts in Salesforce: ${int(accounts)}; records/min: ${int(rate)} (target >= 100,000)`);
    console.log(
      `  Salesforce: ${int(d.sfCalls)} API calls (Sforce-Limit-Info usage +${int(d.sfUsage)}, now ${int(end.salesforce.api_usage)}/${int(end.salesforce.daily_api_limit)}), ${int(d.sfWrites)} write requests, ${d.sfTokens} tokens, ${d.sfRefusals} limit refusals, ${int(d.sfChangeEvents)} change events relayed`,
    );
    console.log(
      `  calls per 1,000 records: ${((d.sfCalls / COMPANIES) * 1000).toFixed(1)} (target <= 10); Attio: ${int(d.attioReads)} reads, ${int(d.attioWrites)} writes, ${d.attio429} 429s`,
    );
    console.log(`  SF calls by route: ${routes(first.salesforce.callsByRoute, end.salesforce.callsByRoute)}`);
    console.log(`  ${stalls(job.samples)}`);
    if (job.cpu.to) console.log(`  ${cpuLine(job.cpu.from, job.cpu.to, COMPANIES)}`);
    console.log(`  Attio requests by route: ${routes(first.attio.requestsByRoute, end.attio.requestsByRoute)}`);
    console.log(
      `  after done (${seconds(tail.ms)}${tail.quiet ? ", then quiet" : ", still busy"}): +${int(tail.sfCalls)} SF calls, +${int(tail.attioRequests)} Attio requests, +${tail.attio429} 429s`,
    );
    rows.push({
      label: "Worker   companies Attio -> SF",
      records: COMPANIES,
      ms: job.ms,
      sfCalls: d.sfCalls,
      sfUsage: d.sfUsage,
      sfRefusals: d.sfRefusals,
      attio429: d.attio429,
      attioWrites: d.attioWrites,
      note: `${int(accounts)} Accounts; job ${job.report?.state ?? "?"}`,
    });
  } finally {
    await stack.stop();
  }
}

async function workerContacts(rows: Row[]): Promise<void> {
  console.log(`\n## Worker: ${int(CONTACTS)} Salesforce Contacts -> Attio people`);
  const stack = await startBenchStack();
  try {
    await configure(stack);
    await seed(stack.salesforce.url, ["people"], CONTACTS);
    const job = await runJob(
      stack,
      { objects: ["people"], direction: "sf_to_attio", mode: "full" },
      (sample) => sample.attio.counts["people"] ?? 0,
      "contacts",
    );
    const first = job.samples[0] as Snapshot;
    const end = job.samples.at(-1) as Snapshot;
    const d = delta(first, end);
    const tail = await settle(stack, end);
    printMachineSpeed(job.speedBefore);
    const people = end.attio.counts["people"] ?? 0;
    const rate = perMinute(CONTACTS, job.ms);
    const writes = writeRates(job.samples, job.ms);
    const pct = (n: number) => `${((n / ATTIO_LIMITS.write) * 100).toFixed(0)}%`;
    console.log(
      `  state ${job.report?.state ?? "unknown"} after ${job.ms ? seconds(job.ms) : "-"}; last record written at ${job.lastWriteMs ? seconds(job.lastWriteMs) : "-"}`,
    );
    console.log(`  counts ${JSON.stringify(job.report?.counts ?? {})}, enqueued ${int(job.report?.enqueued ?? 0)}`);
    if (job.report?.errors.length) console.log(`  errors (sample): ${JSON.stringify(job.report.errors.slice(0, 3))}`);
    console.log(`  people in Attio: ${int(people)}; records/min: ${int(rate)} (target >= 1,425)`);
    console.log(
      `  Attio: ${int(d.attioWrites)} writes, ${int(d.attioReads)} reads, ${d.attio429} 429s (target 0); writes/s ${writes.overall.toFixed(1)} over the job = ${pct(writes.overall)} of ${ATTIO_LIMITS.write}/s (target >= 95%), ${writes.writing.toFixed(1)} while writing, best 10 s ${writes.peak10s.toFixed(1)}`,
    );
    console.log(
      `  Salesforce: ${int(d.sfCalls)} API calls (${((d.sfCalls / CONTACTS) * 1000).toFixed(1)} per 1,000 records), ${d.sfRefusals} limit refusals; Attio webhook events sent ${int(d.attioWebhookEvents)}`,
    );
    console.log(`  SF calls by route: ${routes(first.salesforce.callsByRoute, end.salesforce.callsByRoute)}`);
    console.log(`  ${stalls(job.samples)}`);
    if (job.cpu.to) console.log(`  ${cpuLine(job.cpu.from, job.cpu.to, CONTACTS)}`);
    console.log(`  Attio requests by route: ${routes(first.attio.requestsByRoute, end.attio.requestsByRoute)}`);
    console.log(
      `  after done (${seconds(tail.ms)}${tail.quiet ? ", then quiet" : ", still busy"}): +${int(tail.sfCalls)} SF calls, +${int(tail.attioRequests)} Attio requests, +${tail.attio429} 429s`,
    );
    rows.push({
      label: "Worker   people    SF -> Attio",
      records: CONTACTS,
      ms: job.ms,
      sfCalls: d.sfCalls,
      sfUsage: d.sfUsage,
      sfRefusals: d.sfRefusals,
      attio429: d.attio429,
      attioWrites: d.attioWrites,
      note: `${int(people)} people; ${writes.overall.toFixed(1)} Attio writes/s = ${pct(writes.overall)} of 25/s`,
    });
  } finally {
    await stack.stop();
  }
}

async function naive(rows: Row[]): Promise<void> {
  console.log(`\n## Naive per-record script (jsforce): ${int(NAIVE)} Attio companies -> Salesforce Accounts`);
  const attio = await startAttioEmulator({ seed: SEED });
  const salesforce = await startSalesforceEmulator({ seed: SEED });
  const emulators = { attio, salesforce };
  try {
    await configure(emulators);
    await seed(attio.url, ["companies"], NAIVE);
    const before = await snapshot(emulators);
    const result = await naiveSync({
      attioUrl: attio.url,
      attioApiKey: attio.apiKey,
      salesforceLoginUrl: salesforce.url,
      clientId: salesforce.clientId,
      clientSecret: salesforce.clientSecret,
      onProgress: (done) =>
        console.log(`  [${seconds(performance.now() - before.at).padStart(8)}] ${int(done)} records`),
    });
    const after = await snapshot(emulators);
    const d = delta(before, after);
    console.log(
      `  ${int(result.records)} records (${result.created} created, ${result.updated} updated, ${result.failed} failed) in ${seconds(result.ms)}: ${int(perMinute(result.records, result.ms))} records/min`,
    );
    console.log(
      `  Salesforce: ${int(d.sfCalls)} API calls (Sforce-Limit-Info usage +${int(d.sfUsage)}; jsforce saw ${result.apiUsage ? `${int(result.apiUsage.used)}/${int(result.apiUsage.limit)}` : "none"}), ${((d.sfCalls / result.records) * 1000).toFixed(1)} per 1,000 records; Attio ${d.attioReads} reads, ${d.attio429} 429s`,
    );
    console.log(`  SF calls by route: ${routes(before.salesforce.callsByRoute, after.salesforce.callsByRoute)}`);
    rows.push({
      label: "Naive    companies Attio -> SF",
      records: result.records,
      ms: result.ms,
      sfCalls: d.sfCalls,
      sfUsage: d.sfUsage,
      sfRefusals: d.sfRefusals,
      attio429: d.attio429,
      attioWrites: d.attioWrites,
      note: `${int(after.salesforce.counts["Account"] ?? 0)} Accounts`,
    });
  } finally {
    await Promise.all([attio.close(), salesforce.close()]);
  }
}

function table(rows: Row[]): void {
  const header = [
    "",
    "records",
    "wall",
    "records/min",
    "SF API calls",
    "per 1k records",
    "SF refusals",
    "Attio 429s",
    "",
  ];
  const lines = rows.map((row) => [
    row.label,
    int(row.records),
    row.ms === null ? "timeout" : seconds(row.ms),
    row.ms === null ? "-" : int(perMinute(row.records, row.ms)),
    int(row.sfCalls),
    ((row.sfCalls / Math.max(1, row.records)) * 1000).toFixed(1),
    String(row.sfRefusals),
    String(row.attio429),
    row.note,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const format = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0),
      )
      .join("  ")
      .trimEnd();
  console.log(format(header));
  for (const line of lines) console.log(format(line));
}

/** The commit measured: BENCH_COMMIT (for a tree exported with git archive), else git's HEAD. */
function commit(): string {
  if (process.env["BENCH_COMMIT"]) return process.env["BENCH_COMMIT"];
  const git = (...argv: string[]) =>
    execFileSync("git", argv, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    const dirty = git("status", "--porcelain", "--", "src", "scripts", "wrangler.toml", "migrations");
    return `${git("rev-parse", "--short", "HEAD")}${dirty ? " + uncommitted changes" : ""}`;
  } catch {
    return "unknown";
  }
}

const queueLog = captureQueueLog();
const rows: Row[] = [];
console.log(
  `sync jobs bench: companies ${int(COMPANIES)}, contacts ${int(CONTACTS)}, naive ${int(NAIVE)}, added API latency ${LATENCY_MS} ms; commit ${commit()}; ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), Node ${process.version}`,
);
for (const [count, phase] of [
  [COMPANIES, workerCompanies],
  [CONTACTS, workerContacts],
  [NAIVE, naive],
] as const) {
  if (count === 0) continue;
  try {
    await phase(rows);
  } catch (err) {
    console.log(`  phase failed: ${(err as Error).stack ?? err}`);
  }
}
console.log("");
table(rows);
