import { z } from "zod";
import { type ApiUsage, budgetExhausted } from "../salesforce/usage.ts";
import type { SyncDeps } from "./deps.ts";

/** KV key of the last Salesforce API usage seen (`{used, limit, at}`), for status and pausing. */
export const USAGE_KEY = "salesforce:api-usage";
const StoredUsage = z.object({ used: z.number(), limit: z.number(), at: z.string() });

let lastWritten: ApiUsage | undefined;

/**
 * Stores the usage the Salesforce client last saw. KV takes one write per second per key, so only
 * a change of at least 0.5% of the allocation is written.
 */
export async function saveUsage(deps: SyncDeps, kv: KVNamespace): Promise<void> {
  const usage = deps.salesforce.lastUsage();
  if (!usage) return;
  if (lastWritten && Math.abs(usage.used - lastWritten.used) < usage.limit * 0.005) return;
  lastWritten = usage;
  await kv.put(USAGE_KEY, JSON.stringify({ ...usage, at: new Date().toISOString() }));
}

export async function loadUsage(kv: KVNamespace): Promise<z.infer<typeof StoredUsage> | null> {
  const parsed = StoredUsage.safeParse(await kv.get(USAGE_KEY, "json"));
  return parsed.success ? parsed.data : null;
}

/** Why background work must wait for Salesforce's budget, or null when it may go on. */
export async function budgetPause(deps: SyncDeps, kv: KVNamespace): Promise<string | null> {
  const usage = deps.salesforce.lastUsage() ?? (await loadUsage(kv));
  const reserve = deps.config.SALESFORCE_BUDGET_RESERVE;
  if (!budgetExhausted(usage, reserve)) return null;
  return `paused: Salesforce daily API usage ${usage?.used}/${usage?.limit} reached the ${Math.round(reserve * 100)}% reserve`;
}
