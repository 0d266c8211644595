import { z } from "zod";
import { deriveSeed, SeededRandom } from "./random.ts";

/** Fault knobs, set through `PUT /__control/faults`. Every decision is drawn from a seeded stream. */
export const FaultConfigSchema = z.object({
  /** Added to every API response. */
  latencyMs: z.number().int().min(0).max(30_000).default(0),
  /** Fraction of API requests answered with `errorStatus` instead of being processed. */
  errorRate: z.number().min(0).max(1).default(0),
  errorStatus: z.number().int().min(400).max(599).default(500),
  /** The next N API requests are refused as rate-limited (Attio 429, Salesforce 403 REQUEST_LIMIT_EXCEEDED). */
  rateLimitBurst: z.number().int().min(0).max(100_000).default(0),
  /** Outbound deliveries (Attio webhooks, Salesforce relay posts). */
  dropRate: z.number().min(0).max(1).default(0),
  duplicateRate: z.number().min(0).max(1).default(0),
  /** Fraction of deliveries held back and sent after the next one. */
  reorderRate: z.number().min(0).max(1).default(0),
  seed: z.number().int().optional(),
});
export type FaultConfig = z.infer<typeof FaultConfigSchema>;

export type RequestFault = { kind: "error"; status: number } | { kind: "rate-limit" } | null;
export type DeliveryFault = "drop" | "duplicate" | "reorder" | null;

export class Faults {
  config: FaultConfig = FaultConfigSchema.parse({});
  private requests: SeededRandom;
  private deliveries: SeededRandom;

  constructor(private seed: number) {
    this.requests = new SeededRandom(deriveSeed(seed, "faults.requests"));
    this.deliveries = new SeededRandom(deriveSeed(seed, "faults.deliveries"));
  }

  configure(input: unknown): FaultConfig {
    this.config = FaultConfigSchema.parse(input);
    const seed = this.config.seed ?? this.seed;
    this.requests = new SeededRandom(deriveSeed(seed, "faults.requests"));
    this.deliveries = new SeededRandom(deriveSeed(seed, "faults.deliveries"));
    return this.config;
  }

  reset(): void {
    this.configure({});
  }

  /** Decides the fate of one API request. */
  forRequest(): RequestFault {
    if (this.config.rateLimitBurst > 0) {
      this.config.rateLimitBurst -= 1;
      return { kind: "rate-limit" };
    }
    if (this.requests.chance(this.config.errorRate)) return { kind: "error", status: this.config.errorStatus };
    return null;
  }

  /** Decides the fate of one outbound delivery (the first attempt; retries are not re-decided). */
  forDelivery(): DeliveryFault {
    const roll = this.deliveries.next();
    const { dropRate, duplicateRate, reorderRate } = this.config;
    if (roll < dropRate) return "drop";
    if (roll < dropRate + duplicateRate) return "duplicate";
    if (roll < dropRate + duplicateRate + reorderRate) return "reorder";
    return null;
  }

  async delay(): Promise<void> {
    if (this.config.latencyMs > 0) await sleep(this.config.latencyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
