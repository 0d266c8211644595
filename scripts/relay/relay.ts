import { createLogger, type Logger } from "../../src/lib/log.ts";
import { entitiesForChannel } from "./catchup.ts";
import { ChannelPipeline } from "./channel-pipeline.ts";
import { isLoopbackEndpoint, type RelayConfig } from "./config.ts";
import { type DeadLetterSink, FileDeadLetters } from "./dead-letters.ts";
import { healthReport, startHealthServer } from "./health.ts";
import { type ChangeEventSource, createPubSubSource } from "./pubsub-source.ts";
import { FileReplayStore, type ReplayStore } from "./replay-store.ts";
import { createTokenProvider } from "./salesforce-token.ts";
import { createWorkerClient, type WorkerClient } from "./worker-client.ts";

/** Parts a caller may swap: another replay store, or (in tests) a different source or Worker client. */
export interface RelayOverrides {
  store?: ReplayStore;
  deadLetters?: DeadLetterSink;
  source?: ChangeEventSource;
  worker?: WorkerClient;
  log?: Logger;
  idleTimeoutMs?: number;
}

export interface RunningRelay {
  pipelines: ChannelPipeline[];
  healthUrl: string;
  /** Settles when the relay stopped; rejects with the error that made it stop on its own. */
  done: Promise<void>;
  stop(drainMs?: number): Promise<void>;
}

/** Wires config to the parts and starts one pipeline per channel plus the health endpoint. */
export async function startRelay(config: RelayConfig, overrides: RelayOverrides = {}): Promise<RunningRelay> {
  const log = overrides.log ?? createLogger(config.logLevel, { component: "relay" });
  const store = overrides.store ?? new FileReplayStore(config.replayStorePath, log);
  const deadLetters = overrides.deadLetters ?? new FileDeadLetters(config.deadLetterPath);
  const source =
    overrides.source ??
    createPubSubSource({
      endpoint: config.salesforce.pubSubEndpoint,
      tls: !isLoopbackEndpoint(config.salesforce.pubSubEndpoint),
      tokens: createTokenProvider(config.salesforce),
    });
  const worker =
    overrides.worker ??
    createWorkerClient({
      workerUrl: config.worker.url,
      secret: config.worker.secret,
      timeoutMs: config.worker.timeoutMs,
    });

  const pipelines = config.channels.map(
    (channel) =>
      new ChannelPipeline({
        channel,
        source,
        store,
        worker,
        log,
        capacity: config.bufferCapacity,
        batch: config.batch,
        retry: config.retry,
        deadLetters,
        maxRejections: config.maxRejections,
        catchupEntities: entitiesForChannel(channel, config.catchupEntities),
        ...(overrides.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: overrides.idleTimeoutMs }),
      }),
  );
  const health = await startHealthServer({
    host: config.health.host,
    port: config.health.port,
    report: () =>
      healthReport(
        pipelines.map((p) => p.health),
        Date.now(),
        config.health.stallAfterMs,
      ),
  });
  log.info("relay started", {
    channels: config.channels,
    worker_url: config.worker.url,
    pubsub_endpoint: config.salesforce.pubSubEndpoint,
    replay_store: store instanceof FileReplayStore ? store.path : "custom",
    dead_letters: deadLetters instanceof FileDeadLetters ? deadLetters.path : "custom",
    health_url: `${health.url}/healthz`,
  });

  let stopping: Promise<void> | undefined;
  const stop = (drainMs = 10_000) => {
    stopping ??= (async () => {
      await Promise.all(pipelines.map((p) => p.stop(drainMs)));
      source.close();
      await health.close();
    })();
    return stopping;
  };
  const done = Promise.all(pipelines.map((p) => p.run())).then(
    () => stop(),
    async (err: unknown) => {
      await stop(0);
      throw err;
    },
  );
  return { pipelines, healthUrl: health.url, done, stop };
}
