import { z } from "zod";
import type { EmulatorReply } from "./http.ts";
import { deriveSeed, SeededRandom } from "./random.ts";

/**
 * Fault knobs, set through `PUT /__control/faults`. Every decision is drawn from a seeded stream.
 * A PUT replaces the whole configuration (knobs left out go back to their defaults); windows
 * (`outageMs`, `limitExhaustedMs`) start when the PUT is received.
 */
export const FaultConfigSchema = z.object({
  /** Added to every API response. */
  latencyMs: z.number().int().min(0).max(30_000).default(0),
  /** Fraction of API requests answered with `errorStatus` instead of being processed. */
  errorRate: z.number().min(0).max(1).default(0),
  errorStatus: z.number().int().min(400).max(599).default(500),
  /** The next N API requests are refused as rate-limited (Attio 429, Salesforce 403 REQUEST_LIMIT_EXCEEDED). */
  rateLimitBurst: z.number().int().min(0).max(100_000).default(0),
  /**
   * Fraction of API writes whose answer is lost: the write is applied (and its webhook or change
   * event sent), then the client gets a 5xx, a reset connection or no answer at all instead.
   */
  lostAnswerRate: z.number().min(0).max(1).default(0),
  /** The answers to the next N writes are lost, whatever `lostAnswerRate` draws (a burst, as `rateLimitBurst`). */
  lostAnswerBurst: z.number().int().min(0).max(100_000).default(0),
  /** How an answer is lost; `mixed` draws one of the three per lost answer. */
  lostAnswerKind: z.enum(["error", "reset", "timeout", "mixed"]).default("mixed"),
  /** A `timeout` holds the connection this long (or until the client gives up), then resets it. */
  lostAnswerHangMs: z.number().int().min(0).max(600_000).default(15_000),
  /** For this many ms from now, every API request (token requests included) answers 503. */
  outageMs: z.number().int().min(0).max(86_400_000).default(0),
  /**
   * Salesforce only: for this many ms from now, the org's daily API allocation is used up: every
   * API call answers 403 REQUEST_LIMIT_EXCEEDED (TotalRequests), as the real daily limit does.
   */
  limitExhaustedMs: z.number().int().min(0).max(86_400_000).default(0),
  /** Outbound deliveries (Attio webhooks, Salesforce relay posts). */
  dropRate: z.number().min(0).max(1).default(0),
  duplicateRate: z.number().min(0).max(1).default(0),
  /** Fraction of deliveries held back and sent after the next one. */
  reorderRate: z.number().min(0).max(1).default(0),
  seed: z.number().int().optional(),
});
export type FaultConfig = z.infer<typeof FaultConfigSchema>;

export type RequestFault = { kind: "error"; status: number } | { kind: "rate-limit" } | { kind: "outage" } | null;
export type DeliveryFault = "drop" | "duplicate" | "reorder" | null;
export type LostAnswer = "error" | "reset" | "timeout";

/** Faults injected since the emulator started (or was reset), by kind: what `/__control/stats` reports. */
export interface FaultCounts {
  error: number;
  rateLimit: number;
  outage: number;
  limitExhausted: number;
  lostAnswer: { error: number; reset: number; timeout: number };
  drop: number;
  duplicate: number;
  reorder: number;
}

const emptyCounts = (): FaultCounts => ({
  error: 0,
  rateLimit: 0,
  outage: 0,
  limitExhausted: 0,
  lostAnswer: { error: 0, reset: 0, timeout: 0 },
  drop: 0,
  duplicate: 0,
  reorder: 0,
});

export class Faults {
  config: FaultConfig = FaultConfigSchema.parse({});
  /** Injected faults by kind; kept across `configure`, cleared by `reset`. */
  counts: FaultCounts = emptyCounts();
  private requests: SeededRandom;
  private deliveries: SeededRandom;
  private answers: SeededRandom;
  private outageUntil = 0;
  private limitExhaustedUntil = 0;

  /**
   * `dailyLimit`: whether the API has a daily allocation that `limitExhaustedMs` can use up
   * (Salesforce); elsewhere that knob is refused.
   */
  constructor(
    private seed: number,
    private options: { dailyLimit: boolean; now?: () => number } = { dailyLimit: false },
  ) {
    this.requests = new SeededRandom(deriveSeed(seed, "faults.requests"));
    this.deliveries = new SeededRandom(deriveSeed(seed, "faults.deliveries"));
    this.answers = new SeededRandom(deriveSeed(seed, "faults.answers"));
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  configure(input: unknown): FaultConfig {
    const config = FaultConfigSchema.parse(input);
    if (config.limitExhaustedMs > 0 && !this.options.dailyLimit) {
      throw new Error("limitExhaustedMs: this API has no daily allocation to exhaust (a Salesforce knob)");
    }
    this.config = config;
    const seed = this.config.seed ?? this.seed;
    this.requests = new SeededRandom(deriveSeed(seed, "faults.requests"));
    this.deliveries = new SeededRandom(deriveSeed(seed, "faults.deliveries"));
    this.answers = new SeededRandom(deriveSeed(seed, "faults.answers"));
    const now = this.now();
    this.outageUntil = this.config.outageMs > 0 ? now + this.config.outageMs : 0;
    this.limitExhaustedUntil = this.config.limitExhaustedMs > 0 ? now + this.config.limitExhaustedMs : 0;
    return this.config;
  }

  reset(): void {
    this.configure({});
    this.counts = emptyCounts();
  }

  /** Whether an outage window is open: every request, token requests included, answers 503. */
  inOutage(): boolean {
    if (this.now() >= this.outageUntil) return false;
    this.counts.outage += 1;
    return true;
  }

  /** Whether a daily-limit window is open (Salesforce: every API call answers REQUEST_LIMIT_EXCEEDED). */
  inLimitWindow(): boolean {
    if (this.now() >= this.limitExhaustedUntil) return false;
    this.counts.limitExhausted += 1;
    return true;
  }

  /** Decides the fate of one API request: an open outage window, then a pending rate-limit burst, then a random error. */
  forRequest(): RequestFault {
    if (this.inOutage()) return { kind: "outage" };
    if (this.config.rateLimitBurst > 0) {
      this.config.rateLimitBurst -= 1;
      this.counts.rateLimit += 1;
      return { kind: "rate-limit" };
    }
    if (this.requests.chance(this.config.errorRate)) {
      this.counts.error += 1;
      return { kind: "error", status: this.config.errorStatus };
    }
    return null;
  }

  /** Decides whether the answer to a write that was applied is lost, and how. */
  forAnswer(): LostAnswer | null {
    if (this.config.lostAnswerBurst > 0) this.config.lostAnswerBurst -= 1;
    else if (!this.answers.chance(this.config.lostAnswerRate)) return null;
    const kind = this.config.lostAnswerKind;
    const lost: LostAnswer = kind === "mixed" ? this.answers.pick(["error", "reset", "timeout"] as const) : kind;
    this.counts.lostAnswer[lost] += 1;
    return lost;
  }

  /** Decides the fate of one outbound delivery (the first attempt; retries are not re-decided). */
  forDelivery(): DeliveryFault {
    const roll = this.deliveries.next();
    const { dropRate, duplicateRate, reorderRate } = this.config;
    const fault: DeliveryFault =
      roll < dropRate
        ? "drop"
        : roll < dropRate + duplicateRate
          ? "duplicate"
          : roll < dropRate + duplicateRate + reorderRate
            ? "reorder"
            : null;
    if (fault) this.counts[fault] += 1;
    return fault;
  }

  async delay(): Promise<void> {
    if (this.config.latencyMs > 0) await sleep(this.config.latencyMs);
  }
}

/**
 * What the client gets instead of the answer to a write that was applied: `error` (the emulator's
 * own 5xx body), a reset connection, or a connection held until the client gives up.
 */
export function lostAnswerReply(lost: LostAnswer, error: EmulatorReply, hangMs: number): EmulatorReply {
  switch (lost) {
    case "error":
      return error;
    case "reset":
      return { status: 0, lost: { kind: "reset" } };
    case "timeout":
      return { status: 0, lost: { kind: "hang", ms: hangMs } };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
