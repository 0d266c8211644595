/**
 * `npm run bench` (or `npm run bench -- mapping`): records mapped per second for each default mapping, both directions, on one core.
 * Not a test: it prints numbers. The target from issue 4 is 200,000 records/s per mapping.
 */
import companyRecord from "../../fixtures/attio/company-record.json" with { type: "json" };
import dealsQuery from "../../fixtures/attio/deals-query.json" with { type: "json" };
import personRecord from "../../fixtures/attio/person-record.json" with { type: "json" };
import type { AttioValues } from "../../src/mapping/attio-values.ts";
import { defaultMappings } from "../../src/mapping/defaults.ts";
import { compileMapping, mapToAttio, mapToSalesforce } from "../../src/mapping/engine.ts";

const TARGET = 200_000;
const ids = {
  salesforceIdFor: (_object: string, id: string) => `SF-${id}`,
  attioIdFor: (_object: string, id: string) => id.slice(3),
};
const users = { salesforceUserFor: () => "005M", workspaceMemberFor: () => "member" };
const samples: Record<string, AttioValues> = {
  companies: companyRecord.data.values as unknown as AttioValues,
  people: personRecord.data.values as unknown as AttioValues,
  deals: dealsQuery.data[0]?.values as unknown as AttioValues,
};

function rate(run: () => void): number {
  for (let i = 0; i < 20_000; i++) run(); // warm up the JIT
  const n = 300_000;
  const start = performance.now();
  for (let i = 0; i < n; i++) run();
  return Math.round(n / ((performance.now() - start) / 1000));
}

let slow = false;
for (const mapping of defaultMappings()) {
  const values = samples[mapping.name];
  if (!values) continue;
  const compiled = compileMapping(mapping);
  const sf = mapToSalesforce(compiled, values, { ids, users }).fields;
  const results = {
    attio_to_sf: rate(() => mapToSalesforce(compiled, values, { ids, users })),
    sf_to_attio: rate(() => mapToAttio(compiled, sf, { ids, users })),
  };
  for (const [direction, perSecond] of Object.entries(results)) {
    if (perSecond < TARGET) slow = true;
    console.log(
      `${mapping.name.padEnd(10)} ${direction.padEnd(12)} ${perSecond.toLocaleString("en-US").padStart(12)} records/s`,
    );
  }
}
console.log(slow ? `below the ${TARGET.toLocaleString("en-US")} records/s target` : "all above target");
