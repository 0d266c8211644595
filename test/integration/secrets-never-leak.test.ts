import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { HttpResponse, http } from "msw";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import webhook from "../../fixtures/attio/webhook-record-updated.json";
import cdcEvent from "../../fixtures/salesforce/cdc-contact-update-cometd.json";
import worker from "../../src/index.ts";
import { hmacSha256Hex } from "../../src/lib/hmac.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";

/**
 * A full sync run with distinctive secret values, capturing everything the Worker exposes (log
 * lines, response bodies and headers, every D1 row, every KV value, every queue message) and
 * searching all of it for the secrets. Outgoing requests to Attio and Salesforce carry credentials
 * by design; they are not part of what is searched.
 */

/** Each secret has a core no other value contains, so even a truncated copy is found. */
const SECRETS = {
  ATTIO_API_KEY: "attio_key_LEAKCHECK1a7f3e9d",
  ATTIO_WEBHOOK_SECRET: "whsec_LEAKCHECK2b8e4f0a",
  ATTIO_WEBHOOK_SECRET_NEXT: "whsec_LEAKCHECK9d4f0b6c_next",
  SALESFORCE_CLIENT_ID: "3MVG9_LEAKCHECK3c9f5a1b",
  SALESFORCE_CLIENT_SECRET: "sfsecret_LEAKCHECK4d0a6b2c",
  RELAY_SECRET: "relay_LEAKCHECK5e1b7c3d_0123456789",
  ADMIN_TOKEN: "admin_LEAKCHECK6f2c8d4e_current_x",
  ADMIN_TOKEN_NEXT: "admin_LEAKCHECK7a3d9e5f_next_0123",
  ALERT_WEBHOOK_SECRET: "alert_LEAKCHECK0c5e1a7b_0123456789",
  // Not a secret by name, but a Slack webhook URL is one by nature: its path is its token.
  ALERT_WEBHOOK_URL: "https://alerts.leak.test/services/LEAKCHECKa1b2c3d4",
} as const;
/** Salesforce's access tokens: the fake issues `<prefix>-<n>`. */
const ACCESS_TOKEN_PREFIX = "00DHs000000LEAK!AQ8LEAKCHECK8b4e0f6a";

const needles = [
  ...Object.entries(SECRETS).flatMap(([name, value]) => [
    { name, text: value },
    { name: `${name} (core)`, text: /LEAKCHECK\w{8}/.exec(value)?.[0] ?? value },
    { name: `${name} (base64)`, text: btoa(value) },
  ]),
  { name: "Salesforce access token", text: ACCESS_TOKEN_PREFIX },
  { name: "Salesforce access token (core)", text: "LEAKCHECK8b4e0f6a" },
];

/** Every secret found in `text`, by name. */
function leaks(text: string): string[] {
  return needles.filter((n) => text.includes(n.text)).map((n) => n.name);
}

const PERSON_ID = webhook.events[0]?.id.record_id ?? "";

describe("secrets never leak", () => {
  const logs: string[] = [];
  const responses: string[] = [];
  /** Messages not yet run through the queue handler, and every message ever sent. */
  const queued: unknown[] = [];
  const everQueued: string[] = [];
  // Messages are captured instead of delivered, so the run uses this test's env from end to end.
  const capture = (body: unknown) => {
    queued.push(body);
    everQueued.push(JSON.stringify(body));
  };
  const queue = {
    async send(body: unknown) {
      capture(body);
    },
    async sendBatch(messages: Iterable<{ body: unknown }>) {
      for (const m of messages) capture(m.body);
    },
  } as unknown as Queue;
  const secretEnv = { ...env, ...SECRETS, LOG_LEVEL: "debug", SYNC_QUEUE: queue } as unknown as Env;

  beforeEach(() => {
    clearTokenCache();
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logs.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
    }
  });
  afterEach(() => vi.restoreAllMocks());

  async function fetchWorker(request: Request, workerEnv: Env = secretEnv): Promise<Response> {
    const ctx = createExecutionContext();
    const response = await worker.fetch(request, workerEnv, ctx);
    await waitOnExecutionContext(ctx);
    const body = await response.text();
    responses.push(`${response.status} ${JSON.stringify([...response.headers])} ${body}`);
    return new Response(body, { status: response.status, headers: response.headers });
  }

  let sequence = 0;
  /**
   * Runs the queue handler until nothing is left (the consumer may enqueue follow-ups, e.g. after a
   * link); fails on a retry, since every step of this run is expected to finish the first time.
   */
  async function drainQueue(): Promise<void> {
    for (let round = 0; round < 5 && queued.length > 0; round++) {
      const messages = queued.splice(0).map((body) => {
        sequence += 1;
        return { id: `leak-${sequence}`, timestamp: new Date(), attempts: 1, body };
      });
      const batch = createMessageBatch("attio-sfdc-sync", messages);
      const ctx = createExecutionContext();
      await worker.queue(batch, secretEnv, ctx);
      const result = await getQueueResult(batch, ctx);
      expect(result.retryMessages).toEqual([]);
      expect(result.explicitAcks.sort()).toEqual(messages.map((m) => m.id).sort());
    }
    expect(queued).toEqual([]);
  }

  async function attioDelivery(key: string, recordId = PERSON_ID) {
    const body = JSON.stringify({
      ...webhook,
      events: [{ ...webhook.events[0], id: { ...webhook.events[0]?.id, record_id: recordId } }],
    });
    const request = new Request("https://worker.test/webhooks/attio", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "idempotency-key": key,
        "attio-signature": await hmacSha256Hex(SECRETS.ATTIO_WEBHOOK_SECRET, body),
      },
      body,
    });
    return fetchWorker(request);
  }

  async function relayDelivery(events: unknown[]) {
    const body = JSON.stringify({ events });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = await hmacSha256Hex(SECRETS.RELAY_SECRET, `${timestamp}.${body}`);
    return fetchWorker(
      new Request("https://worker.test/webhooks/salesforce", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-relay-timestamp": timestamp,
          "x-relay-signature": `v1=${signature}`,
        },
        body,
      }),
    );
  }

  function api(method: string, path: string, options: { body?: unknown; token?: string } = {}) {
    return fetchWorker(
      new Request(`https://worker.test/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${options.token ?? SECRETS.ADMIN_TOKEN}`,
          "content-type": "application/json",
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      }),
    );
  }

  it("a full run both ways, a token refresh, a failure and the management API expose no secret", async () => {
    const attio = fakeAttio({ apiKey: SECRETS.ATTIO_API_KEY });
    const sf = fakeSalesforce({
      clientId: SECRETS.SALESFORCE_CLIENT_ID,
      clientSecret: SECRETS.SALESFORCE_CLIENT_SECRET,
      accessTokenPrefix: ACCESS_TOKEN_PREFIX,
    });
    server.use(...attio.handlers, ...sf.handlers);
    attio.addPerson(PERSON_ID, { first: "Mira", last: "Okafor", email: "leak@northwind.example", title: "CTO" });

    // Attio -> Salesforce: webhook in, queue, engine, Contact created.
    expect((await attioDelivery("leak-1")).status).toBe(200);
    await drainQueue();
    expect(sf.contacts.size).toBe(1);
    const [contactId] = [...sf.contacts.keys()];

    // The session expires: Salesforce answers 401 INVALID_SESSION_ID, the Worker gets a new token.
    sf.expireTokens();
    attio.setJobTitle(PERSON_ID, "Chief Technology Officer");
    await attioDelivery("leak-2");
    await drainQueue();
    expect(sf.tokensIssued).toBe(2);
    expect(sf.contacts.get(contactId ?? "")?.["Title"]).toBe("Chief Technology Officer");

    // Salesforce -> Attio: a change event from the relay for the linked Contact.
    sf.contacts.set(contactId ?? "", { ...sf.contacts.get(contactId ?? ""), Title: "VP Revenue" });
    const event = structuredClone(cdcEvent);
    event.payload.ChangeEventHeader.recordIds = [contactId ?? ""];
    event.payload.ChangeEventHeader.commitTimestamp = Date.now();
    expect((await relayDelivery([event])).status).toBe(200);
    await drainQueue();
    expect(attio.calls.some((c) => c.method === "PATCH" && c.path.endsWith(`/records/${PERSON_ID}`))).toBe(true);

    // A write Salesforce rejects for good becomes a failure row, with the values we tried.
    sf.rejectCreates({ statusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", message: "Email domain is blocked" });
    attio.addPerson("p-leak-rejected", { email: "rejected@northwind.example" });
    await attioDelivery("leak-3", "p-leak-rejected");
    await drainQueue();

    // The management API, with the current and the next admin token, and a wrong one.
    expect((await api("GET", "/status")).status).toBe(200);
    const failures = (await (await api("GET", "/failures")).json()) as { items: { id: string }[] };
    expect(failures.items).toHaveLength(1);
    for (const path of [
      "/config",
      "/mappings",
      "/history",
      "/conflicts",
      "/deletes",
      "/matches",
      "/openapi.json",
      "/schema/attio/people",
      "/schema/salesforce/Contact",
    ]) {
      expect((await api("GET", path, { token: SECRETS.ADMIN_TOKEN_NEXT })).status, path).toBe(200);
    }
    const toml = '[sync]\ndirection = "bidirectional"\nconflict_resolution = "last_write"\n';
    expect((await api("POST", "/validate", { body: { toml } })).status).toBe(200);
    expect((await api("PUT", "/config", { body: { toml } })).status).toBe(200);
    expect((await api("PUT", "/config", { body: { toml: "[sync]\ndirection = 3" } })).status).toBe(422);
    expect((await api("GET", "/status", { token: `${SECRETS.ADMIN_TOKEN}x` })).status).toBe(401);
    sf.rejectCreates(undefined);
    const replay = await api("POST", `/failures/${encodeURIComponent(failures.items[0]?.id ?? "")}/replay`);
    expect(await replay.json()).toEqual({ replayed: 1 });
    await drainQueue();
    expect(sf.contacts.size).toBe(2);

    // Unsigned and wrongly signed deliveries are refused without saying what was expected.
    expect(
      (await fetchWorker(new Request("https://worker.test/webhooks/attio", { method: "POST", body: "{}" }))).status,
    ).toBe(401);
    // A signed relay post with an event the Worker cannot use: a failure row, and a 200 for the rest.
    const nonsense = await relayDelivery([{ nonsense: true }]);
    expect(nonsense.status).toBe(200);
    expect(await nonsense.json()).toMatchObject({ rejected: 1 });

    // A configuration error names the variable, never its value.
    const misconfigured = { ...secretEnv, ADMIN_TOKEN_NEXT: "LEAKCHECK9short" } as unknown as Env;
    needles.push({ name: "invalid ADMIN_TOKEN_NEXT", text: "LEAKCHECK9short" });
    const broken = await fetchWorker(new Request("https://worker.test/api/v1/status"), misconfigured);
    expect(broken.status).toBe(500);
    expect(await broken.text()).toContain("ADMIN_TOKEN_NEXT");

    // The cron, with alerts on: the endpoint refuses the first post (logged: only the URL's host).
    let alertPosts = 0;
    server.use(
      http.post(SECRETS.ALERT_WEBHOOK_URL, () => {
        alertPosts += 1;
        return new HttpResponse("no", { status: 500 });
      }),
    );
    const cronCtx = createExecutionContext();
    const controller = createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" });
    await worker.scheduled(controller, secretEnv, cronCtx);
    await waitOnExecutionContext(cronCtx);
    expect(alertPosts).toBeGreaterThan(0);
    expect(logs.some((l) => l.includes("alert not posted") && l.includes("alerts.leak.test"))).toBe(true);

    // Everything the Worker kept or said.
    const tables = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
    ).all<{ name: string }>();
    const rows: string[] = [];
    for (const { name } of tables.results) {
      const all = await env.DB.prepare(`SELECT * FROM "${name}"`).all();
      rows.push(...all.results.map((row) => `${name}: ${JSON.stringify(row)}`));
    }
    const kv: string[] = [];
    const keys = await env.CURSORS.list();
    for (const { name } of keys.keys) kv.push(`${name}: ${await env.CURSORS.get(name)}`);

    // What was captured is the real thing: log lines of every level, audit rows, the failure, cached schemas.
    // (LOG_LEVEL=debug lets every line through; the Worker has no debug lines today.)
    for (const level of ["info", "warn", "error"])
      expect(logs.some((l) => l.includes(`"level":"${level}"`))).toBe(true);
    expect(logs.length).toBeGreaterThan(10);
    expect(rows.some((r) => r.startsWith("audit_log:"))).toBe(true);
    expect(rows.some((r) => r.startsWith("failures:") && r.includes("FIELD_CUSTOM_VALIDATION_EXCEPTION"))).toBe(true);
    expect(rows.some((r) => r.startsWith("config_versions:"))).toBe(true);
    expect(kv.some((v) => v.startsWith("schema:"))).toBe(true);
    expect(responses.length).toBeGreaterThan(20);
    expect(everQueued.length).toBeGreaterThanOrEqual(5);
    // The search itself works: a planted secret is found.
    expect(leaks(`x${SECRETS.RELAY_SECRET.slice(2)}x`)).toContain("RELAY_SECRET (core)");

    expect({
      logs: logs.flatMap((line) => leaks(line).map((name) => `${name} in log: ${line.slice(0, 300)}`)),
      responses: responses.flatMap((r) => leaks(r).map((name) => `${name} in response: ${r.slice(0, 300)}`)),
      d1: rows.flatMap((r) => leaks(r).map((name) => `${name} in D1: ${r.slice(0, 300)}`)),
      kv: kv.flatMap((v) => leaks(v).map((name) => `${name} in KV: ${v.slice(0, 300)}`)),
      queue: everQueued.flatMap((q) => leaks(q).map((name) => `${name} in a queue message: ${q.slice(0, 300)}`)),
    }).toEqual({ logs: [], responses: [], d1: [], kv: [], queue: [] });
  });
});
