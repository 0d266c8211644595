import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A request as the emulators see it: the raw body is kept because signatures and parsers need it. */
export interface EmulatorRequest {
  method: string;
  /** The request target as sent (path and query string, still percent-encoded). */
  target?: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  rawBody: string;
}

export interface EmulatorReply {
  status: number;
  headers?: Record<string, string>;
  /** Serialised as JSON unless `raw` is set. `undefined` means an empty body (204). */
  body?: unknown;
  raw?: string;
  /**
   * The answer never arrives (a fault the emulators inject): `reset` destroys the connection at
   * once; `hang` holds it for `ms` (or until the client gives up), then destroys it.
   */
  lost?: { kind: "reset" } | { kind: "hang"; ms: number };
}

export type Handler = (request: EmulatorRequest) => Promise<EmulatorReply> | EmulatorReply;

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Bodies above this are refused: no emulated endpoint takes more, and tests must not exhaust memory. */
const MAX_BODY_BYTES = 20 * 1024 * 1024;

/**
 * Starts `handler` on `host:port` (port 0 = ephemeral). Loopback only unless a caller insists otherwise.
 * `maxHeaderSize`: bytes of request line and headers Node accepts (16 KiB by default, above which it
 * answers 431 itself); an emulator that enforces its own URL limit raises it.
 */
export async function startServer(
  handler: Handler,
  options: { host?: string; port?: number; maxHeaderSize?: number } = {},
): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const serverOptions = options.maxHeaderSize === undefined ? {} : { maxHeaderSize: options.maxHeaderSize };
  const server = createServer(serverOptions, (req, res) => {
    void serve(handler, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return { url: `http://${host}:${port}`, port, close: () => closeServer(server) };
}

async function serve(handler: Handler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const rawBody = await readBody(req);
    const url = new URL(req.url ?? "/", "http://emulator.local");
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
    }
    const reply = await handler({
      method: (req.method ?? "GET").toUpperCase(),
      target: req.url ?? "/",
      path: url.pathname,
      query: url.searchParams,
      headers,
      rawBody,
    });
    send(res, reply);
  } catch (err) {
    send(res, { status: 500, body: { message: (err as Error).message, errorCode: "EMULATOR_FAILURE" } });
  }
}

function send(res: ServerResponse, reply: EmulatorReply): void {
  if (reply.lost) {
    const destroy = () => res.socket?.destroy();
    if (reply.lost.kind === "reset") destroy();
    else {
      const timer = setTimeout(destroy, reply.lost.ms);
      res.once("close", () => clearTimeout(timer));
    }
    return;
  }
  const headers: Record<string, string> = { ...reply.headers };
  let payload = "";
  if (reply.raw !== undefined) payload = reply.raw;
  else if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers["content-type"] ??= "application/json;charset=UTF-8";
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets from clients would otherwise hold close() open until they time out.
    server.closeAllConnections();
  });
}

/** Parses a JSON body, or returns `undefined` when it is not JSON. */
export function parseJson(raw: string): unknown {
  if (raw.trim() === "") return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** Splits a path into segments, decoding each one. */
export function segments(path: string): string[] {
  return path
    .split("/")
    .filter((part) => part !== "")
    .map((part) => decodeURIComponent(part));
}
