// First: it adds .openapi() to zod's schemas, and a schema built before it (in a module that
// imports plain zod, such as the job schemas) would have none when the API routes are defined.
import "@hono/zod-openapi";
import { handleScheduled } from "./cron/scheduled.ts";
import { createApp } from "./http/app.ts";
import { handleQueueBatch } from "./queue/consumer.ts";
import { countingConsumer, countingEnv } from "./sync/queue-depth.ts";

export { RateLimiter } from "./durable/rate-limiter.ts";
export { RecordLock } from "./durable/record-lock.ts";

const app = createApp();
const countedFetch: typeof app.fetch = (request, env, ctx) => app.fetch(request, countingEnv(env as Env), ctx);

// The queue bindings count what is sent and the consumer what it settles: the backlog estimate
// (sync/queue-depth.ts) that /api/v1/status and the console show.
export default {
  fetch: countedFetch,
  queue: countingConsumer((batch, env) => handleQueueBatch(batch, env)),
  scheduled: (controller, env, ctx) => handleScheduled(controller, countingEnv(env), ctx),
} satisfies ExportedHandler<Env>;
