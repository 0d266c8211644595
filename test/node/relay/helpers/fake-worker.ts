import { timingSafeEqual as nodeTimingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyRelaySignature } from "../../../../src/http/relay-signature.ts";
import { type RelayBody, RelayBodySchema } from "../../../../src/salesforce/cdc-schema.ts";

// Workers have crypto.subtle.timingSafeEqual; Node does not. Give Node the same function so the
// Worker's own verifyRelaySignature runs here unchanged.
const subtle = crypto.subtle as unknown as { timingSafeEqual?: (a: Uint8Array, b: Uint8Array) => boolean };
subtle.timingSafeEqual ??= (a, b) => nodeTimingSafeEqual(a, b);

export interface WorkerRequestRecord {
  status: number;
  body: RelayBody | undefined;
  rejection?: string;
}

/**
 * The receiving end of the relay, on 127.0.0.1: it checks the signature with the Worker's own
 * verifyRelaySignature and the body with the Worker's RelayBodySchema, then answers what `respond`
 * says (200 by default). Every request and the answer given are recorded.
 */
export class FakeWorker {
  readonly requests: WorkerRequestRecord[] = [];
  /** Decides the status of a valid request; may wait (a slow Worker). */
  respond: (body: RelayBody, index: number) => number | Promise<number> = () => 200;
  readonly secret: string;
  #server: Server | undefined;

  constructor(secret: string) {
    this.secret = secret;
  }

  /** Bodies the Worker answered 2xx: what it has really received. */
  get accepted(): RelayBody[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300 && r.body).map((r) => r.body as RelayBody);
  }

  get acceptedEvents(): RelayBody["events"] {
    return this.accepted.flatMap((body) => body.events);
  }

  async start(): Promise<string> {
    this.#server = createServer(async (req, res) => {
      const raw = await readBody(req);
      const send = (status: number, payload: unknown) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload));
      if (req.method !== "POST" || req.url !== "/webhooks/salesforce") return send(404, { error: "not found" });
      const failure = await verifyRelaySignature(
        this.secret,
        header(req, "x-relay-timestamp"),
        header(req, "x-relay-signature"),
        raw,
      );
      if (failure) {
        this.requests.push({ status: 401, body: undefined, rejection: failure });
        return send(401, { error: failure });
      }
      const parsed = RelayBodySchema.safeParse(JSON.parse(raw));
      if (!parsed.success) {
        const rejection = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
        this.requests.push({ status: 400, body: undefined, rejection });
        return send(400, { error: rejection });
      }
      const index = this.requests.length;
      const record: WorkerRequestRecord = { status: 0, body: parsed.data };
      this.requests.push(record);
      record.status = await this.respond(parsed.data, index);
      return send(record.status, { received: parsed.data.events.length });
    });
    return listen(this.#server);
  }

  stop(): Promise<void> {
    return close(this.#server);
  }
}

/** A Salesforce token endpoint on 127.0.0.1 answering client-credentials requests with token-1, token-2, ... */
export class FakeTokenEndpoint {
  issued = 0;
  /** Told about every token handed out, so the fake Pub/Sub server can accept exactly those. */
  onIssue: (token: string) => void = () => {};
  readonly forms: URLSearchParams[] = [];
  #server: Server | undefined;

  async start(): Promise<string> {
    this.#server = createServer(async (req, res) => {
      const form = new URLSearchParams(await readBody(req));
      this.forms.push(form);
      if (req.url !== "/services/oauth2/token" || form.get("grant_type") !== "client_credentials") {
        return res.writeHead(400, { "content-type": "application/json" }).end('{"error":"unsupported_grant_type"}');
      }
      if (form.get("client_secret") !== "test-client-secret") {
        return res
          .writeHead(400, { "content-type": "application/json" })
          .end('{"error":"invalid_client","error_description":"invalid client credentials"}');
      }
      this.issued++;
      this.onIssue(`token-${this.issued}`);
      return res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          access_token: `token-${this.issued}`,
          instance_url: "https://acme.my.salesforce.test",
          id: "https://login.salesforce.test/id/00DHs000000AbCdMAK/005Hs00000XyZ12IAB",
          token_type: "Bearer",
          issued_at: String(Date.now()),
        }),
      );
    });
    return listen(this.#server);
  }

  stop(): Promise<void> {
    return close(this.#server);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Polls `check` every 10 ms until it holds, failing after `timeoutMs` (tests must never hang). */
export async function waitFor(check: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
