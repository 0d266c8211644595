import type { ContractEvent } from "./convert.ts";
import { signRelayRequest } from "./signing.ts";

/** The POST body of `${WORKER_URL}/webhooks/salesforce`. */
export interface RelayBody {
  events: ContractEvent[];
  catchup?: string[];
}

export type DeliveryResult =
  | { ok: true; status: number; summary: unknown; durationMs: number }
  | {
      ok: false;
      status: number | undefined;
      /**
       * False for answers that will not change by themselves (400 bad body, 401 bad signature, 404):
       * they are retried more slowly, logged as errors, and the relay reports itself stalled.
       */
      retryable: boolean;
      /**
       * True when the Worker refused what the request carries (400, 413, 422), not who sent it or
       * where: after a few attempts the relay parks those events in its dead-letter file and moves
       * on. A 401 or 404 (a wrong secret, clock or URL) is never that: every event would be refused.
       */
      contentRejected: boolean;
      message: string;
      durationMs: number;
    };

export interface WorkerClient {
  deliver(body: RelayBody): Promise<DeliveryResult>;
}

export interface WorkerClientOptions {
  workerUrl: string;
  secret: string;
  timeoutMs: number;
  fetch?: typeof fetch;
  now?: () => number;
}

export function createWorkerClient(options: WorkerClientOptions): WorkerClient {
  const url = `${options.workerUrl}/webhooks/salesforce`;
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  return {
    async deliver(body) {
      const raw = JSON.stringify(body);
      const started = now();
      let response: Response;
      try {
        response = await doFetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", ...signRelayRequest(options.secret, raw, now()) },
          body: raw,
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (err) {
        const message =
          err instanceof Error && err.name === "TimeoutError"
            ? `no answer within ${options.timeoutMs} ms`
            : String(err);
        return {
          ok: false,
          status: undefined,
          retryable: true,
          contentRejected: false,
          message: `Worker unreachable: ${message}`,
          durationMs: now() - started,
        };
      }
      const text = await response.text().catch(() => "");
      const durationMs = now() - started;
      if (response.ok) return { ok: true, status: response.status, summary: parseJson(text), durationMs };
      const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
      return {
        ok: false,
        status: response.status,
        retryable,
        contentRejected: CONTENT_REJECTED.has(response.status),
        message: `Worker answered ${response.status}: ${text.slice(0, 500)}`,
        durationMs,
      };
    },
  };
}

/** Answers about the request's content: the same events would get them again. */
const CONTENT_REJECTED = new Set([400, 413, 422]);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text.slice(0, 500);
  }
}
