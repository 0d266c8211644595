import { env, exports } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import webhook from "../../fixtures/attio/webhook-record-updated.json";
import cdcEvent from "../../fixtures/salesforce/cdc-contact-update-cometd.json";
import { createApiV1 } from "../../src/http/api/index.ts";
import { BODY_LIMITS } from "../../src/http/app.ts";
import { RELAY_TOLERANCE_SECONDS } from "../../src/http/relay-signature.ts";
import { hmacSha256Hex } from "../../src/lib/hmac.ts";
import { openDb } from "../../src/store/db.ts";
import { failures } from "../../src/store/schema.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { personChanged } from "../helpers/messages.ts";
import { server } from "../helpers/msw.ts";
import { ADMIN_TOKEN, ATTIO_WEBHOOK_SECRET, RELAY_SECRET } from "../helpers/signing.ts";

/**
 * Seeded, bounded fuzzing of every public route: malformed, unsigned, wrongly signed, replayed,
 * oversized, wrongly typed, deeply nested and random-byte requests. Whatever arrives, the Worker
 * answers 4xx (or 2xx for reads), never 5xx, enqueues nothing and writes nothing to D1.
 */

const SEED = 0x5eed_7007;
const ITERATIONS = 2000;
const BASE = "https://worker.test";

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick };
}
type Rng = ReturnType<typeof rng>;

const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:%/?&=#[]{}\"' \\\n\t";
function randomString(r: Rng, max = 40): string {
  let out = "";
  const length = r.int(max + 1);
  for (let i = 0; i < length; i++) {
    const roll = r.next();
    if (roll < 0.85) out += ALPHABET[r.int(ALPHABET.length)];
    else if (roll < 0.95)
      out += String.fromCodePoint(0x80 + r.int(0x2000)); // accents, symbols, control
    else out += r.pick(["\u0000", "\ud83d\ude00", "\u202e", "\ufeff", "\ud800"]); // NUL, emoji, RTL, BOM, lone surrogate
  }
  return out;
}

/** Header values: printable ASCII (workerd would send anything else as UTF-8 with a warning). */
function randomHeaderValue(r: Rng, max = 60): string {
  let out = "";
  const length = r.int(max + 1);
  for (let i = 0; i < length; i++) out += String.fromCharCode(0x20 + r.int(0x5f));
  return out.trim();
}

function randomBytes(r: Rng, max: number): Uint8Array {
  const bytes = new Uint8Array(r.int(max + 1));
  for (let i = 0; i < bytes.length; i++) bytes[i] = r.int(256);
  return bytes;
}

/**
 * Any JSON value. Objects always carry at least one key no schema of ours knows (`x_...`), so a
 * generated object can never be a valid request that acts (e.g. `{}` on POST /failures/replay).
 */
function randomJson(r: Rng, depth = 0): unknown {
  const roll = r.int(depth > 3 ? 6 : 8);
  switch (roll) {
    case 0:
      return null;
    case 1:
      return r.next() < 0.5;
    case 2:
      return r.pick([0, -1, 1e308, -0, 2 ** 53 + 1, 3.14, Number.MAX_SAFE_INTEGER]);
    case 3:
    case 4:
      return randomString(r);
    case 5:
      return r.pick(["record.updated", "Contact", "open", "attio", "approve", "link", "", "__proto__"]);
    case 6:
      return Array.from({ length: r.int(4) }, () => randomJson(r, depth + 1));
    default: {
      const out: Record<string, unknown> = { [`x_${randomString(r, 8)}`]: randomJson(r, depth + 1) };
      const keys = ["toml", "side", "value", "decision", "action", "candidate_id", "status", "events", "webhook_id"];
      for (let i = r.int(4); i > 0; i--) out[r.pick(keys)] = randomJson(r, depth + 1);
      return out;
    }
  }
}

function deeplyNested(r: Rng): string {
  const depth = 1000 + r.int(20_000);
  if (r.next() < 0.5) return `${"[".repeat(depth)}${"]".repeat(depth)}`;
  return `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

/** Bodies shaped almost like the real thing, each wrong somewhere (so nothing valid gets through). */
function nearMissAttio(r: Rng): unknown {
  const event = structuredClone(webhook.events[0]) as Record<string, unknown>;
  const variants: (() => unknown)[] = [
    () => ({ webhook_id: webhook.webhook_id }),
    () => ({ events: [event] }),
    () => ({ webhook_id: "", events: [event] }),
    () => ({ webhook_id: webhook.webhook_id, events: [{ ...event, event_type: "record.exploded" }] }),
    () => ({ webhook_id: webhook.webhook_id, events: [{ ...event, id: { record_id: 42 } }] }),
    () => ({ webhook_id: webhook.webhook_id, events: [{ ...event, actor: { type: "robot", id: null } }] }),
    () => ({ webhook_id: webhook.webhook_id, events: "all of them" }),
    () => ({ webhook_id: webhook.webhook_id, events: [randomJson(r)] }),
    () => [event],
  ];
  return r.pick(variants)();
}

function nearMissRelay(r: Rng): unknown {
  const event = structuredClone(cdcEvent) as { payload: { ChangeEventHeader: Record<string, unknown> } };
  const variants: (() => unknown)[] = [
    () => ({ event: [event] }),
    () => ({ events: event }),
    () => ({
      events: [
        { ...event, payload: { ChangeEventHeader: { ...event.payload.ChangeEventHeader, changeType: "EXPLODE" } } },
      ],
    }),
    () => ({ events: [{ event: { replayId: "x" } }] }),
    () => ({ events: [], catchup: [randomString(r, 12), 7] }),
    () => ({ events: [randomJson(r)], catchup: "Account" }),
  ];
  return r.pick(variants)();
}

interface Route {
  method: string;
  /** Label used in the report, e.g. `POST /api/v1/conflicts/{id}`. */
  label: string;
  /** A concrete path (path parameters filled in with fuzz). */
  path: (r: Rng) => string;
  kind: "attio" | "relay" | "api" | "open";
}

function fillPath(template: string, r: Rng): string {
  return template.replace(/:(\w+)/g, () => {
    const choice = r.int(5);
    if (choice === 0) return encodeURIComponent(randomString(r, 30).replace(/[\ud800-\udfff]/g, "")) || "x";
    if (choice === 1) return "%ZZ%E0%A4%A"; // malformed percent-encoding
    if (choice === 2) return "a".repeat(300 + r.int(2000));
    if (choice === 3) return r.pick(["..", "%2e%2e", "%2F", "Contact", "people", "event:attio:x:0"]);
    return crypto.randomUUID();
  });
}

const apiRoutes: Route[] = createApiV1()
  .routes.filter((route) => route.method !== "ALL")
  .map((route) => ({
    method: route.method,
    label: `${route.method} /api/v1${route.path.replace(/:(\w+)/g, "{$1}")}`,
    path: (r: Rng) => `/api/v1${fillPath(route.path, r)}`,
    kind: "api" as const,
  }));

const routes: Route[] = [
  { method: "POST", label: "POST /webhooks/attio", path: () => "/webhooks/attio", kind: "attio" },
  { method: "POST", label: "POST /webhooks/salesforce", path: () => "/webhooks/salesforce", kind: "relay" },
  { method: "GET", label: "GET /healthz", path: () => "/healthz", kind: "open" },
  { method: "GET", label: "GET /docs", path: () => "/docs", kind: "open" },
  { method: "GET", label: "GET /docs/assets/scalar.js", path: () => "/docs/assets/scalar.js", kind: "open" },
  { method: "GET", label: "GET /openapi.json", path: () => "/openapi.json", kind: "open" },
  ...apiRoutes,
];

const MUTATIONS = [
  "malformed_json",
  "random_json",
  "near_miss",
  "random_bytes",
  "deeply_nested",
  "wrong_content_type",
  "wrong_method",
  "bad_query",
  "empty",
] as const;
type Mutation = (typeof MUTATIONS)[number] | "oversized" | "oversized_stream";

interface Fuzzed {
  route: Route;
  mutation: Mutation;
  auth: string;
  request: Request;
}

async function signFor(route: Route, r: Rng, raw: string | Uint8Array, headers: Record<string, string>) {
  const now = Math.floor(Date.now() / 1000);
  const mode = r.int(6);
  if (route.kind === "attio") {
    // 0 unsigned, 1 wrong secret, 2 garbage, 3-5 correctly signed (the body is what is wrong).
    if (mode === 0) return "unsigned";
    if (mode === 1) headers["attio-signature"] = await hmacSha256Hex(`${ATTIO_WEBHOOK_SECRET}x`, raw);
    else if (mode === 2) headers[r.pick(["attio-signature", "x-attio-signature"])] = randomHeaderValue(r, 80);
    else headers["attio-signature"] = await hmacSha256Hex(ATTIO_WEBHOOK_SECRET, raw);
    return ["unsigned", "wrong_secret", "garbage_signature", "signed", "signed", "signed"][mode] as string;
  }
  if (route.kind === "relay") {
    const text = typeof raw === "string" ? raw : new TextDecoder().decode(raw);
    // 0 unsigned, 1 wrong secret, 2 replayed (old timestamp, right signature), 3 future, 4 garbage, 5 signed.
    if (mode === 0) return "unsigned";
    const skew = RELAY_TOLERANCE_SECONDS + 1 + r.int(100_000);
    const timestamp = mode === 2 ? now - skew : mode === 3 ? now + skew : now;
    headers["x-relay-timestamp"] = mode === 4 ? randomHeaderValue(r, 12) : String(timestamp);
    const secret = mode === 1 ? `${RELAY_SECRET}x` : RELAY_SECRET;
    headers["x-relay-signature"] =
      mode === 4 ? randomHeaderValue(r, 70) : `v1=${await hmacSha256Hex(secret, `${timestamp}.${text}`)}`;
    return ["unsigned", "wrong_secret", "replayed", "future", "garbage_signature", "signed"][mode] as string;
  }
  if (route.kind === "api") {
    // Half the requests carry the valid token, so validation behind the auth check is fuzzed too.
    if (mode < 3) {
      headers["authorization"] = `Bearer ${ADMIN_TOKEN}`;
      return "valid_token";
    }
    if (mode === 3) return "no_token";
    if (mode === 4) headers["authorization"] = `Bearer ${ADMIN_TOKEN}${randomHeaderValue(r, 3) || "x"}`;
    else headers["authorization"] = r.pick(["Bearer", "Basic dGVzdDp0ZXN0", "bearer  ", randomHeaderValue(r, 200)]);
    return "wrong_token";
  }
  return "none";
}

async function generate(r: Rng, route: Route, mutation: Mutation): Promise<Fuzzed> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  let method = route.method;
  let path = route.path(r);
  let body: string | Uint8Array | ReadableStream | null = null;
  switch (mutation) {
    case "malformed_json":
      body = r.pick(["{", "[1,", '{"a":}', "nul", "{'single':1}", '{"a":1}}', "\u0000", "NaN", '"unterminated']);
      break;
    case "random_json":
      body = JSON.stringify(randomJson(r));
      break;
    case "near_miss":
      body = JSON.stringify(
        route.kind === "relay" ? nearMissRelay(r) : route.kind === "attio" ? nearMissAttio(r) : randomJson(r),
      );
      break;
    case "random_bytes":
      body = randomBytes(r, 4096);
      headers["content-type"] = r.pick(["application/octet-stream", "application/json", "text/plain"]);
      break;
    case "deeply_nested":
      body = deeplyNested(r);
      break;
    case "wrong_content_type":
      body = JSON.stringify(randomJson(r));
      headers["content-type"] = r.pick([
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        randomHeaderValue(r, 30),
      ]);
      break;
    case "wrong_method":
      method = r.pick(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"].filter((m) => m !== route.method));
      body = method === "GET" || method === "HEAD" ? null : JSON.stringify(randomJson(r));
      break;
    case "bad_query": {
      const pairs = Array.from({ length: 1 + r.int(4) }, () => {
        const key = r.pick([
          "limit",
          "cursor",
          "status",
          "from",
          "to",
          "object",
          "direction",
          "operation",
          "record_id",
          "colour",
        ]);
        const value = r.pick([
          randomString(r, 20).replace(/[\ud800-\udfff]/g, ""),
          "-1",
          "1e9",
          "0",
          "201",
          "NaN",
          "2026-13-45T99:00:00Z",
          "",
        ]);
        return `${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
      });
      path = `${path}?${pairs.join("&")}${r.next() < 0.2 ? "&%" : ""}`;
      break;
    }
    case "oversized": {
      const limit =
        route.kind === "relay" ? BODY_LIMITS.relay : route.kind === "attio" ? BODY_LIMITS.attio : BODY_LIMITS.api;
      body = `{"toml":"${"x".repeat(limit + 1 + r.int(1024))}"}`;
      break;
    }
    case "oversized_stream": {
      // No Content-Length: the limit must hold while the body is read.
      const limit =
        route.kind === "relay" ? BODY_LIMITS.relay : route.kind === "attio" ? BODY_LIMITS.attio : BODY_LIMITS.api;
      const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
      let sent = 0;
      body = new ReadableStream({
        pull(controller) {
          if (sent > limit) return controller.close();
          controller.enqueue(chunk);
          sent += chunk.byteLength;
        },
      });
      break;
    }
    case "empty":
      body = null;
      if (r.next() < 0.5) delete headers["content-type"];
      break;
  }
  if (
    route.method === "GET" &&
    mutation !== "wrong_method" &&
    mutation !== "oversized" &&
    mutation !== "oversized_stream"
  )
    body = null;
  const signable = body instanceof ReadableStream || body === null ? "" : body;
  const auth = await signFor(route, r, signable, headers);
  const request = new Request(`${BASE}${path}`, {
    method,
    headers,
    ...(body === null || method === "GET" || method === "HEAD" ? {} : { body }),
  });
  return { route, mutation, auth, request };
}

/** Row counts of every table in D1 (the migrations table excepted). */
async function rowCounts(): Promise<Record<string, number>> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations' ORDER BY name",
  ).all<{ name: string }>();
  const counts: Record<string, number> = {};
  for (const { name } of tables.results) {
    const row = await env.DB.prepare(`SELECT count(*) AS n FROM "${name}"`).first<{ n: number }>();
    counts[name] = row?.n ?? -1;
  }
  return counts;
}

beforeAll(async () => {
  // A replayable failure: the replay routes would enqueue it if a fuzzed request were ever taken as valid.
  const message = personChanged("p-fuzz-seed");
  await openDb(env.DB)
    .insert(failures)
    .values({
      id: `event:${message.dedupeKey}`,
      messageKind: message.kind,
      message,
      errorCode: "upstream_rejected",
      errorMessage: "seeded",
      attempts: 1,
      correlationId: message.correlationId,
    });
});
afterEach(() => vi.restoreAllMocks());

describe("fuzzing every public route", () => {
  it(`survives ${ITERATIONS} generated requests plus oversized ones: no 5xx, nothing enqueued, nothing written but failure rows for a relay post's bad events`, async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const send = vi.spyOn(env.SYNC_QUEUE, "send");
    const sendBatch = vi.spyOn(env.SYNC_QUEUE, "sendBatch");
    const before = await rowCounts();
    expect(Object.keys(before)).toEqual(
      expect.arrayContaining(["config_versions", "failures", "id_mappings", "inbound_events"]),
    );
    const r = rng(SEED);

    const cases: Fuzzed[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const route = r.pick(routes);
      cases.push(await generate(r, route, r.pick(MUTATIONS)));
    }
    // Every route, oversized both ways (with Content-Length, and streamed without it).
    for (const route of routes) {
      if (route.method === "GET") continue;
      for (const mutation of ["oversized", "oversized_stream"] as const) cases.push(await generate(r, route, mutation));
    }

    const counts = new Map<string, number>();
    const serverErrors: string[] = [];
    for (const fuzzed of cases) {
      const { request } = fuzzed;
      const response = await exports.default.fetch(request);
      await response.arrayBuffer();
      // Keyed by the method actually sent: a wrong-method request to PUT /config is a GET of it.
      const key = `${request.method} ${fuzzed.route.label.split(" ")[1]} [${fuzzed.auth}] -> ${response.status}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (response.status >= 500) {
        serverErrors.push(
          `${request.method} ${request.url.slice(0, 120)} ${fuzzed.mutation} ${fuzzed.auth}: ${response.status}`,
        );
      }
    }

    // The report the issue asks for: requests per route, authentication and status.
    const report = [...counts.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `${String(n).padStart(5)}  ${k}`);
    // biome-ignore lint/suspicious/noConsole: the fuzz report (requests per route and status) is this test's output.
    console.log(`fuzz (seed ${SEED.toString(16)}): ${cases.length} requests\n${report.join("\n")}`);

    expect(serverErrors).toEqual([]);
    expect(send).not.toHaveBeenCalled();
    expect(sendBatch).not.toHaveBeenCalled();
    // A relay post whose envelope is right but whose event is not (an unknown changeType) is a relay
    // post: its bad event becomes a failure row (the others would be enqueued). Nothing else is written.
    const relayFailures = await env.DB.prepare(
      "SELECT count(*) AS n FROM failures WHERE message_kind = 'relay.event'",
    ).first<{ n: number }>();
    expect(await rowCounts()).toEqual({ ...before, failures: (before["failures"] ?? 0) + (relayFailures?.n ?? 0) });
    // Every route was reached, and the valid token got past authentication somewhere.
    for (const route of routes) expect([...counts.keys()].some((k) => k.startsWith(`${route.label} [`))).toBe(true);
    expect([...counts.keys()].some((k) => k.includes("[valid_token] -> 400"))).toBe(true);
  }, 60_000);
});
