import type { DeliveryFault } from "./faults.ts";

/** One outbound POST (an Attio webhook delivery or a Salesforce relay post) and what became of it. */
export interface DeliveryRecord {
  id: string;
  target: string;
  body: string;
  attempts: number;
  statuses: Array<number | string>;
  state: "pending" | "delivered" | "failed" | "dropped";
  fault: DeliveryFault;
}

export interface DeliveryOptions {
  /** Attempts in all, the first included. Attio retries up to 10 times. */
  maxAttempts: number;
  /** Backoff before retry n is `retryBaseMs * 2^(n-1)`. */
  retryBaseMs: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
}

/** Called before every attempt: the relay signs each attempt with a fresh timestamp. */
export type HeadersForAttempt = (body: string, attempt: number) => Record<string, string>;

/**
 * Sends deliveries with bounded retries and exponential backoff, applying the delivery fault chosen
 * for each one. It keeps a log (for the control API) and can wait until nothing is in flight.
 */
export class Deliverer {
  readonly log: DeliveryRecord[] = [];
  private inFlight = new Set<Promise<void>>();
  private timers = new Set<NodeJS.Timeout>();
  private held: Array<() => void> = [];
  private closed = false;

  constructor(private options: DeliveryOptions) {}

  /** Deliveries in the log per state (pending, delivered, failed, dropped). */
  summary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const delivery of this.log) out[delivery.state] = (out[delivery.state] ?? 0) + 1;
    return out;
  }

  configure(options: Partial<DeliveryOptions>): void {
    this.options = { ...this.options, ...options };
  }

  send(id: string, target: string, body: string, headers: HeadersForAttempt, fault: DeliveryFault): DeliveryRecord {
    const record: DeliveryRecord = { id, target, body, attempts: 0, statuses: [], state: "pending", fault };
    this.log.push(record);
    if (this.log.length > 5000) this.log.shift();
    if (fault === "drop") {
      record.state = "dropped";
      return record;
    }
    const start = () => {
      this.track(this.run(record, headers));
      if (fault === "duplicate") this.track(this.run({ ...record, statuses: [] }, headers, record));
    };
    if (fault === "reorder") {
      this.held.push(start);
      // A held delivery is released by the next send, or after a short wait if none comes.
      this.schedule(() => this.releaseHeld(), 250);
      return record;
    }
    start();
    this.releaseHeld();
    return record;
  }

  /** Resolves when no delivery is pending or waiting for a retry (bounded by `timeoutMs`). */
  async idle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.inFlight.size > 0 || this.held.length > 0) && Date.now() < deadline) {
      if (this.held.length > 0) this.releaseHeld();
      await Promise.race([Promise.all([...this.inFlight]), new Promise((r) => setTimeout(r, 20))]);
    }
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.held = [];
  }

  private releaseHeld(): void {
    const held = this.held;
    this.held = [];
    for (const start of held) start();
  }

  private track(promise: Promise<void>): void {
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise));
  }

  private schedule(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private async run(record: DeliveryRecord, headers: HeadersForAttempt, shared?: DeliveryRecord): Promise<void> {
    const log = shared ?? record;
    for (let attempt = 1; attempt <= this.options.maxAttempts && !this.closed; attempt++) {
      log.attempts += 1;
      const status = await this.attempt(record, headers(record.body, attempt));
      log.statuses.push(status);
      if (typeof status === "number" && status >= 200 && status < 300) {
        log.state = "delivered";
        return;
      }
      if (attempt < this.options.maxAttempts) {
        await new Promise<void>((resolve) => this.schedule(resolve, this.options.retryBaseMs * 2 ** (attempt - 1)));
      }
    }
    if (log.state === "pending") log.state = "failed";
  }

  private async attempt(record: DeliveryRecord, headers: Record<string, string>): Promise<number | string> {
    try {
      const response = await fetch(record.target, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: record.body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.arrayBuffer();
      return response.status;
    } catch (err) {
      return (err as Error).name === "TimeoutError" ? "timeout" : "network-error";
    }
  }
}
