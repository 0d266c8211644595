import { Deliverer } from "../shared/delivery.ts";
import { Faults, lostAnswerReply } from "../shared/faults.ts";
import { type EmulatorReply, type EmulatorRequest, type RunningServer, segments, startServer } from "../shared/http.ts";
import { countSyncWrite, type SyncWriteCounts } from "../shared/local.ts";
import { deriveSeed, SeededRandom } from "../shared/random.ts";
import { ChangeDataCapture, originOf, type RelayTarget } from "./cdc.ts";
import { type ApiContext, BulkJobs, type QueryCursor } from "./context.ts";
import { handleSalesforceControl, type SalesforceControlled } from "./control.ts";
import { invalidSession, SfError, sfError } from "./errors.ts";
import { makeId } from "./ids.ts";
import { handleData } from "./routes.ts";
import { type Change, SalesforceStore } from "./store.ts";

export interface SalesforceEmulatorOptions {
  host?: string;
  port?: number;
  seed?: number;
  clientId?: string;
  clientSecret?: string;
  /** API calls allowed per (emulated) day; Developer Edition orgs get 15,000. */
  dailyApiLimit?: number;
  /** How long an access token lives (Salesforce follows the org's session timeout). */
  tokenTtlMs?: number;
  relay?: RelayTarget;
  retryBaseMs?: number;
  maxAttempts?: number;
  deliveryTimeoutMs?: number;
}

export interface SalesforceStats {
  requests: number;
  apiCalls: number;
  writes: number;
  limitRefusals: number;
  injectedErrors: number;
  /** Writes committed whose answer was then lost (a 5xx, a reset connection or no answer). */
  lostAnswers: number;
  /** Requests refused with 503 SERVER_UNAVAILABLE during an outage window (token requests included). */
  outageRefusals: number;
  invalidSessions: number;
  tokensIssued: number;
  changeEvents: number;
  /** Records written through the API (by the sync), per sObject. */
  syncWrites: Record<string, SyncWriteCounts>;
  /** API calls per route, e.g. `GET query`, `POST composite/sobjects`, `PATCH sobjects/Account/:id`. */
  callsByRoute: Record<string, number>;
}

export const DEFAULT_SF_CLIENT_ID = "sandbox-client-id";
export const DEFAULT_SF_CLIENT_SECRET = "sandbox-client-secret";

const emptyStats = (): SalesforceStats => ({
  requests: 0,
  apiCalls: 0,
  writes: 0,
  limitRefusals: 0,
  injectedErrors: 0,
  lostAnswers: 0,
  outageRefusals: 0,
  invalidSessions: 0,
  tokensIssued: 0,
  changeEvents: 0,
  syncWrites: {},
  callsByRoute: {},
});

/** A stateful Salesforce REST emulator: one org, its data, its change events. */
export class SalesforceEmulator implements SalesforceControlled {
  store: SalesforceStore;
  cdc: ChangeDataCapture;
  readonly faults: Faults;
  readonly deliverer: Deliverer;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly orgId = makeId("00D", 1);
  dailyApiLimit: number;
  tokenTtlMs: number;
  apiUsage = 0;
  stats: SalesforceStats = emptyStats();
  seed: number;
  private tokens = new Map<string, number>();
  private cursors = new Map<string, QueryCursor>();
  bulk = new BulkJobs();
  private cursorCounter = 0;
  private random: SeededRandom;
  private server: RunningServer | null = null;

  constructor(private options: SalesforceEmulatorOptions = {}) {
    this.seed = options.seed ?? 1;
    this.clientId = options.clientId ?? DEFAULT_SF_CLIENT_ID;
    this.clientSecret = options.clientSecret ?? DEFAULT_SF_CLIENT_SECRET;
    this.dailyApiLimit = options.dailyApiLimit ?? 15_000;
    this.tokenTtlMs = options.tokenTtlMs ?? 2 * 60 * 60 * 1000;
    this.random = new SeededRandom(deriveSeed(this.seed, "salesforce"));
    this.store = new SalesforceStore();
    this.faults = new Faults(this.seed, { dailyLimit: true });
    this.deliverer = new Deliverer({
      maxAttempts: options.maxAttempts ?? 10,
      retryBaseMs: options.retryBaseMs ?? 1000,
      timeoutMs: options.deliveryTimeoutMs ?? 10_000,
    });
    this.cdc = new ChangeDataCapture(
      new SeededRandom(deriveSeed(this.seed, "cdc")),
      this.deliverer,
      this.faults,
      this.store.schema,
    );
    this.cdc.target = options.relay ?? null;
  }

  get url(): string {
    if (!this.server) throw new Error("Salesforce emulator is not started");
    return this.server.url;
  }

  async start(): Promise<this> {
    // Node refuses request lines over 16 KiB with 431 on its own; the limit Salesforce applies
    // (414 past MAX_REQUEST_TARGET_BYTES) is enforced in handle() instead.
    const listen: { host?: string; port?: number; maxHeaderSize: number } = { maxHeaderSize: 256 * 1024 };
    if (this.options.host !== undefined) listen.host = this.options.host;
    if (this.options.port !== undefined) listen.port = this.options.port;
    this.server = await startServer((request) => this.handle(request), listen);
    return this;
  }

  async close(): Promise<void> {
    this.deliverer.close();
    await this.server?.close();
    this.server = null;
  }

  /**
   * Empties the org (keeping issued tokens and the relay target); the same seed gives the same ids.
   * The org's metadata (custom fields and objects created through the Tooling API) is kept, as
   * deleting an org's data keeps them, unless `keepMetadata` is false: then it is a new org.
   */
  reset(seed = this.seed, { keepMetadata = true }: { keepMetadata?: boolean } = {}): void {
    this.seed = seed;
    const target = this.cdc.target;
    this.random = new SeededRandom(deriveSeed(seed, "salesforce"));
    this.store = new SalesforceStore(Date.now, keepMetadata ? this.store.schema : undefined);
    this.cdc = new ChangeDataCapture(
      new SeededRandom(deriveSeed(seed, "cdc")),
      this.deliverer,
      this.faults,
      this.store.schema,
    );
    this.cdc.target = target;
    this.faults.reset();
    this.cursors.clear();
    this.bulk = new BulkJobs();
    this.apiUsage = 0;
    this.stats = emptyStats();
  }

  expireTokens(): void {
    for (const token of this.tokens.keys()) this.tokens.set(token, 0);
  }

  /** Publishes a transaction's changes as change events. */
  publish(changes: Change[], commitUser: string, changeOrigin: string): void {
    this.stats.changeEvents += changes.length;
    this.cdc.publish(changes, commitUser, changeOrigin);
  }

  async idle(timeoutMs = 10_000): Promise<void> {
    await this.deliverer.idle(timeoutMs);
  }

  private async handle(request: EmulatorRequest): Promise<EmulatorReply> {
    if (request.path.startsWith("/__control/")) {
      try {
        return await handleSalesforceControl(this, request);
      } catch (err) {
        if (err instanceof SfError) return err.reply();
        return { status: 400, body: { error: (err as Error).message } };
      }
    }
    this.stats.requests++;
    if (this.faults.inOutage()) {
      this.stats.outageRefusals++;
      return sfError(503, "SERVER_UNAVAILABLE", "Server is unavailable.").reply();
    }
    if (Buffer.byteLength(request.target ?? request.path, "utf8") > MAX_REQUEST_TARGET_BYTES) return uriTooLong();
    if (request.path === "/services/oauth2/token" && request.method === "POST") return this.token(request);
    const parts = segments(request.path);
    if (parts[0] !== "services" || parts[1] !== "data")
      return sfError(404, "NOT_FOUND", "The requested resource does not exist").reply();
    if (parts.length === 2) {
      return {
        status: 200,
        body: ["58.0", "59.0", "60.0", "61.0", "62.0", "63.0", "64.0"].map((version) => ({
          label: "Sandbox",
          url: `/services/data/v${version}`,
          version,
        })),
      };
    }
    const versionMatch = /^v(\d{2,3}\.0)$/.exec(parts[2] ?? "");
    if (!versionMatch?.[1]) return sfError(404, "NOT_FOUND", "The requested resource does not exist").reply();
    const version = versionMatch[1];
    if (!this.authorized(request.headers["authorization"])) {
      this.stats.invalidSessions++;
      return invalidSession().reply();
    }
    const limitHeader = () => ({ "sforce-limit-info": `api-usage=${this.apiUsage}/${this.dailyApiLimit}` });
    if (this.faults.inLimitWindow()) {
      // The allocation is used up for the window: the answer and its header say so, as a real org's do.
      this.stats.limitRefusals++;
      return sfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.").reply({
        "sforce-limit-info": `api-usage=${this.dailyApiLimit}/${this.dailyApiLimit}`,
      });
    }
    if (this.apiUsage >= this.dailyApiLimit) {
      this.stats.limitRefusals++;
      return sfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.").reply(limitHeader());
    }
    this.apiUsage++;
    this.stats.apiCalls++;
    const route = `${request.method} ${routeOf(parts.slice(3))}`;
    this.stats.callsByRoute[route] = (this.stats.callsByRoute[route] ?? 0) + 1;
    const fault = this.faults.forRequest();
    await this.faults.delay();
    if (fault?.kind === "outage") {
      this.stats.outageRefusals++;
      return sfError(503, "SERVER_UNAVAILABLE", "Server is unavailable.").reply();
    }
    if (fault?.kind === "rate-limit") {
      this.stats.limitRefusals++;
      return sfError(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.").reply(limitHeader());
    }
    if (fault?.kind === "error") {
      this.stats.injectedErrors++;
      const code = fault.status === 503 ? "SERVER_UNAVAILABLE" : "UNKNOWN_EXCEPTION";
      return sfError(fault.status, code, "Injected fault.").reply(limitHeader());
    }
    const changeOrigin = originOf(version, request.headers["sforce-call-options"]);
    // Each commit is one transaction (a REST request, or a chunk of a Bulk API job) with its origin.
    const committed: Array<{ changes: Change[]; origin: string }> = [];
    const ctx: ApiContext = {
      store: this.store,
      version,
      write: { userId: this.store.integrationUserId, changeOrigin },
      commit: (changes, origin = changeOrigin) => {
        if (changes.length > 0) committed.push({ changes, origin });
      },
      bulk: this.bulk,
      cursors: this.cursors,
      nextCursorId: () => makeId("01g", ++this.cursorCounter),
      dailyLimit: this.dailyApiLimit,
      used: this.apiUsage,
    };
    try {
      const reply = handleData(request, parts.slice(3), ctx);
      if (committed.length > 0) this.stats.writes++;
      for (const transaction of committed) {
        for (const change of transaction.changes) {
          const kind = change.type === "CREATE" ? "created" : change.type === "DELETE" ? "deleted" : "updated";
          countSyncWrite(this.stats.syncWrites, change.entity, kind);
        }
        this.publish(transaction.changes, this.store.integrationUserId, transaction.origin);
      }
      const answered = { ...reply, headers: { ...reply.headers, ...limitHeader() } };
      const lost = committed.length > 0 ? this.faults.forAnswer() : null;
      if (!lost) return answered;
      this.stats.lostAnswers++;
      const error = sfError(500, "UNKNOWN_EXCEPTION", "Injected fault.").reply(limitHeader());
      return lostAnswerReply(lost, error, this.faults.config.lostAnswerHangMs);
    } catch (err) {
      if (err instanceof SfError) return err.reply(limitHeader());
      throw err;
    }
  }

  private token(request: EmulatorRequest): EmulatorReply {
    const form = new URLSearchParams(request.rawBody);
    if (form.get("grant_type") !== "client_credentials") {
      return { status: 400, body: { error: "unsupported_grant_type", error_description: "grant type not supported" } };
    }
    if (form.get("client_id") !== this.clientId) {
      return { status: 400, body: { error: "invalid_client_id", error_description: "client identifier invalid" } };
    }
    if (form.get("client_secret") !== this.clientSecret) {
      return { status: 400, body: { error: "invalid_client", error_description: "invalid client credentials" } };
    }
    const issuedAt = Date.now();
    const token = `${this.orgId.slice(0, 15)}!${this.random.hex(48)}`;
    this.tokens.set(token, issuedAt + this.tokenTtlMs);
    this.stats.tokensIssued++;
    return {
      status: 200,
      body: {
        access_token: token,
        signature: Buffer.from(this.random.hex(64), "hex").toString("base64"),
        scope: "api",
        instance_url: this.url,
        id: `${this.url}/id/${this.orgId}/${this.store.integrationUserId}`,
        token_type: "Bearer",
        issued_at: String(issuedAt),
      },
    };
  }

  private authorized(header: string | undefined): boolean {
    const match = /^Bearer (.+)$/i.exec(header ?? "");
    const expiresAt = match?.[1] ? this.tokens.get(match[1]) : undefined;
    return expiresAt !== undefined && expiresAt > Date.now();
  }
}

export { originOf };

/**
 * The longest request target (path and query string) Salesforce serves: longer ones get 414 URI
 * Too Long before any API logic runs. The sObject Collections retrieve page puts it as "about 800
 * ids" in a GET; bigger reads use POST.
 */
export const MAX_REQUEST_TARGET_BYTES = 16_384;

function uriTooLong(): EmulatorReply {
  return {
    status: 414,
    headers: { "content-type": "text/html;charset=UTF-8" },
    raw: "<html><head><title>414 URI Too Long</title></head><body><h1>URI Too Long</h1></body></html>",
  };
}

/** A route for stats: record ids as `:id`, query locators as `:cursor`, at most five segments. */
function routeOf(parts: string[]): string {
  return parts
    .slice(0, 5)
    .map((part) =>
      /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?-\d+$/.test(part)
        ? ":cursor"
        : /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(part) && /\d/.test(part)
          ? ":id"
          : part,
    )
    .join("/");
}

export async function startSalesforceEmulator(options: SalesforceEmulatorOptions = {}): Promise<SalesforceEmulator> {
  return new SalesforceEmulator(options).start();
}
