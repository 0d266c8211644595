import { createApp } from "./http/app.ts";
import { handleQueueBatch } from "./sync/consumer.ts";
import { handleScheduled } from "./sync/scheduled.ts";

export { RateLimiter } from "./durable/rate-limiter.ts";
export { RecordLock } from "./durable/record-lock.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: handleQueueBatch,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env>;
