import { PassThrough } from "node:stream";
import type { Connection } from "jsforce";

type Transport = Connection["_transport"];
type Request = Parameters<Transport["httpRequest"]>[0];
type Answer = Awaited<ReturnType<Transport["httpRequest"]>>;

/**
 * Sends every request of `conn` with one `fetch`, limited to `timeoutMs` (body included), instead
 * of through jsforce's fetch transport.
 *
 * Why: that transport starts its fetch without handling its failure, so when a connection is lost
 * (workerd's "Network connection lost", a reset keep-alive socket) or a body cannot be read, the
 * error escapes unhandled and the request never settles. The run then holds its records' leases,
 * renewing them, until SALESFORCE_TIMEOUT_SECONDS (2 minutes by default) ends it: seen in the
 * convergence run as records left unsynced for over a minute. Here such a failure rejects at once,
 * and jsforce's HttpApi turns it into a retryable error as it does any rejected request.
 *
 * The Worker reads every answer whole (JSON, or CSV as text), so the request's stream only carries
 * the body once it has arrived.
 */
export function useFetchTransport(conn: Connection, timeoutMs: number, send: typeof fetch = fetch): void {
  conn._transport.httpRequest = (request) => {
    const stream = new PassThrough();
    const answered = fetchAnswer(send, request, timeoutMs).then(
      (answer) => {
        stream.end(answer.body);
        return answer;
      },
      (err: unknown) => {
        stream.end();
        throw err;
      },
    );
    return Object.assign(answered, { stream: () => stream }) as ReturnType<Transport["httpRequest"]>;
  };
}

async function fetchAnswer(send: typeof fetch, request: Request, timeoutMs: number): Promise<Answer> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await send(request.url, {
      method: request.method,
      ...(request.headers ? { headers: request.headers } : {}),
      ...(request.body === undefined || request.body === null ? {} : { body: bodyOf(request.body) }),
      // Salesforce's REST API does not redirect API calls; a 3xx is handed to jsforce as it came.
      redirect: "manual",
      signal,
    });
    const body = await response.text();
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    return { statusCode: response.status, headers, body };
  } catch (err) {
    if (signal.aborted) throw new RequestTimeout(timeoutMs);
    throw err;
  }
}

/** The bodies the Worker sends: JSON and CSV as strings. A stream or a form is a bug here. */
function bodyOf(body: NonNullable<Request["body"]>): string | URLSearchParams | Uint8Array {
  if (typeof body === "string" || body instanceof URLSearchParams || body instanceof Uint8Array) return body;
  throw new TypeError("the Salesforce transport sends strings, URLSearchParams and bytes only");
}

/** A request with no whole answer within SALESFORCE_TIMEOUT_SECONDS (errors.ts maps it). */
export class RequestTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`Salesforce did not answer within ${timeoutMs / 1000} s (SALESFORCE_TIMEOUT_SECONDS)`);
  }
}
