import { createHmac } from "node:crypto";
import { z } from "zod";
import type { Deliverer } from "../shared/delivery.ts";
import type { Faults } from "../shared/faults.ts";
import type { SeededRandom } from "../shared/random.ts";
import { invalid, notFound } from "./errors.ts";
import { attioTimestamp } from "./schema.ts";
import type { AttioEvent, RecordEvent } from "./store.ts";

export const EVENT_TYPES = [
  "call-recording.created",
  "comment.created",
  "comment.resolved",
  "comment.unresolved",
  "comment.deleted",
  "list.created",
  "list.updated",
  "list.deleted",
  "list-attribute.created",
  "list-attribute.updated",
  "list-entry.created",
  "list-entry.updated",
  "list-entry.deleted",
  "object-attribute.created",
  "object-attribute.updated",
  "note.created",
  "note-content.updated",
  "note.updated",
  "note.deleted",
  "record.created",
  "record.merged",
  "record.updated",
  "record.deleted",
  "task.created",
  "task.updated",
  "task.deleted",
  "workspace-member.created",
] as const;

const Condition = z.object({ field: z.string(), operator: z.enum(["equals", "not_equals"]), value: z.string() });
const SubscriptionSchema = z.object({
  event_type: z.enum(EVENT_TYPES),
  // Required by the spec, though it may be null.
  filter: z.union([z.object({ $and: z.array(Condition) }), z.object({ $or: z.array(Condition) }), z.null()]),
});
type Subscription = z.infer<typeof SubscriptionSchema>;

/**
 * Attio requires https targets. The sandbox also accepts plain http on loopback, because the Worker
 * under `wrangler dev` listens on http://127.0.0.1.
 */
const TargetUrl = z
  .url()
  .refine((url) => /^https:\/\//.test(url) || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(`${url}/`), {
    message: "target_url must be an https URL (or http on 127.0.0.1/localhost in the sandbox)",
  });

const CreateSchema = z.object({
  data: z.object({ target_url: TargetUrl, subscriptions: z.array(SubscriptionSchema) }),
});
const UpdateSchema = z.object({
  data: z.object({ target_url: TargetUrl.optional(), subscriptions: z.array(SubscriptionSchema).optional() }),
});

interface Webhook {
  id: string;
  targetUrl: string;
  subscriptions: Subscription[];
  status: "active" | "degraded" | "inactive";
  createdAt: string;
  secret: string;
}

export interface WebhookOptions {
  /** Delay of the `system` record.updated that follows a human edit (formula recomputation). */
  systemFollowUpMs: number;
}

/** Webhook registry and delivery, as docs "rest-api/how-to/webhooks" describes it. */
export class AttioWebhooks {
  private hooks: Webhook[] = [];
  private timers = new Set<NodeJS.Timeout>();

  constructor(
    private workspaceId: () => string,
    private random: SeededRandom,
    private deliverer: Deliverer,
    private faults: Faults,
    private options: WebhookOptions,
    private now: () => number = Date.now,
  ) {}

  configure(options: Partial<WebhookOptions>): void {
    this.options = { ...this.options, ...options };
  }

  create(body: unknown): unknown {
    const parsed = CreateSchema.safeParse(body);
    if (!parsed.success) throw validation(parsed.error);
    const hook: Webhook = {
      id: this.random.uuid(),
      targetUrl: parsed.data.data.target_url,
      subscriptions: parsed.data.data.subscriptions,
      status: "active",
      createdAt: attioTimestamp(this.now()),
      secret: this.random.hex(64),
    };
    this.hooks.push(hook);
    return { ...this.serialize(hook), secret: hook.secret };
  }

  list(limit: number, offset: number): unknown[] {
    return this.hooks.slice(offset, offset + limit).map((hook) => this.serialize(hook));
  }

  get(id: string): unknown {
    return this.serialize(this.find(id));
  }

  update(id: string, body: unknown): unknown {
    const hook = this.find(id);
    const parsed = UpdateSchema.safeParse(body);
    if (!parsed.success) throw validation(parsed.error);
    if (parsed.data.data.target_url) hook.targetUrl = parsed.data.data.target_url;
    if (parsed.data.data.subscriptions) hook.subscriptions = parsed.data.data.subscriptions;
    return this.serialize(hook);
  }

  delete(id: string): void {
    this.find(id);
    this.hooks = this.hooks.filter((hook) => hook.id !== id);
  }

  /** Secrets, for the control API's state dump and the CLI (the real API shows them only once). */
  secrets(): Array<{ id: string; target_url: string; secret: string }> {
    return this.hooks.map((hook) => ({ id: hook.id, target_url: hook.targetUrl, secret: hook.secret }));
  }

  reset(): void {
    this.hooks = [];
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Sends the events of one write to each subscribed webhook, batched into one delivery. */
  dispatch(events: AttioEvent[]): void {
    for (const hook of this.hooks) {
      if (hook.status === "inactive") continue;
      const matching = events.filter((event) => hook.subscriptions.some((sub) => subscribed(sub, event)));
      if (matching.length === 0) continue;
      const body = JSON.stringify({ webhook_id: hook.id, events: matching });
      const signature = createHmac("sha256", hook.secret).update(body, "utf8").digest("hex");
      // One key per message, unchanged on every retry and duplicate.
      const idempotencyKey = this.random.uuid();
      this.deliverer.send(
        idempotencyKey,
        hook.targetUrl,
        body,
        () => ({ "attio-signature": signature, "x-attio-signature": signature, "idempotency-key": idempotencyKey }),
        this.faults.forDelivery(),
      );
    }
  }

  /** A human edit is followed about a second later by a `system` record.updated (formula recomputation). */
  followUpHumanEdit(events: RecordEvent[], stillExists: (event: RecordEvent) => boolean): void {
    const updates = events.filter(
      (event) => event.event_type === "record.updated" && event.actor.type === "workspace-member",
    );
    if (updates.length === 0) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const system = updates
        .filter(stillExists)
        .map((event): RecordEvent => ({ ...event, actor: { type: "system", id: null } }));
      if (system.length > 0) this.dispatch(system);
    }, this.options.systemFollowUpMs);
    this.timers.add(timer);
  }

  pendingFollowUps(): number {
    return this.timers.size;
  }

  private find(id: string): Webhook {
    const hook = this.hooks.find((candidate) => candidate.id === id);
    if (!hook) throw notFound("Webhook not found");
    return hook;
  }

  private serialize(hook: Webhook): Record<string, unknown> {
    return {
      id: { workspace_id: this.workspaceId(), webhook_id: hook.id },
      target_url: hook.targetUrl,
      status: hook.status,
      subscriptions: hook.subscriptions,
      created_at: hook.createdAt,
    };
  }
}

function subscribed(subscription: Subscription, event: AttioEvent): boolean {
  if (subscription.event_type !== event.event_type) return false;
  const filter = subscription.filter;
  if (filter === null) return true;
  const test = (condition: z.infer<typeof Condition>) => {
    const actual = condition.field.split(".").reduce<unknown>((node, key) => {
      return node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
    }, event);
    const equal = String(actual ?? "") === condition.value;
    return condition.operator === "equals" ? equal : !equal;
  };
  return "$and" in filter ? filter.$and.every(test) : filter.$or.some(test);
}

function validation(error: z.ZodError) {
  const detail = error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
  return invalid("validation_type", `Body payload validation error. ${detail}`);
}
