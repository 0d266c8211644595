import { SyncError } from "../../src/lib/errors.ts";
import type { Logger } from "../../src/lib/log.ts";
import { type BackoffPolicy, backoffDelay, sleep } from "./backoff.ts";
import { batchIsDue, nextBatchSize } from "./batch.ts";
import { type ContractEvent, EventConversionError, toContractEvent } from "./convert.ts";
import type { DeadLetter, DeadLetterSink } from "./dead-letters.ts";
import { creditsToRequest } from "./flow-control.ts";
import { type ChannelHealth, newChannelHealth } from "./health.ts";
import type { ChangeEventSource, SourceEvent, StartPosition, Subscription } from "./pubsub-source.ts";
import { SubscriptionError } from "./pubsub-source.ts";
import { type ReplayIdBase64, replayIdForDisplay, replayIdFromBase64, replayIdToBase64 } from "./replay-id.ts";
import type { ReplayStore } from "./replay-store.ts";
import type { RelayBody, WorkerClient } from "./worker-client.ts";

export interface PipelineOptions {
  channel: string;
  source: ChangeEventSource;
  store: ReplayStore;
  worker: WorkerClient;
  log: Logger;
  /** Most events held at once: buffered (not yet acknowledged by the Worker) plus asked for. */
  capacity: number;
  batch: { maxEvents: number; maxBytes: number; lingerMs: number };
  retry: BackoffPolicy;
  /** Where events the Worker keeps refusing, or that cannot be converted, are parked. */
  deadLetters: DeadLetterSink;
  /** POSTs of a batch the Worker refuses for its content (400, 413, 422) before its events are parked. */
  maxRejections: number;
  /** The objects to catch up when this channel's position is lost. */
  catchupEntities: readonly string[];
  /** Salesforce sends a keepalive at least every 270 s while events are asked for; silence longer than this means a dead stream. */
  idleTimeoutMs?: number;
  now?: () => number;
  random?: () => number;
}

interface Buffered {
  /** Undefined for an event parked because it could not be converted: it only carries its position. */
  event: ContractEvent | undefined;
  replayId: ReplayIdBase64;
  bytes: number;
  receivedAt: number;
}

/** Lets one loop sleep until the other has news, with a bound on the wait. */
class Wakeup {
  #wake: (() => void) | undefined;
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
  notify(): void {
    this.#wake?.();
  }
}

/**
 * One channel from Salesforce to the Worker: a subscribe loop that asks for only as many events as
 * the buffer can take, and a delivery loop that POSTs them in batches, retries until the Worker
 * answers 2xx, and only then stores the replay id of the last event of the batch. A failure anywhere
 * leaves the events in the buffer (or, after a crash, in Salesforce's retention), never dropped.
 */
export class ChannelPipeline {
  readonly health: ChannelHealth;
  readonly #o: PipelineOptions;
  readonly #now: () => number;
  readonly #buffer: Buffered[] = [];
  readonly #catchup = new Set<string>();
  readonly #stop = new AbortController();
  readonly #drain = new AbortController();
  readonly #deliverWake = new Wakeup();
  readonly #roomWake = new Wakeup();
  #stored: ReplayIdBase64 | undefined;
  /** Position of the last event received in this process: where an in-process reconnect resumes. */
  #received: Buffer | undefined;
  #forceLatest = false;
  #subscription: Subscription | undefined;
  #outstanding = 0;
  #lastMessageAt = 0;
  #drainDeadline = Number.POSITIVE_INFINITY;
  /** Events at the head of the buffer to send one per request, to find the one the Worker refuses. */
  #singles = 0;
  #running: Promise<void> | undefined;

  constructor(options: PipelineOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.health = newChannelHealth(options.channel, this.#now());
  }

  /** Loads the stored position, then runs until stop(). Rejects only on an unrecoverable error. */
  run(): Promise<void> {
    this.#running ??= (async () => {
      this.#stored = await this.#o.store.load(this.#o.channel);
      let fatal: unknown;
      const onFatal = (err: unknown) => {
        fatal ??= err;
        void this.stop(0);
      };
      await Promise.all([this.#subscribeLoop().catch(onFatal), this.#deliverLoop().catch(onFatal)]);
      if (fatal !== undefined) throw fatal;
    })();
    return this.#running;
  }

  /**
   * Stops asking Salesforce for events and gives the delivery loop up to `drainMs` to hand the
   * buffer to the Worker. Whatever is still undelivered then is not lost: its replay id was never
   * stored, so the next start receives it again.
   */
  async stop(drainMs: number): Promise<void> {
    if (!this.#stop.signal.aborted) {
      this.#drainDeadline = this.#now() + drainMs;
      this.#stop.abort();
      this.#subscription?.close();
      const timer = setTimeout(() => this.#drain.abort(), drainMs);
      this.#drain.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
      this.#deliverWake.notify();
      this.#roomWake.notify();
    }
    await this.#running?.catch(() => {});
    this.#drain.abort();
  }

  get #stopping(): boolean {
    return this.#stop.signal.aborted;
  }

  // ---- subscribe side ------------------------------------------------------------------------

  async #subscribeLoop(): Promise<void> {
    let attempt = 0;
    while (!this.#stopping) {
      // Reconnecting with a full buffer would only ask for nothing; wait until the Worker made room.
      while (!this.#stopping && this.#credits(0) === 0) await this.#roomWake.wait(1000);
      if (this.#stopping) break;
      const start = this.#startPosition();
      const initial = this.#credits(0);
      let watchdog: NodeJS.Timeout | undefined;
      try {
        const subscription = await this.#o.source.open(this.#o.channel, start, initial);
        this.#subscription = subscription;
        if (this.#stopping) subscription.close();
        this.#outstanding = initial;
        this.#lastMessageAt = this.#now();
        this.health.connected = true;
        this.health.disconnectedSince = undefined;
        this.#syncHealth();
        this.#o.log.info("subscribed", {
          channel: this.#o.channel,
          from: start.kind === "after" ? replayIdForDisplay(start.replayId) : "latest",
          requested: initial,
        });
        const idleTimeoutMs = this.#o.idleTimeoutMs ?? 330_000;
        watchdog = setInterval(
          () => {
            if (this.#outstanding > 0 && this.#now() - this.#lastMessageAt > idleTimeoutMs) {
              this.#o.log.warn("subscription silent for too long; reconnecting", {
                channel: this.#o.channel,
                idle_ms: idleTimeoutMs,
              });
              subscription.close();
            }
          },
          Math.min(10_000, Math.max(50, idleTimeoutMs / 4)),
        );
        for await (const message of subscription.messages) {
          attempt = 0;
          this.#lastMessageAt = this.#now();
          if (message.kind === "events") {
            for (const sourceEvent of message.events) await this.#accept(sourceEvent);
            this.#deliverWake.notify();
          } else {
            await this.#onKeepalive(message.latestReplayId);
          }
          this.#topUp();
        }
        if (!this.#stopping)
          this.#o.log.warn("subscription ended by Salesforce; reconnecting", { channel: this.#o.channel });
      } catch (err) {
        if (this.#stopping) break;
        this.#onSubscriptionError(err, start);
      } finally {
        clearInterval(watchdog);
        this.#subscription?.close();
        this.#subscription = undefined;
        this.#outstanding = 0;
        this.health.connected = false;
        this.health.disconnectedSince ??= this.#now();
        this.#syncHealth();
      }
      if (!this.#stopping) await sleep(backoffDelay(attempt++, this.#o.retry, this.#o.random), this.#stop.signal);
    }
  }

  #startPosition(): StartPosition {
    if (this.#received) return { kind: "after", replayId: this.#received };
    if (!this.#forceLatest && this.#stored) return { kind: "after", replayId: replayIdFromBase64(this.#stored) };
    // No position at all (first start, or the stored one expired): whatever happened before now was
    // not relayed, so the Worker is asked to catch these objects up. Until a batch carrying that request
    // is acknowledged, the old position stays stored, so a crash in between asks again.
    this.#requestCatchup(this.#forceLatest ? "stored replay id no longer valid" : "no stored replay id");
    return { kind: "latest" };
  }

  #requestCatchup(reason: string, entities: readonly string[] = this.#o.catchupEntities): void {
    const added = entities.filter((entity) => !this.#catchup.has(entity));
    for (const entity of added) this.#catchup.add(entity);
    if (added.length > 0) this.#o.log.warn("catch-up requested", { channel: this.#o.channel, reason, entities: added });
    this.#syncHealth();
    this.#deliverWake.notify();
  }

  #onSubscriptionError(err: unknown, start: StartPosition): void {
    if (err instanceof SubscriptionError) {
      if (err.reason === "replay_id_invalid" && start.kind === "after") {
        this.#o.log.warn(
          "replay id rejected (older than the retention window, or unknown); resubscribing from the latest event",
          {
            channel: this.#o.channel,
            replay_id: replayIdForDisplay(start.replayId),
            error_code: err.detail["errorCode"],
          },
        );
        this.#received = undefined;
        this.#forceLatest = true;
        return;
      }
      if (err.reason === "unauthenticated") this.#tokensRejected();
      this.health.lastError = err.message;
      this.#o.log.warn("subscription failed; reconnecting", {
        channel: this.#o.channel,
        reason: err.reason,
        error: err.message,
        ...err.detail,
      });
      return;
    }
    if (err instanceof SyncError && !err.retryable) throw err;
    this.health.lastError = String(err);
    this.#o.log.warn("subscription failed; reconnecting", { channel: this.#o.channel, error: String(err) });
  }

  #tokensRejected(): void {
    // The source asks its token provider again on the next open; nothing else holds the token.
    this.#o.source.invalidateCredentials?.();
  }

  async #accept(sourceEvent: SourceEvent): Promise<void> {
    let event: ContractEvent;
    try {
      event = toContractEvent(sourceEvent.event);
    } catch (err) {
      if (!(err instanceof EventConversionError)) throw err;
      // Converting is a pure function of the event: trying again gives the same error. The event is
      // parked at once and the stream goes on. Were parking to fail, the error escapes to the
      // subscribe loop, which reconnects from the event before: nothing is skipped unrecorded.
      await this.#park(
        [
          {
            channel: this.#o.channel,
            replayId: sourceEvent.event.replayId,
            reason: err.message,
            attempts: 0,
            event: sourceEvent.event,
          },
        ],
        { reason: err.message },
      );
      this.#received = sourceEvent.replayId;
      this.#outstanding = Math.max(0, this.#outstanding - 1);
      // Its position travels in the buffer, stored once what came before it is delivered.
      this.#buffer.push({
        event: undefined,
        replayId: replayIdToBase64(sourceEvent.replayId),
        bytes: 0,
        receivedAt: this.#now(),
      });
      this.#syncHealth();
      return;
    }
    this.#received = sourceEvent.replayId;
    this.#outstanding = Math.max(0, this.#outstanding - 1);
    this.health.lastEventAt = this.#now();
    const header = event.payload.ChangeEventHeader;
    if (header.changeType === "GAP_OVERFLOW") {
      // More than 100,000 changes in one transaction: the rest of that object's changes never become
      // events, and the overflow event names no records. A catch-up of the object is the repair.
      this.#requestCatchup("GAP_OVERFLOW event", [header.entityName]);
      // The Worker's contract requires at least one record id per event, so an overflow event without
      // any travels as the catch-up request alone. Were the relay to stop before that is acknowledged,
      // its replay id was not stored and the event comes again.
      if (header.recordIds.length === 0) {
        this.#syncHealth();
        return;
      }
    }
    this.#buffer.push({
      event,
      replayId: replayIdToBase64(sourceEvent.replayId),
      bytes: Buffer.byteLength(JSON.stringify(event)),
      receivedAt: this.#now(),
    });
    this.#syncHealth();
  }

  /**
   * An empty FetchResponse while events are asked for means we are at the tip of the stream. With
   * nothing buffered, its latest replay id is a safe position to store: it keeps the stored id inside
   * the 72-hour retention window even when the org is quiet for days.
   */
  async #onKeepalive(latest: Buffer): Promise<void> {
    if (latest.byteLength === 0 || this.#buffer.length > 0 || this.#outstanding === 0 || this.#catchup.size > 0) return;
    this.#received = latest;
    const encoded = replayIdToBase64(latest);
    if (encoded !== this.#stored) await this.#persist(encoded);
  }

  #credits(outstanding: number): number {
    return creditsToRequest({ capacity: this.#o.capacity, buffered: this.#buffer.length, outstanding });
  }

  #topUp(): void {
    const subscription = this.#subscription;
    if (!subscription || this.#stopping) return;
    const credits = this.#credits(this.#outstanding);
    if (credits === 0) return;
    if (this.#outstanding === 0) this.#lastMessageAt = this.#now();
    subscription.request(credits);
    this.#outstanding += credits;
    this.#syncHealth();
  }

  // ---- delivery side -------------------------------------------------------------------------

  async #deliverLoop(): Promise<void> {
    for (;;) {
      const now = this.#now();
      const nothingLeft = this.#buffer.length === 0 && this.#catchup.size === 0;
      if (this.#stopping && (nothingLeft || now >= this.#drainDeadline)) return;
      const oldest = this.#buffer[0]?.receivedAt;
      const due = batchIsDue({
        buffered: this.#buffer.length,
        oldestBufferedAt: oldest,
        now,
        maxEvents: this.#o.batch.maxEvents,
        lingerMs: this.#stopping ? 0 : this.#o.batch.lingerMs,
        catchupPending: this.#catchup.size > 0,
      });
      if (!due) {
        const wait = oldest === undefined ? 1000 : Math.max(1, this.#o.batch.lingerMs - (now - oldest));
        await this.#deliverWake.wait(Math.min(wait, 1000));
        continue;
      }
      if (!(await this.#deliverOneBatch())) return;
    }
  }

  /**
   * Sends the head of the buffer until the Worker takes it, or, when the Worker keeps refusing its
   * content, parks it in the dead-letter file. False when shutdown cut the retries short.
   */
  async #deliverOneBatch(): Promise<boolean> {
    const limits = this.#singles > 0 ? { ...this.#o.batch, maxEvents: 1 } : this.#o.batch;
    const count = nextBatchSize(this.#buffer, limits);
    const items = this.#buffer.slice(0, count);
    const catchup = [...this.#catchup];
    const events = items.flatMap((item) => (item.event ? [item.event] : []));
    if (events.length === 0 && catchup.length === 0) {
      // Only the positions of events parked on arrival: nothing to send.
      await this.#moveOn(items, count);
      return true;
    }
    const body: RelayBody = { events };
    if (catchup.length > 0) body.catchup = catchup;
    let rejections = 0;
    for (let attempt = 0; ; attempt++) {
      const result = await this.#o.worker.deliver(body);
      if (result.ok) {
        await this.#moveOn(items, count, catchup);
        this.health.lastDeliveredAt = this.#now();
        const last = items.at(-1);
        if (last?.event) this.health.lastDeliveredReplayId = last.event.event.replayId;
        this.health.deliveryFailures = 0;
        this.health.failingSince = undefined;
        this.#syncHealth();
        const summary = workerSummary(result.summary);
        this.#o.log.info("batch delivered", {
          channel: this.#o.channel,
          events: events.length,
          catchup: catchup.length > 0 ? catchup : undefined,
          first_replay_id: events[0]?.event.replayId,
          last_replay_id: events.at(-1)?.event.replayId,
          status: result.status,
          attempts: attempt + 1,
          duration_ms: result.durationMs,
          backlog: this.#buffer.length,
          ...(summary.rejected ? { rejected_by_worker: summary.rejected } : {}),
        });
        if (summary.rejected) {
          this.#o.log.warn("the Worker recorded events of the batch as failures (GET /api/v1/failures)", {
            channel: this.#o.channel,
            rejected: summary.rejected,
          });
        }
        return true;
      }
      this.health.deliveryFailures++;
      this.health.failingSince ??= this.#now();
      this.health.lastError = result.message;
      const line = {
        channel: this.#o.channel,
        events: events.length,
        status: result.status,
        attempt: attempt + 1,
        error: result.message,
        backlog: this.#buffer.length,
      };
      if (result.retryable) this.#o.log.warn("batch not delivered; retrying", line);
      else if (result.contentRejected) this.#o.log.error("Worker refused the batch's content", line);
      else
        this.#o.log.error(
          "Worker rejected the batch; retrying slowly until it accepts (check RELAY_SECRET, clocks and versions)",
          line,
        );
      if (!result.retryable && result.contentRejected && events.length > 0) {
        rejections++;
        if (rejections >= this.#o.maxRejections) {
          if (events.length > 1) {
            // One event is refused, or the batch as a whole: one per request finds out which.
            this.#singles = count;
            this.#o.log.warn("the Worker keeps refusing a batch; sending its events one at a time", {
              channel: this.#o.channel,
              events: events.length,
            });
            return true;
          }
          if (await this.#parkRefused(items, count, result.message, result.status, rejections)) return true;
        }
      }
      if (this.#stopping && this.#now() >= this.#drainDeadline) return false;
      const delay = result.retryable ? backoffDelay(attempt, this.#o.retry, this.#o.random) : this.#o.retry.maxMs;
      await sleep(delay, this.#drain.signal);
      if (this.#drain.signal.aborted) return false;
    }
  }

  /**
   * The head of the buffer is done with (delivered, or parked): drop it, and store its last
   * position unless a catch-up request is still to be acknowledged (a crash would then lose it).
   */
  async #moveOn(items: readonly Buffered[], count: number, acknowledged: readonly string[] = []): Promise<void> {
    for (const entity of acknowledged) this.#catchup.delete(entity);
    const last = items.at(-1);
    if (last && this.#catchup.size === 0) await this.#persist(last.replayId);
    this.#buffer.splice(0, count);
    this.#singles = Math.max(0, this.#singles - count);
    this.#syncHealth();
    this.#topUp();
    this.#roomWake.notify();
  }

  /** Parks an event the Worker keeps refusing and moves past it; false if it could not be parked. */
  async #parkRefused(
    items: readonly Buffered[],
    count: number,
    reason: string,
    status: number | undefined,
    attempts: number,
  ): Promise<boolean> {
    const letters: DeadLetter[] = items.flatMap((item) =>
      item.event
        ? [
            {
              channel: this.#o.channel,
              replayId: item.event.event.replayId,
              reason,
              ...(status === undefined ? {} : { status }),
              attempts,
              event: item.event,
            },
          ]
        : [],
    );
    try {
      await this.#park(letters, { reason, status, attempts });
    } catch {
      return false;
    }
    this.health.deliveryFailures = 0;
    this.health.failingSince = undefined;
    await this.#moveOn(items, count);
    return true;
  }

  /** Appends events to the dead-letter file, counts them and logs one line; throws if the file cannot take them. */
  async #park(letters: readonly DeadLetter[], detail: Record<string, unknown>): Promise<void> {
    const fields = {
      channel: this.#o.channel,
      events: letters.length,
      replay_ids: letters.map((letter) => letter.replayId),
      ...detail,
    };
    try {
      await this.#o.deadLetters.park(letters);
    } catch (err) {
      this.health.lastError = `dead-letter write failed: ${String(err)}`;
      this.#o.log.error("could not park events in the dead-letter file; they stay where they are", {
        ...fields,
        error: String(err),
      });
      throw err;
    }
    this.health.deadLettered += letters.length;
    this.health.lastDeadLetterAt = this.#now();
    this.#o.log.error("events parked in the dead-letter file; the stream moves on", fields);
  }

  async #persist(replayId: ReplayIdBase64): Promise<void> {
    try {
      await this.#o.store.save(this.#o.channel, replayId);
      this.#stored = replayId;
    } catch (err) {
      // The Worker has the events; only the bookmark is missing, which at worst means redelivery after a restart.
      this.health.lastError = `replay store write failed: ${String(err)}`;
      this.#o.log.error("could not store the replay id; events may be delivered again after a restart", {
        channel: this.#o.channel,
        error: String(err),
      });
    }
  }

  #syncHealth(): void {
    this.health.backlog = this.#buffer.length;
    this.health.outstanding = this.#outstanding;
    this.health.catchupPending = [...this.#catchup];
  }
}

/** The counts the Worker answers a relay request with (webhook-salesforce.ts), as far as they are there. */
function workerSummary(summary: unknown): { rejected?: number } {
  if (summary === null || typeof summary !== "object") return {};
  const rejected = (summary as Record<string, unknown>)["rejected"];
  return typeof rejected === "number" ? { rejected } : {};
}
