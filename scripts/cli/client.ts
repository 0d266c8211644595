/**
 * The management API over HTTP: one call, its answer as JSON, or a `CliError` saying plainly what
 * went wrong (the API's `{error:{code,message,details}}`, or the network's own failure). The token
 * is sent as a header and never appears in a message.
 */
import { z } from "zod";

export type Method = "get" | "post" | "put" | "delete";

/** What failed, and the exit code it gives: the API refused (1), the Worker was not reached (3). */
export class CliError extends Error {
  override readonly name = "CliError";
  // Assigned, not a parameter property: Node's type stripping runs only erasable syntax.
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

export interface Target {
  /** The Worker's origin (with or without `/api/v1`). */
  url: string;
  token: string;
  fetch?: typeof fetch;
  /** Per call; doctor reads both CRMs, so the default is generous. */
  timeoutMs?: number;
}

export interface Call {
  method: Method;
  /** Under /api/v1, with its parameters filled in, e.g. `/sync/6f1c…`. */
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
}

const ApiErrorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** `https://x.workers.dev/`, `…/api/v1` and `…/api/v1/` all name the same API. */
export function apiBase(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`not a URL: ${url}`, 2);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new CliError(`the Worker's URL must be http(s): ${url}`, 2);
  }
  // The token travels in a header: in clear only to this machine (wrangler dev, the sandbox).
  if (parsed.protocol === "http:" && !LOOPBACK.has(parsed.hostname)) {
    throw new CliError(`use https for ${parsed.host}: the admin token would travel in clear`, 2);
  }
  const path = parsed.pathname.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
  return `${parsed.origin}${path}/api/v1`;
}

/** Calls the API; resolves with the JSON of a 2xx answer, rejects with a readable `CliError`. */
export async function callApi(target: Target, call: Call): Promise<unknown> {
  const url = new URL(`${apiBase(target.url)}${call.path}`);
  for (const [key, value] of Object.entries(call.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, value);
  }
  const headers: Record<string, string> = { authorization: `Bearer ${target.token}`, accept: "application/json" };
  if (call.body !== undefined) headers["content-type"] = "application/json";
  const label = `${call.method.toUpperCase()} ${url.pathname}`;
  let response: Response;
  try {
    response = await (target.fetch ?? fetch)(url, {
      method: call.method.toUpperCase(),
      headers,
      ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
      signal: AbortSignal.timeout(target.timeoutMs ?? 120_000),
    });
  } catch (err) {
    throw new CliError(`could not reach the Worker at ${url.origin} (${label}): ${networkReason(err)}`, 3);
  }
  const text = await response.text();
  const json = parseJson(text);
  if (response.ok) {
    if (json === undefined) throw new CliError(`${label} answered ${response.status} with no JSON`, 1);
    return json;
  }
  throw new CliError(apiErrorMessage(response.status, json, text), 1);
}

/** `401 unauthorized: …` and one line per detail; a non-JSON answer by its status and first words. */
export function apiErrorMessage(status: number, json: unknown, text: string): string {
  const parsed = ApiErrorSchema.safeParse(json);
  if (!parsed.success) {
    const snippet = text.trim().slice(0, 200);
    return `the Worker answered HTTP ${status}${snippet ? `: ${snippet}` : ""}`;
  }
  const { code, message, details } = parsed.data.error;
  const hint = status === 401 ? " (check ATTIO_SFDC_TOKEN: the Worker's ADMIN_TOKEN)" : "";
  return [
    `error ${status} ${code}: ${message}${hint}`,
    ...(details ?? []).map((d) => `  - ${d.path ? `${d.path}: ` : ""}${d.message}`),
  ].join("\n");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The network's reason in its own words: ECONNREFUSED, ENOTFOUND, a timeout, a TLS failure. */
function networkReason(err: unknown): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) return "timed out";
  // fetch's own message is "fetch failed"; the reason is in its cause (a code, or a message).
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  const message = typeof cause?.message === "string" && cause.message !== "" ? cause.message : undefined;
  if (code && message && !message.includes(code)) return `${code}: ${message}`;
  return message ?? code ?? (err instanceof Error ? err.message : String(err));
}
