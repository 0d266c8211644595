import { z } from "zod";
import { canBeOurEcho } from "./own-actor.ts";

/**
 * Attio's webhook subscription filter (`POST/PATCH /v2/webhooks`): null, or one `$and` or `$or`
 * list of conditions on dot paths into the event (`actor.id`, `actor.type`, `id.attribute_id`...).
 */
const ConditionSchema = z.object({
  field: z.string(),
  operator: z.enum(["equals", "not_equals"]),
  value: z.string(),
});
type Condition = z.infer<typeof ConditionSchema>;

const FilterSchema = z.union([
  z.object({ $and: z.array(ConditionSchema) }),
  z.object({ $or: z.array(ConditionSchema) }),
  z.null(),
]);

export const WebhookSubscriptionSchema = z.object({ event_type: z.string(), filter: FilterSchema });
export type WebhookSubscription = z.infer<typeof WebhookSubscriptionSchema>;

/** What to send so that Attio stops delivering our own record events, and what cannot be filtered. */
export interface EchoFilterPlan {
  /** The webhook's whole subscription list with the filter added (PATCH replaces the list). */
  subscriptions: WebhookSubscription[];
  /** Whether it differs from what Attio holds: false when the filter is already in place. */
  changed: boolean;
  /**
   * Record events subscribed with an `$or` filter: a condition added to it would let more through,
   * not less, and Attio's filter has one level, so their echoes keep arriving (and are dropped).
   */
  unfilterable: string[];
}

/**
 * Adds `actor.id not_equals <our actor>` to the webhook's subscriptions of the record events our
 * writes cause (created, updated, deleted; never merged: own-actor.ts `canBeOurEcho`), so Attio
 * no longer delivers the echoes of our own writes (FACTS: webhook filters; loop prevention). The
 * Worker drops those echoes on arrival anyway (own-actor.ts); filtering them at the source saves an
 * invocation per record a job writes into Attio. Other subscriptions are left as they are.
 *
 * @example echoFilterPlan([{ event_type: "record.updated", filter: null }], "tok").subscriptions
 * // [{ event_type: "record.updated", filter: { $and: [{ field: "actor.id", operator: "not_equals", value: "tok" }] } }]
 */
export function echoFilterPlan(subscriptions: readonly WebhookSubscription[], actorId: string): EchoFilterPlan {
  const ours: Condition = { field: "actor.id", operator: "not_equals", value: actorId };
  const unfilterable: string[] = [];
  let changed = false;
  const next = subscriptions.map((subscription): WebhookSubscription => {
    if (!canBeOurEcho(subscription.event_type)) return subscription;
    const { filter } = subscription;
    if (filter === null) {
      changed = true;
      return { ...subscription, filter: { $and: [ours] } };
    }
    if ("$or" in filter) {
      unfilterable.push(subscription.event_type);
      return subscription;
    }
    if (filter.$and.some((c) => c.field === ours.field && c.operator === ours.operator && c.value === actorId)) {
      return subscription;
    }
    changed = true;
    return { ...subscription, filter: { $and: [...filter.$and, ours] } };
  });
  return { subscriptions: next, changed, unfilterable };
}
