import { createLogger, LOG_LEVELS, type LogLevel } from "../lib/log.ts";
import { openDb } from "../store/db.ts";
import { addToCounter, type QueueCounter, readCounters } from "../store/queue-counts.ts";

/**
 * The queue backlog estimate. Cloudflare documents no way for a Worker to read a queue's depth
 * (the runtime's types declare a `metrics()` on the binding, undocumented for deployed Workers), so
 * the Worker counts it itself: every message sent to the sync or jobs queue (`sent`), minus every
 * message a consumer settled for good (`settled`): acked by the live consumer, or acked by the
 * dead-letter consumer after recording it (a message the live queue gave up on is in the
 * dead-letter queue until then, so it still counts). A message the consumer retries is still in
 * its queue and is not settled. Delayed messages (a retry's backoff, the drain's next minute) are
 * counted as waiting. docs/CONSOLE.md says what makes it drift.
 */
export interface QueueBacklog {
  /** sent - settled, never below zero. */
  estimate: number;
  sent: number;
  settled: number;
}

export function backlogOf(counters: Partial<Record<QueueCounter, number>>): QueueBacklog {
  const sent = (counters["sent:sync"] ?? 0) + (counters["sent:jobs"] ?? 0);
  const settled = (counters["settled:sync"] ?? 0) + (counters["settled:jobs"] ?? 0) + (counters["settled:dlq"] ?? 0);
  return { estimate: Math.max(0, sent - settled), sent, settled };
}

export async function readBacklog(env: Env): Promise<QueueBacklog> {
  return backlogOf(await readCounters(openDb(env.DB)));
}

/** How a consumer invocation left one message: by its own call, or not at all. */
export type MessageState = "acked" | "retried" | "untouched";

/**
 * How many messages of an invocation were settled for good. Cloudflare's rules: the first of
 * ack() and retry() wins; a message neither acked nor retried is acked when the handler returns
 * and retried when it throws. Retried messages come back (or go to the dead-letter queue, whose
 * consumer settles them): never counted here.
 */
export function settledCount(states: readonly MessageState[], handlerThrew: boolean): number {
  return states.filter((state) => state === "acked" || (state === "untouched" && !handlerThrew)).length;
}

/** Which counter a consumer's queue settles, by the queue's name. */
export function settledCounter(queue: string): QueueCounter {
  if (queue.endsWith("-dlq")) return "settled:dlq";
  return queue.endsWith("-jobs") ? "settled:jobs" : "settled:sync";
}

const COUNTED = Symbol("queue sends counted");
type Counted = Queue & { [COUNTED]?: true };

/**
 * The Worker's env with its two queue bindings counting what they send. Every producer (webhooks,
 * jobs, the cron, the drain, replays) goes through these bindings, so none can forget to count.
 * Counted only once a send succeeded; a count that cannot be stored is logged and lost (the
 * estimate then reads low), never failing the send. Wrapping twice counts once.
 */
export function countingEnv(env: Env): Env {
  if ((env.SYNC_QUEUE as Counted | undefined)?.[COUNTED]) return env;
  // One wrapper per env: the runtime hands an isolate the same env every time, and what is cached
  // per env object (the parsed configuration, config/env.ts) must stay cached.
  let counting = wrapped.get(env);
  if (!counting) {
    counting = {
      ...env,
      SYNC_QUEUE: countingQueue(env, env.SYNC_QUEUE, "sent:sync"),
      JOB_QUEUE: countingQueue(env, env.JOB_QUEUE, "sent:jobs"),
    };
    wrapped.set(env, counting);
  }
  return counting;
}

const wrapped = new WeakMap<Env, Env>();

function countingQueue(env: Env, queue: Queue, counter: QueueCounter): Queue {
  if (!queue) return queue;
  const counted: Counted = {
    [COUNTED]: true,
    metrics: () => queue.metrics(),
    send: async (body, options) => {
      const answer = await queue.send(body, options);
      await count(env, counter, 1);
      return answer;
    },
    sendBatch: async (messages, options) => {
      const list = [...messages];
      const answer = await queue.sendBatch(list, options);
      await count(env, counter, list.length);
      return answer;
    },
  };
  return counted;
}

/**
 * The queue handler with its settled messages counted: each message's first ack() or retry() is
 * noted, and what the invocation settled for good is added once it ends (one D1 write per batch).
 */
export function countingConsumer(
  handler: (batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext) => Promise<void>,
): (batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext) => Promise<void> {
  return async (batch, env, ctx) => {
    const states = batch.messages.map((): MessageState => "untouched");
    const note = (i: number, state: MessageState) => {
      if (states[i] === "untouched") states[i] = state;
    };
    const messages = batch.messages.map((message, i) => tracked(message, (state) => note(i, state)));
    const watched: MessageBatch<unknown> = {
      queue: batch.queue,
      metadata: batch.metadata,
      messages,
      ackAll: () => {
        for (const i of states.keys()) note(i, "acked");
        batch.ackAll();
      },
      retryAll: (options) => {
        for (const i of states.keys()) note(i, "retried");
        batch.retryAll(options);
      },
    };
    let threw = false;
    try {
      await handler(watched, countingEnv(env), ctx);
    } catch (thrown) {
      threw = true;
      throw thrown;
    } finally {
      await count(env, settledCounter(batch.queue), settledCount(states, threw));
    }
  };
}

function tracked(message: Message<unknown>, note: (state: MessageState) => void): Message<unknown> {
  return {
    get id() {
      return message.id;
    },
    get timestamp() {
      return message.timestamp;
    },
    get body() {
      return message.body;
    },
    get attempts() {
      return message.attempts;
    },
    ack: () => {
      note("acked");
      message.ack();
    },
    retry: (options) => {
      note("retried");
      message.retry(options);
    },
  };
}

async function count(env: Env, counter: QueueCounter, n: number): Promise<void> {
  try {
    await addToCounter(openDb(env.DB), counter, n);
  } catch (thrown) {
    const level = LOG_LEVELS.find((l) => l === env.LOG_LEVEL) ?? "info";
    createLogger(level as LogLevel).warn("queue backlog count not stored", {
      counter,
      n,
      error: thrown instanceof Error ? thrown.message : String(thrown),
    });
  }
}
