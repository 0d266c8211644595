import { type AttioSetupClient, type AttioWebhook, subscribesToAll } from "./attio.ts";

/** Where the Worker receives Attio's deliveries. */
export function webhookTarget(workerUrl: string): string {
  return `${workerUrl.replace(/\/+$/, "")}/webhooks/attio`;
}

/** How the Attio webhook commands change the Worker's secrets (`wrangler secret put/delete`). */
export interface WorkerSecrets {
  put(name: string, value: string): Promise<void>;
  delete(name: string): Promise<void>;
}

export type WebhookOutcome =
  | { kind: "kept"; id: string; subscriptionsFixed: boolean }
  | { kind: "created"; id: string; replaced: string[] };

/**
 * Makes sure one Attio webhook targets the Worker and the Worker holds its secret. A webhook that
 * exists is kept when the Worker already has a secret for it (`secretSet`); Attio shows a secret only
 * at creation, so otherwise a new webhook is made, its secret put, and the old ones deleted.
 */
export async function ensureWebhook(
  attio: AttioSetupClient,
  workerUrl: string,
  secretSet: boolean,
  secrets: WorkerSecrets,
): Promise<WebhookOutcome> {
  const mine = await webhooksOf(attio, workerUrl);
  const current = mine[0];
  if (current && secretSet && mine.length === 1) {
    const fix = !subscribesToAll(current);
    if (fix) await attio.updateSubscriptions(current.id.webhook_id);
    return { kind: "kept", id: current.id.webhook_id, subscriptionsFixed: fix };
  }
  const created = await attio.createWebhook(webhookTarget(workerUrl));
  await secrets.put("ATTIO_WEBHOOK_SECRET", created.secret);
  for (const old of mine) await attio.deleteWebhook(old.id.webhook_id);
  return { kind: "created", id: created.id, replaced: mine.map((w) => w.id.webhook_id) };
}

export interface WebhookCheck {
  ok: boolean;
  /** One line per finding, each with the fix when it fails. */
  findings: { ok: boolean; text: string }[];
}

/** Whether Attio delivers the Worker's events to it: one active webhook, every event, the route answering. */
export async function verifyWebhook(attio: AttioSetupClient, workerUrl: string): Promise<WebhookCheck> {
  const findings: WebhookCheck["findings"] = [];
  const mine = await webhooksOf(attio, workerUrl);
  const target = webhookTarget(workerUrl);
  if (mine.length === 0) {
    findings.push({ ok: false, text: `no Attio webhook targets ${target}: run \`npm run attio-webhook -- register\`` });
  } else {
    if (mine.length > 1) {
      findings.push({
        ok: false,
        text: `${mine.length} webhooks target ${target} (each event arrives more than once; one is refused): run \`npm run attio-webhook -- register\` to keep one`,
      });
    }
    for (const hook of mine) {
      const id = hook.id.webhook_id;
      findings.push(
        hook.status === "active"
          ? { ok: true, text: `webhook ${id} is active` }
          : {
              ok: false,
              text: `webhook ${id} is ${hook.status}: Attio stopped or slowed deliveries after failures; fix the Worker, then \`npm run attio-webhook -- rotate\` makes a fresh one`,
            },
      );
      findings.push(
        subscribesToAll(hook)
          ? { ok: true, text: `webhook ${id} subscribes to every event the Worker uses` }
          : { ok: false, text: `webhook ${id} misses events: \`npm run attio-webhook -- register\` sets them` },
      );
    }
  }
  // An unsigned delivery must be refused with 401: the route exists and checks signatures.
  try {
    const response = await fetch(target, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    findings.push(
      response.status === 401
        ? { ok: true, text: `${target} answers and refuses an unsigned delivery (401)` }
        : {
            ok: false,
            text: `${target} answered ${response.status} to an unsigned delivery (expected 401): is this the Worker?`,
          },
    );
  } catch (error) {
    findings.push({ ok: false, text: `${target} is unreachable (${(error as Error).message})` });
  }
  return { ok: findings.every((f) => f.ok), findings };
}

/**
 * Replaces the webhook and its secret without a gap. Attio has no way to change a webhook's secret,
 * so: a new webhook is created, the Worker accepts its secret as ATTIO_WEBHOOK_SECRET_NEXT (both
 * webhooks now deliver and both are accepted), the old webhook is deleted, the new secret becomes
 * ATTIO_WEBHOOK_SECRET, and ATTIO_WEBHOOK_SECRET_NEXT is removed. An event delivered by both
 * webhooks meanwhile is synced twice, which is harmless (the sync is idempotent).
 */
export async function rotateWebhook(
  attio: AttioSetupClient,
  workerUrl: string,
  secrets: WorkerSecrets,
): Promise<{ id: string; replaced: string[] }> {
  const old = await webhooksOf(attio, workerUrl);
  const created = await attio.createWebhook(webhookTarget(workerUrl));
  await secrets.put("ATTIO_WEBHOOK_SECRET_NEXT", created.secret);
  for (const hook of old) await attio.deleteWebhook(hook.id.webhook_id);
  await secrets.put("ATTIO_WEBHOOK_SECRET", created.secret);
  await secrets.delete("ATTIO_WEBHOOK_SECRET_NEXT");
  return { id: created.id, replaced: old.map((w) => w.id.webhook_id) };
}

async function webhooksOf(attio: AttioSetupClient, workerUrl: string): Promise<AttioWebhook[]> {
  const target = webhookTarget(workerUrl);
  return (await attio.listWebhooks()).filter((hook) => hook.target_url === target);
}
