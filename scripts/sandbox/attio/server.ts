import { Deliverer } from "../shared/delivery.ts";
import { Faults, lostAnswerReply } from "../shared/faults.ts";
import { type EmulatorReply, type EmulatorRequest, type RunningServer, startServer } from "../shared/http.ts";
import { countSyncWrite, type SyncWriteCounts } from "../shared/local.ts";
import { deriveSeed, SeededRandom } from "../shared/random.ts";
import { type AttioControlled, handleAttioControl } from "./control.ts";
import { AttioError, rateLimited, unauthorized } from "./errors.ts";
import { httpDate, RateLimiter, type RequestKind } from "./rate-limit.ts";
import { handleApi } from "./routes.ts";
import { type AttioEvent, AttioStore, isRecordEvent } from "./store.ts";
import { AttioWebhooks } from "./webhooks.ts";

export interface AttioEmulatorOptions {
  host?: string;
  port?: number;
  apiKey?: string;
  seed?: number;
  /** Backoff base for webhook retries; Attio's real schedule spans days, tests want milliseconds. */
  retryBaseMs?: number;
  maxAttempts?: number;
  deliveryTimeoutMs?: number;
  systemFollowUpMs?: number;
  rateLimits?: { read: number; write: number };
  /** Requests per second to the merge endpoint ("rate limited to 5 requests per second"). */
  mergeRateLimit?: number;
  /** > 0: merges answer 202 and the merged record reads as `merge_in_progress` for this long. */
  mergePendingMs?: number;
}

export interface AttioStats {
  requests: number;
  reads: number;
  writes: number;
  rateLimited: number;
  /** 429s past the published limits (injected 429 bursts not included), per kind of request. */
  overLimit: { read: number; write: number };
  injectedErrors: number;
  /** Writes applied whose answer was then lost (a 5xx, a reset connection or no answer). */
  lostAnswers: number;
  /** Requests refused with 503 during an outage window. */
  outageRefusals: number;
  unauthorized: number;
  webhookEvents: number;
  /** Records written through the API (by the sync), per object slug; merges count as updates. */
  syncWrites: Record<string, SyncWriteCounts>;
  /** Requests per route, refused ones included, e.g. `POST objects/people/records/query`, `GET objects/companies/records/:id`. */
  requestsByRoute: Record<string, number>;
}

export const DEFAULT_ATTIO_API_KEY = "sandbox-attio-api-key";

const emptyStats = (): AttioStats => ({
  requests: 0,
  reads: 0,
  writes: 0,
  rateLimited: 0,
  overLimit: { read: 0, write: 0 },
  injectedErrors: 0,
  lostAnswers: 0,
  outageRefusals: 0,
  unauthorized: 0,
  webhookEvents: 0,
  syncWrites: {},
  requestsByRoute: {},
});

/** A stateful Attio REST v2 emulator. One instance is one workspace. */
export class AttioEmulator implements AttioControlled {
  store: AttioStore;
  readonly webhooks: AttioWebhooks;
  readonly faults: Faults;
  readonly limiter: RateLimiter;
  /** The merge endpoint's own limit, on top of the write limit; only its `write` window is used. */
  readonly mergeLimiter: RateLimiter;
  mergePendingMs: number;
  readonly deliverer: Deliverer;
  readonly apiKey: string;
  stats: AttioStats = emptyStats();
  seed: number;
  private server: RunningServer | null = null;

  constructor(private options: AttioEmulatorOptions = {}) {
    this.seed = options.seed ?? 1;
    this.apiKey = options.apiKey ?? DEFAULT_ATTIO_API_KEY;
    this.store = new AttioStore(this.seed);
    this.faults = new Faults(this.seed);
    this.limiter = new RateLimiter(options.rateLimits ?? { read: 100, write: 25 });
    const merges = options.mergeRateLimit ?? 5;
    this.mergeLimiter = new RateLimiter({ read: merges, write: merges });
    this.mergePendingMs = options.mergePendingMs ?? 0;
    this.deliverer = new Deliverer({
      maxAttempts: options.maxAttempts ?? 11,
      retryBaseMs: options.retryBaseMs ?? 1000,
      timeoutMs: options.deliveryTimeoutMs ?? 10_000,
    });
    this.webhooks = new AttioWebhooks(
      () => this.store.workspace.id,
      new SeededRandom(deriveSeed(this.seed, "webhooks")),
      this.deliverer,
      this.faults,
      { systemFollowUpMs: options.systemFollowUpMs ?? 1000 },
    );
  }

  get url(): string {
    if (!this.server) throw new Error("Attio emulator is not started");
    return this.server.url;
  }

  async start(): Promise<this> {
    const listen: { host?: string; port?: number } = {};
    if (this.options.host !== undefined) listen.host = this.options.host;
    if (this.options.port !== undefined) listen.port = this.options.port;
    this.server = await startServer((request) => this.handle(request), listen);
    return this;
  }

  async close(): Promise<void> {
    this.deliverer.close();
    this.webhooks.reset();
    await this.server?.close();
    this.server = null;
  }

  /** Forgets every record (and, unless kept, every webhook); the same seed gives the same ids again. */
  reset(seed = this.seed, keepWebhooks = true): void {
    this.seed = seed;
    this.store = new AttioStore(seed);
    if (!keepWebhooks) this.webhooks.reset();
    this.faults.reset();
    this.limiter.reset();
    this.mergeLimiter.reset();
    this.stats = emptyStats();
  }

  dispatch(events: AttioEvent[]): void {
    if (events.length === 0) return;
    this.stats.webhookEvents += events.length;
    this.webhooks.dispatch(events);
  }

  /** Waits until webhook deliveries, retries and pending system follow-ups are done (bounded). */
  async idle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.webhooks.pendingFollowUps() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.deliverer.idle(Math.max(0, deadline - Date.now()));
  }

  private async handle(request: EmulatorRequest): Promise<EmulatorReply> {
    if (request.path.startsWith("/__control/")) {
      try {
        return await handleAttioControl(this, request);
      } catch (err) {
        if (err instanceof AttioError) return err.reply();
        return { status: 400, body: { error: (err as Error).message } };
      }
    }
    if (!request.path.startsWith("/v2/")) return { status: 404, body: { error: "not an Attio API path" } };
    this.stats.requests++;
    const route = `${request.method} ${routeOf(request.path)}`;
    this.stats.requestsByRoute[route] = (this.stats.requestsByRoute[route] ?? 0) + 1;
    try {
      if (!this.authorized(request.headers["authorization"])) {
        this.stats.unauthorized++;
        throw unauthorized();
      }
      const kind: RequestKind =
        request.method === "GET" || (request.method === "POST" && request.path.endsWith("/records/query"))
          ? "read"
          : "write";
      const merge = request.method === "POST" && /^\/v2\/objects\/[^/]+\/records\/merge\/?$/.test(request.path);
      // A merge must pass both its own window and the write window; a refused request counts in neither.
      const retryAt =
        (merge ? this.mergeLimiter.take("write", false) : null) ??
        this.limiter.take(kind) ??
        (merge ? this.mergeLimiter.take("write") : null);
      if (retryAt) {
        this.stats.overLimit[kind]++;
        return this.refuse(retryAt);
      }
      const fault = this.faults.forRequest();
      await this.faults.delay();
      if (fault?.kind === "outage") {
        this.stats.outageRefusals++;
        return new AttioError(503, "invalid_request_error", "service_unavailable", "Service unavailable.").reply();
      }
      if (fault?.kind === "rate-limit") return this.refuse(new Date(Math.ceil((Date.now() + 1) / 1000) * 1000));
      if (fault?.kind === "error") {
        this.stats.injectedErrors++;
        return new AttioError(fault.status, "invalid_request_error", "internal_error", "Injected fault.").reply();
      }
      // Attio has no daily allocation: a limit-exhausted window (a Salesforce knob) is not drawn here.
      this.stats[kind === "read" ? "reads" : "writes"]++;
      const reply = await handleApi(
        request,
        this.store,
        this.webhooks,
        (events) => {
          this.countSyncWrites(events);
          this.dispatch(events);
        },
        { mergePendingMs: this.mergePendingMs },
      );
      const lost = kind === "write" && reply.status < 300 ? this.faults.forAnswer() : null;
      if (!lost) return reply;
      this.stats.lostAnswers++;
      const error = new AttioError(500, "invalid_request_error", "internal_error", "Injected fault.").reply();
      return lostAnswerReply(lost, error, this.faults.config.lostAnswerHangMs);
    } catch (err) {
      if (err instanceof AttioError) return err.reply();
      throw err;
    }
  }

  /** One API request's events: each record counts once, whatever the number of attributes it changed. */
  private countSyncWrites(events: AttioEvent[]): void {
    const seen = new Set<string>();
    for (const event of events.filter(isRecordEvent)) {
      const key = `${event.id.object_id}:${event.id.record_id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const kind =
        event.event_type === "record.created"
          ? "created"
          : event.event_type === "record.deleted"
            ? "deleted"
            : "updated";
      countSyncWrite(this.stats.syncWrites, this.store.object(event.id.object_id).slug, kind);
    }
  }

  private refuse(retryAt: Date): EmulatorReply {
    this.stats.rateLimited++;
    return rateLimited().reply({ "retry-after": httpDate(retryAt) });
  }

  /** Bearer, or HTTP Basic with the key as the user name and an empty password. */
  private authorized(header: string | undefined): boolean {
    if (!header) return false;
    const [scheme = "", credential = ""] = header.split(" ");
    if (scheme.toLowerCase() === "bearer") return credential === this.apiKey;
    if (scheme.toLowerCase() === "basic") {
      return Buffer.from(credential, "base64").toString("utf8") === `${this.apiKey}:`;
    }
    return false;
  }
}

/** A route for stats: `/v2/objects/people/records/<uuid>` -> `objects/people/records/:id`. */
function routeOf(path: string): string {
  return path
    .slice("/v2/".length)
    .split("/")
    .map((part) => (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(part) ? ":id" : part))
    .join("/");
}

export async function startAttioEmulator(options: AttioEmulatorOptions = {}): Promise<AttioEmulator> {
  return new AttioEmulator(options).start();
}
