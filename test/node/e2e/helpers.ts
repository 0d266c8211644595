import type { Stack } from "../../../scripts/sandbox/stack.ts";

/** POSTs JSON to an emulator's control API and returns the JSON answer. */
export async function control<T = Record<string, unknown>>(baseUrl: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${baseUrl}/__control/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as T;
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

export async function state<T = Record<string, unknown>>(baseUrl: string): Promise<T> {
  const response = await fetch(`${baseUrl}/__control/state`);
  return (await response.json()) as T;
}

/** Polls `check` every 100 ms until it returns a value, for at most `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ""}`);
}

export type SfRecord = Record<string, unknown> & { Id: string };
export interface AttioRecordJson {
  id: { record_id: string };
  values: Record<string, Record<string, unknown>[]>;
}

export async function salesforceRecords(stack: Stack, object: string): Promise<SfRecord[]> {
  const dump = await state<{ records: Record<string, SfRecord[]> }>(stack.salesforce.url);
  return (dump.records[object] ?? []).filter((r) => r.IsDeleted !== true);
}

export async function attioRecords(stack: Stack, object: string): Promise<AttioRecordJson[]> {
  const dump = await state<{ records: Record<string, AttioRecordJson[]> }>(stack.attio.url);
  return dump.records[object] ?? [];
}

/** The management API of the Worker. */
export async function api<T>(stack: Stack, path: string): Promise<T> {
  const response = await fetch(`${stack.workerUrl}/api/v1${path}`, {
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  return (await response.json()) as T;
}
