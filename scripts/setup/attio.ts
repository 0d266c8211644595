import { z } from "zod";

/** The events the Worker subscribes to (record changes, and attribute changes that refresh its schema cache). */
export const WEBHOOK_EVENTS = [
  "record.created",
  "record.updated",
  "record.deleted",
  "record.merged",
  "object-attribute.created",
  "object-attribute.updated",
] as const;

/** Scopes the Worker's key needs, and `webhook:read-write` for setup to register the webhook with it. */
export const REQUIRED_SCOPES = [
  "record_permission:read-write",
  "object_configuration:read",
  "user_management:read",
  "webhook:read-write",
] as const;

const SelfSchema = z.object({
  active: z.boolean(),
  scope: z.string().optional(),
  workspace_name: z.string().optional(),
});

const WebhookSchema = z.object({
  id: z.object({ webhook_id: z.string() }),
  target_url: z.string(),
  status: z.string(),
  subscriptions: z.array(z.object({ event_type: z.string() })),
});
export type AttioWebhook = z.infer<typeof WebhookSchema>;

const CreatedSchema = z.object({ data: WebhookSchema.extend({ secret: z.string().min(1) }) });

/** A refusal or an unexpected answer from Attio, with what to do about it. */
export class AttioSetupError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The few Attio calls setup makes (`GET /v2/self`, `/v2/webhooks`), as Attio's OpenAPI document describes them. */
export class AttioSetupClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  /** The key works, and which workspace and scopes it has; refuses an inactive key or missing scopes. */
  async check(): Promise<{ workspace: string; scopes: string[] }> {
    const self = SelfSchema.parse(await this.call("GET", "/v2/self"));
    if (!self.active) throw new AttioSetupError("the Attio API key is not active (revoked or mistyped)");
    const scopes = (self.scope ?? "").split(/\s+/).filter(Boolean);
    const missing = REQUIRED_SCOPES.filter((scope) => !scopes.includes(scope));
    if (missing.length > 0) {
      throw new AttioSetupError(
        `the Attio API key lacks the scopes ${missing.join(", ")} (Workspace settings > Developers > your integration > Scopes)`,
      );
    }
    return { workspace: self.workspace_name ?? "(unnamed)", scopes };
  }

  async listWebhooks(): Promise<AttioWebhook[]> {
    const all: AttioWebhook[] = [];
    for (let offset = 0; ; offset += 100) {
      const page = z
        .object({ data: z.array(WebhookSchema) })
        .parse(await this.call("GET", `/v2/webhooks?limit=100&offset=${offset}`));
      all.push(...page.data);
      if (page.data.length < 100) return all;
    }
  }

  /** Creates the webhook; its secret is in this answer only. */
  async createWebhook(targetUrl: string): Promise<{ id: string; secret: string }> {
    const created = CreatedSchema.parse(
      await this.call("POST", "/v2/webhooks", { data: { target_url: targetUrl, subscriptions: subscriptions() } }),
    );
    return { id: created.data.id.webhook_id, secret: created.data.secret };
  }

  /** Sets the webhook's subscriptions to the Worker's (they are replaced as a whole). */
  async updateSubscriptions(id: string): Promise<void> {
    await this.call("PATCH", `/v2/webhooks/${id}`, { data: { subscriptions: subscriptions() } });
  }

  async deleteWebhook(id: string): Promise<void> {
    await this.call("DELETE", `/v2/webhooks/${id}`);
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.apiKey}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) {
      const hint =
        response.status === 401
          ? " (the API key is wrong or revoked)"
          : response.status === 403
            ? " (the API key lacks a scope)"
            : "";
      throw new AttioSetupError(
        `Attio answered ${response.status} to ${method} ${path}${hint}: ${text.slice(0, 300)}`,
        response.status,
      );
    }
    return text === "" ? {} : JSON.parse(text);
  }
}

function subscriptions() {
  return WEBHOOK_EVENTS.map((event_type) => ({ event_type, filter: null }));
}

/** Whether a webhook delivers every event the Worker needs. */
export function subscribesToAll(webhook: AttioWebhook): boolean {
  const types = new Set(webhook.subscriptions.map((s) => s.event_type));
  return WEBHOOK_EVENTS.every((event) => types.has(event));
}
