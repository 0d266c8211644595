/**
 * The naive baseline for `npm run bench -- jobs`: the per-record script people write first. It
 * reads every Attio company through the REST records query (500 per page) and, for each one, asks
 * Salesforce for the Account with that Website, then creates or updates that one Account: one
 * SOQL query plus one write per record, with jsforce and a client-credentials login, as the
 * Worker logs in. No batching, no concurrency, no rate limiting, no retries.
 *
 * `scripts/bench/jobs.ts` runs it against fresh sandbox emulators. It also runs alone against
 * running emulators (the defaults are those of `npm run sandbox`):
 *
 *   tsx scripts/bench/naive-sync.ts --attio=http://127.0.0.1:8788 --salesforce=http://127.0.0.1:8789
 */
import { pathToFileURL } from "node:url";
import { Connection } from "jsforce";

export interface NaiveSyncOptions {
  attioUrl: string;
  attioApiKey: string;
  salesforceLoginUrl: string;
  clientId: string;
  clientSecret: string;
  /** Called every `progressEvery` records (default 500). */
  onProgress?: (done: number) => void;
  progressEvery?: number;
  /** Stop after this many records (default: every company). */
  limit?: number;
}

export interface NaiveSyncResult {
  records: number;
  created: number;
  updated: number;
  failed: number;
  ms: number;
  /** The daily API usage Salesforce reported on the last response (Sforce-Limit-Info). */
  apiUsage: { used: number; limit: number } | null;
}

interface AttioCompany {
  id: { record_id: string };
  values: {
    name?: { value?: string }[];
    domains?: { domain?: string }[];
    description?: { value?: string }[];
    primary_location?: { locality?: string | null }[];
  };
}

const PAGE = 500;

export async function naiveSync(options: NaiveSyncOptions): Promise<NaiveSyncResult> {
  const started = performance.now();
  const token = await login(options);
  const conn = new Connection({ instanceUrl: token.instance_url, accessToken: token.access_token, version: "62.0" });
  const result: NaiveSyncResult = { records: 0, created: 0, updated: 0, failed: 0, ms: 0, apiUsage: null };
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const every = options.progressEvery ?? 500;
  // Bounded: one page per 500 records, and the Attio query answers fewer than 500 at the end.
  for (let offset = 0; result.records < limit; offset += PAGE) {
    const page = await attioCompanies(options, offset);
    for (const company of page) {
      if (result.records >= limit) break;
      const domain = company.values.domains?.[0]?.domain;
      const fields = {
        Name: company.values.name?.[0]?.value ?? domain ?? company.id.record_id,
        Website: domain ? `https://${domain}` : null,
        Description: company.values.description?.[0]?.value ?? null,
        BillingCity: company.values.primary_location?.[0]?.locality ?? null,
      };
      try {
        const found = domain
          ? await conn.query<{ Id: string }>(`SELECT Id FROM Account WHERE Website = '${soql(`https://${domain}`)}'`)
          : { records: [] };
        const existing = found.records[0];
        if (existing) {
          await conn.sobject("Account").update({ Id: existing.Id, ...fields });
          result.updated++;
        } else {
          await conn.sobject("Account").create(fields);
          result.created++;
        }
      } catch (err) {
        result.failed++;
        if (result.failed <= 3) console.error(`  naive: ${company.id.record_id}: ${(err as Error).message}`);
      }
      result.records++;
      if (result.records % every === 0) options.onProgress?.(result.records);
    }
    if (page.length < PAGE) break;
  }
  const usage = conn.limitInfo?.apiUsage;
  result.apiUsage = usage ? { used: usage.used, limit: usage.limit } : null;
  result.ms = performance.now() - started;
  return result;
}

async function login(options: NaiveSyncOptions): Promise<{ access_token: string; instance_url: string }> {
  const response = await fetch(`${options.salesforceLoginUrl}/services/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: options.clientId,
      client_secret: options.clientSecret,
    }),
  });
  if (!response.ok) throw new Error(`Salesforce login failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as { access_token: string; instance_url: string };
}

async function attioCompanies(options: NaiveSyncOptions, offset: number): Promise<AttioCompany[]> {
  const response = await fetch(`${options.attioUrl}/v2/objects/companies/records/query`, {
    method: "POST",
    headers: { authorization: `Bearer ${options.attioApiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ limit: PAGE, offset }),
  });
  if (!response.ok) throw new Error(`Attio records query failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { data: AttioCompany[] }).data;
}

function soql(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const { DEFAULT_ATTIO_API_KEY } = await import("../sandbox/attio/server.ts");
  const { DEFAULT_SF_CLIENT_ID, DEFAULT_SF_CLIENT_SECRET } = await import("../sandbox/salesforce/server.ts");
  const result = await naiveSync({
    attioUrl: flag("attio") ?? "http://127.0.0.1:8788",
    attioApiKey: process.env.ATTIO_API_KEY ?? DEFAULT_ATTIO_API_KEY,
    salesforceLoginUrl: flag("salesforce") ?? "http://127.0.0.1:8789",
    clientId: process.env.SALESFORCE_CLIENT_ID ?? DEFAULT_SF_CLIENT_ID,
    clientSecret: process.env.SALESFORCE_CLIENT_SECRET ?? DEFAULT_SF_CLIENT_SECRET,
    onProgress: (done) => console.log(`  ${done} records`),
  });
  console.log(JSON.stringify(result));
}
