// First: it adds .openapi() to zod's schemas, and a schema built before it (in a module that
// imports plain zod, such as the job schemas) would have none when the API routes are defined.
import "@hono/zod-openapi";
import { handleScheduled } from "./cron/scheduled.ts";
import { createApp } from "./http/app.ts";
import { handleQueueBatch } from "./queue/consumer.ts";

export { RateLimiter } from "./durable/rate-limiter.ts";
export { RecordLock } from "./durable/record-lock.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: (batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext) => handleQueueBatch(batch, env),
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env>;
