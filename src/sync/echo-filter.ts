import { z } from "zod";
import type { AttioClient } from "../attio/client.ts";
import { echoFilterPlan } from "../attio/echo-filter.ts";
import type { AttioActor } from "../attio/webhook-schema.ts";
import { toSyncError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";

/**
 * Keeps the echoes of our own Attio writes from being delivered at all: once our actor is known
 * and an echo still arrives, the webhook it came through gets a filter that leaves our actor out
 * (attio/echo-filter.ts). A job writing 10,000 people into Attio then costs no webhook
 * invocation per record (docs/BENCHMARKS.md). Each check's result is kept in KV for
 * `/api/v1/status`.
 */

/** KV key of the last check of each webhook, by webhook id. */
export const ECHO_FILTER_KEY = "attio:echo-filter";

export const EchoFilterStateSchema = z.object({
  webhook_id: z.string(),
  /** `filtered`: every record subscription leaves our actor out; `partial`: some cannot (`$or`). */
  state: z.enum(["filtered", "partial", "failed"]),
  unfiltered_events: z.array(z.string()),
  /** Why echoes still arrive (`partial`, `failed`); null when none do. */
  reason: z.string().nullable(),
  checked_at: z.string(),
});
export type EchoFilterState = z.infer<typeof EchoFilterStateSchema>;

const EchoFilterStatesSchema = z.record(z.string(), EchoFilterStateSchema);

/**
 * How long an isolate waits before it checks a webhook again while echoes keep arriving through
 * it: after a failure (a missing scope), or when someone set the subscriptions back (the setup
 * script re-registering the webhook).
 */
const RECHECK_MS = 10 * 60_000;

/** The last check this isolate started, per webhook, and for which actor. */
const lastChecks = new Map<string, { actorId: string; atMs: number }>();

/**
 * Whether an echo that arrived through `webhookId` should start a check now; claims it if so, so
 * the deliveries arriving meanwhile do not start more.
 */
export function claimEchoFilterCheck(webhookId: string, actor: AttioActor, nowMs: number): boolean {
  if (actor.id === null) return false;
  const last = lastChecks.get(webhookId);
  if (last && last.actorId === actor.id && nowMs - last.atMs < RECHECK_MS) return false;
  lastChecks.set(webhookId, { actorId: actor.id, atMs: nowMs });
  return true;
}

/** Reads the webhook's subscriptions and adds the filter where it is missing; never throws. */
export async function ensureEchoFilter(
  attio: AttioClient,
  kv: KVNamespace,
  log: Logger,
  webhookId: string,
  actor: AttioActor,
  now: Date,
): Promise<void> {
  if (actor.id === null) return;
  let state: EchoFilterState;
  try {
    const plan = echoFilterPlan(await attio.getWebhookSubscriptions(webhookId), actor.id);
    if (plan.changed) await attio.setWebhookSubscriptions(webhookId, plan.subscriptions);
    const partial = plan.unfilterable.length > 0;
    state = {
      webhook_id: webhookId,
      state: partial ? "partial" : "filtered",
      unfiltered_events: plan.unfilterable,
      reason: partial ? "these subscriptions have an $or filter, to which a condition cannot be added" : null,
      checked_at: now.toISOString(),
    };
    log.info("the Attio webhook leaves out the echoes of our own writes", {
      webhook_id: webhookId,
      updated: plan.changed,
      unfiltered_events: plan.unfilterable,
    });
  } catch (thrown) {
    const error = toSyncError(thrown);
    state = {
      webhook_id: webhookId,
      state: "failed",
      unfiltered_events: [],
      reason: error.message,
      checked_at: now.toISOString(),
    };
    log.warn("could not filter the echoes of our own writes out of the Attio webhook: they are dropped on arrival", {
      webhook_id: webhookId,
      code: error.code,
      error: error.message,
    });
  }
  try {
    await kv.put(ECHO_FILTER_KEY, JSON.stringify({ ...(await loadEchoFilterStates(kv)), [webhookId]: state }));
  } catch (err) {
    log.warn("could not store the Attio echo filter's state", { error: String(err) });
  }
}

/** The last check of each webhook (for status); empty when none was made. */
export async function loadEchoFilterStates(kv: KVNamespace): Promise<Record<string, EchoFilterState>> {
  const parsed = EchoFilterStatesSchema.safeParse(await kv.get(ECHO_FILTER_KEY, "json"));
  return parsed.success ? parsed.data : {};
}
