/**
 * `npm run bench [-- <name>]`: benchmarks, not tests; they print numbers.
 * - `mapping` (the default): records mapped per second per default mapping (scripts/bench/mapping.ts).
 * - `latency`: end-to-end sync latency through the sandbox stack (scripts/bench/latency.ts).
 * - `jobs`: full sync jobs at scale through the sandbox stack, beside a naive per-record script
 *   (scripts/bench/jobs.ts, scripts/bench/naive-sync.ts); `--profile=FILE` adds CPU and allocation
 *   profiles of the Worker (scripts/bench/profile.ts).
 * - `echoes`: the Worker's JavaScript per change event echoing our own writes (scripts/bench/echoes.ts).
 */
// wrangler dev attaches a trace collector to the Worker unless X_LOCAL_OBSERVABILITY=false ("local
// observability", on by default in wrangler 4.15x): every invocation's and subrequest's spans are
// streamed to a worker of its own in the Worker's workerd process and written to SQLite there.
// Nothing of it runs on Cloudflare. In a 2,000-Contact job it was about 40% of that process's CPU
// (docs/BENCHMARKS.md), so the benchmarks turn it off unless told otherwise.
process.env["X_LOCAL_OBSERVABILITY"] ??= "false";

const which = process.argv[2] ?? "mapping";
if (which === "mapping") await import("./mapping.ts");
else if (which === "latency") await import("./latency.ts");
else if (which === "jobs") await import("./jobs.ts");
else if (which === "echoes") await import("./echoes.ts");
else {
  console.error(`unknown benchmark "${which}": use mapping, latency, jobs or echoes`);
  process.exitCode = 2;
}

export {};
