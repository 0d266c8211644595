/**
 * `npm run bench -- echoes`: the Worker's own JavaScript per echo of our own Bulk creates, step by
 * step, in Node (no workerd, no D1, no queue). A 100,000-company job brings 100,000 such change
 * events back through the relay; this shows what each step of receiving, queueing and settling one
 * costs, from the relay body to the consumer's comparison with the stored base.
 */
import { readFileSync } from "node:fs";
import { toMessage } from "../../src/http/relay-message.ts";
import { defaultMappings } from "../../src/mapping/defaults.ts";
import { compileMapping } from "../../src/mapping/engine.ts";
import { salesforceSide } from "../../src/plan/canon.ts";
import { eventMatchesBase, flattenEventFields } from "../../src/plan/event-values.ts";
import { RelayBodySchema } from "../../src/salesforce/cdc-schema.ts";
import { packBundles } from "../../src/sync/bundles.ts";
import { SyncMessageSchema } from "../../src/sync/messages.ts";

const EVENTS = 1_000; // the most one relay request carries
const ROUNDS = 30;

const template = JSON.parse(
  readFileSync(new URL("../../fixtures/relay/cometd-account-create.json", import.meta.url), "utf8"),
);
const events = Array.from({ length: EVENTS }, (_, i) => {
  const event = structuredClone(template);
  event.payload.Name = `${template.payload.Name} ${i}`;
  event.payload.ChangeEventHeader.recordIds = [`001Hs0000${String(i).padStart(6, "0")}IAV`];
  event.payload.ChangeEventHeader.sequenceNumber = i + 1;
  event.payload.ChangeEventHeader.changeOrigin = "com/salesforce/api/bulkapi/62.0;client=attio-sfdc";
  event.event.replayId = template.event.replayId + i;
  return event;
});
const body = JSON.stringify({ events });

/** Microseconds per event of `step` over the whole relay request, best of ROUNDS. */
function perEvent(step: () => unknown): number {
  step();
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    step();
    best = Math.min(best, performance.now() - start);
  }
  return (best / EVENTS) * 1000;
}

const raw = JSON.parse(body);
const relay = RelayBodySchema.parse(raw);
const receivedAt = new Date().toISOString();
const messages = relay.events.map((event) => toMessage(event, "bench", receivedAt));
const accounts = defaultMappings().find((m) => m.salesforce_object === "Account");
if (!accounts) throw new Error("no default Account mapping");
const compiled = compileMapping(accounts);
// Each event's base holds what it carries: the echo of our own write, which settles as unchanged
// only after every mapped field was compared.
const bases = messages.map((m) => ({ attio: {}, salesforce: salesforceSide(compiled, flattenEventFields(m.fields)) }));
/** Whether the consumer settles the i-th echo as unchanged, comparing it with its base. */
const settles = (m: (typeof messages)[number], i: number) =>
  eventMatchesBase(compiled, bases[i], {
    changeType: "CREATE",
    changedFields: m.header.changedFields,
    nulledFields: m.header.nulledFields,
    fields: m.fields,
  });
const steps: [string, () => unknown][] = [
  ["relay: JSON.parse of the body", () => JSON.parse(body)],
  ["relay: RelayBodySchema", () => RelayBodySchema.parse(raw)],
  ["relay: queue messages", () => relay.events.map((event) => toMessage(event, "bench", receivedAt))],
  ["relay: bundles, sized", () => packBundles(messages)],
  ["consumer: SyncMessageSchema per event", () => messages.map((m) => SyncMessageSchema.parse(m))],
  ["consumer: event against its base", () => messages.map(settles)],
];
console.log(
  `echoes bench: ${EVENTS.toLocaleString("en-US")} Account create events per relay request (${Math.round(body.length / EVENTS)} bytes each), Node ${process.version}`,
);
let total = 0;
for (const [label, step] of steps) {
  const us = perEvent(step);
  total += us;
  console.log(`  ${label.padEnd(40)} ${us.toFixed(1).padStart(6)} µs per event`);
}
console.log(`  ${"all of the above".padEnd(40)} ${total.toFixed(1).padStart(6)} µs per event`);
if (!messages.every(settles)) throw new Error("an echo did not match its base: the bench measures the wrong path");
