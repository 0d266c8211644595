/**
 * `npm run bench -- latency [edits] [--latency=MS,...]`: end-to-end sync latency through the sandbox
 * stack (both emulators + the Worker under wrangler dev). For each added API latency (the emulators'
 * `latencyMs` fault knob, on every API response of both), it makes `edits` human edits (default
 * 200), one at a time, alternately in Attio and in Salesforce, and measures the time from the edit
 * until the other emulator holds the new value. Prints p50, p90, p99 and max per setting.
 * Not a test: nothing here asserts; the numbers go to docs/BENCHMARKS.md.
 */
import { type Stack, startStack } from "../sandbox/stack.ts";

const args = process.argv.slice(3);
const EDITS = Number(args.find((a) => /^\d+$/.test(a)) ?? 200);
const LATENCIES = (args.find((a) => a.startsWith("--latency="))?.slice("--latency=".length) ?? "0,100")
  .split(",")
  .map(Number);
const PAIRS = 10;
const TIMEOUT_MS = 15_000;

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
async function until(start: number, check: () => Promise<boolean>): Promise<number | null> {
  while (performance.now() - start < TIMEOUT_MS) {
    if (await check()) return performance.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return null;
}

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

async function setup(stack: Stack): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (let i = 0; i < PAIRS; i++) {
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
  const linked = await until(performance.now(), async () => {
    const all = await contacts(stack);
    for (const pair of pairs) pair.contactId = String(all.find((c) => c["Email"] === pair.email)?.["Id"] ?? "");
    return pairs.every((p) => p.contactId);
  });
  if (linked === null) throw new Error("setup: the Contacts did not appear");
  // Let the echoes and Attio's system follow-ups of the setup pass.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  return pairs;
}

async function measure(stack: Stack, pairs: Pair[], addedMs: number) {
  await post(`${stack.attio.url}/__control/faults`, { latencyMs: addedMs }, "PUT");
  await post(`${stack.salesforce.url}/__control/faults`, { latencyMs: addedMs }, "PUT");
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
  const summary = (list: number[]) => {
    const sorted = [...list].sort((a, b) => a - b);
    const f = (n: number) => `${Math.round(n)} ms`.padStart(8);
    return `p50 ${f(percentile(sorted, 50))}  p90 ${f(percentile(sorted, 90))}  p99 ${f(percentile(sorted, 99))}  max ${f(sorted.at(-1) ?? Number.NaN)}  (n=${sorted.length})`;
  };
  console.log(`added API latency ${addedMs} ms per call, ${EDITS} edits${timeouts ? `, ${timeouts} timed out` : ""}:`);
  console.log(`  all          ${summary(samples.map((s) => s.ms))}`);
  console.log(`  Attio -> SF  ${summary(samples.filter((s) => s.side === "attio").map((s) => s.ms))}`);
  console.log(`  SF -> Attio  ${summary(samples.filter((s) => s.side === "salesforce").map((s) => s.ms))}`);
}

const stack = await startStack({ seed: 77 });
try {
  const pairs = await setup(stack);
  for (const added of LATENCIES) await measure(stack, pairs, added);
} finally {
  await stack.stop();
}
