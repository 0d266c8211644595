/**
 * `npm run bench [-- <name>]`: benchmarks, not tests; they print numbers.
 * - `mapping` (the default): records mapped per second per default mapping (scripts/bench/mapping.ts).
 * - `latency`: end-to-end sync latency through the sandbox stack (scripts/bench/latency.ts).
 */
const which = process.argv[2] ?? "mapping";
if (which === "mapping") await import("./mapping.ts");
else if (which === "latency") await import("./latency.ts");
else {
  console.error(`unknown benchmark "${which}": use mapping or latency`);
  process.exitCode = 2;
}

export {};
