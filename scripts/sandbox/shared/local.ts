/**
 * What `npm start` (scripts/sandbox/start.ts), `npm run sandbox` (scripts/sandbox/cli.ts) and the
 * stack (scripts/sandbox/stack.ts) share: default ports, sandbox secrets, and JSON over HTTP.
 */
export const DEFAULT_WORKER_PORT = 8787;
export const DEFAULT_ATTIO_PORT = 8788;
export const DEFAULT_SALESFORCE_PORT = 8789;

/** Secrets of the local sandbox only; they protect nothing outside this machine. */
export const SANDBOX_RELAY_SECRET = "sandbox-relay-secret-0123456789abcdef";
export const SANDBOX_ADMIN_TOKEN = "sandbox-admin-token-0123456789abcdef";

export interface SandboxPorts {
  worker: number;
  attio: number;
  salesforce: number;
}

/** Environment variables that override the default ports (flags override these). */
export const PORT_ENV = {
  worker: "SANDBOX_WORKER_PORT",
  attio: "SANDBOX_ATTIO_PORT",
  salesforce: "SANDBOX_SALESFORCE_PORT",
} as const;

/** Ports from `--worker-port`/`--attio-port`/`--salesforce-port` values, else the environment, else the defaults. */
export function resolvePorts(
  flags: { worker?: string | undefined; attio?: string | undefined; salesforce?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): SandboxPorts {
  return {
    worker: port("worker", flags.worker ?? env[PORT_ENV.worker], DEFAULT_WORKER_PORT),
    attio: port("attio", flags.attio ?? env[PORT_ENV.attio], DEFAULT_ATTIO_PORT),
    salesforce: port("salesforce", flags.salesforce ?? env[PORT_ENV.salesforce], DEFAULT_SALESFORCE_PORT),
  };
}

function port(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65_535) {
    throw new Error(`invalid ${name} port "${raw}": expected an integer from 1 to 65535`);
  }
  return value;
}

/** POSTs JSON and returns the JSON answer; a non-2xx answer throws with the status and body. */
export async function postJson<T = unknown>(url: string, body: unknown, timeoutMs = 10_000): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return answer<T>(url, response);
}

/** POSTs to a management route with the admin token and no body; a non-2xx answer throws with the status and body. */
export async function postAdmin<T = unknown>(url: string, bearer: string, timeoutMs = 60_000): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${bearer}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  return answer<T>(url, response);
}

/** GETs JSON, optionally with a bearer token; a non-2xx answer throws with the status and body. */
export async function getJson<T = unknown>(url: string, bearer?: string, timeoutMs = 5_000): Promise<T> {
  const response = await fetch(url, {
    headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
    signal: AbortSignal.timeout(timeoutMs),
  });
  return answer<T>(url, response);
}

async function answer<T>(url: string, response: Response): Promise<T> {
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${JSON.stringify(json)}`);
  return json as T;
}

/** Records the sync (the API client) created, updated or deleted in one object of an emulator. */
export interface SyncWriteCounts {
  created: number;
  updated: number;
  deleted: number;
}

/** Adds one write of `kind` to `counts[object]`. */
export function countSyncWrite(
  counts: Record<string, SyncWriteCounts>,
  object: string,
  kind: keyof SyncWriteCounts,
): void {
  const entry = counts[object] ?? { created: 0, updated: 0, deleted: 0 };
  entry[kind] += 1;
  counts[object] = entry;
}
