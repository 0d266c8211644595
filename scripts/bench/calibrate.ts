/**
 * The machine's speed at a moment, as the time of a fixed piece of work: the same mix the Worker
 * spends its time on (JSON both ways, many short-lived objects, SHA-256). On a shared 2-vCPU
 * machine the same code's CPU per record has varied by a quarter from one run to the next; a run
 * whose calibration is slow as well was slowed by the machine, not by the code.
 *
 * The work runs in a fresh Node process: in the bench's own, the emulators' heap of 100,000
 * records made the same work up to 60% slower after a job than before it.
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";

/** Times one unit of work (400 relayed Account events, each copied, taken apart and hashed) `rounds` times. */
const WORK = `
const { createHash } = require("node:crypto");
const sample = {
  ChangeEventHeader: {
    entityName: "Account", recordIds: ["001000000000001AAA"], changeType: "CREATE",
    changeOrigin: "com/salesforce/api/rest/62.0;client=attio-sfdc",
    transactionKey: "00000000-0000-0000-0000-000000000000", sequenceNumber: 1,
    commitTimestamp: 1764000000000, changedFields: [],
  },
  Name: "Brightwater Robotics", Website: "brightwater-robotics.example", Industry: "Technology",
  NumberOfEmployees: 250, AnnualRevenue: 12500000,
  BillingAddress: { City: "Leeds", Country: "United Kingdom", PostalCode: "LS1 4AP" },
  Description: "Warehouse robots and the software that runs them. ".repeat(4),
};
function unit() {
  let sum = 0;
  for (let i = 0; i < 400; i++) {
    const copy = JSON.parse(JSON.stringify({ ...sample, Name: sample.Name + " " + i }));
    const fields = Object.entries(copy).map(([key, value]) => ({ key, value, size: JSON.stringify(value).length }));
    sum += fields.length + createHash("sha256").update(JSON.stringify(fields)).digest()[0];
  }
  return sum;
}
for (let i = 0; i < 5; i++) unit();
const times = [];
for (let i = 0; i < Number(process.argv[1]); i++) {
  const start = performance.now();
  unit();
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
console.log(times[Math.floor(times.length / 2)]);
`;

/**
 * Milliseconds per unit of work (the median of `rounds`, after a warm-up), about 5.5 on the machine
 * of docs/BENCHMARKS.md; NaN if the work could not run. With `cpu`, pinned to that CPU (taskset).
 *
 * @example calibrate() // 5.55
 */
export function calibrate(rounds = 31, cpu?: number): number {
  const node = [process.execPath, "-e", WORK, String(rounds)];
  const [command, ...args] = cpu === undefined ? node : ["taskset", "-c", String(cpu), ...node];
  const child = spawnSync(command as string, args, { encoding: "utf8", timeout: 30_000 });
  return child.status === 0 ? Number(child.stdout.trim()) : Number.NaN;
}

/**
 * The calibration on each CPU, where they can be told apart: the two vCPUs of the machine of
 * docs/BENCHMARKS.md were not equally fast (one steady at 5.75 ms, the other 3.8 to 5.3 ms within
 * a minute), and the Worker's busy thread runs on whichever the kernel gives it.
 *
 * @example machineSpeed() // "cpu0 5.75 ms, cpu1 5.10 ms"
 */
export function machineSpeed(): string {
  const cpus = Math.min(availableParallelism(), 4);
  const pinned = Array.from({ length: cpus }, (_, cpu) => calibrate(31, cpu));
  if (pinned.some(Number.isNaN)) return `${calibrate().toFixed(2)} ms`;
  return pinned.map((ms, cpu) => `cpu${cpu} ${ms.toFixed(2)} ms`).join(", ");
}
