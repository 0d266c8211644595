import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index.ts";

let sequence = 0;

/** Runs the Worker's exported `queue` handler on one batch and returns what it acked and retried. */
export async function runQueue(
  bodies: unknown[],
  options: { attempts?: number; queue?: string; vars?: Record<string, string> } = {},
) {
  const messages = bodies.map((body) => {
    sequence += 1;
    return { id: `msg-${sequence}`, timestamp: new Date(), attempts: options.attempts ?? 1, body };
  });
  const batch = createMessageBatch(options.queue ?? "attio-sfdc-sync", messages);
  const ctx = createExecutionContext();
  await worker.queue(batch, options.vars ? { ...env, ...options.vars } : env, ctx);
  const result = await getQueueResult(batch, ctx);
  return { ids: messages.map((m) => m.id), batch, result };
}
