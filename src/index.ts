import { handleScheduled } from "./cron/scheduled.ts";
import { createApp } from "./http/app.ts";
import { handleQueueBatch } from "./queue/consumer.ts";

export { RateLimiter } from "./durable/rate-limiter.ts";
export { RecordLock } from "./durable/record-lock.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: handleQueueBatch,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env>;
