import { fileURLToPath } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import { SyncError } from "../../src/lib/errors.ts";
import { type AvroType, decodeAvro, parseAvroSchema, recordFields, type SchemaField } from "./avro.ts";
import type { PubSubChangeEvent } from "./convert.ts";
import { decodeFieldBitmaps } from "./field-bitmap.ts";
import { replayIdForDisplay } from "./replay-id.ts";
import type { PubSubCredentials, TokenProvider } from "./salesforce-token.ts";

/** Where a subscription starts: at the tip of the stream, or right after a stored replay id. */
export type StartPosition = { kind: "latest" } | { kind: "after"; replayId: Buffer };

export interface SourceEvent {
  /** The replay id exactly as Salesforce sent it. */
  replayId: Buffer;
  event: PubSubChangeEvent;
}

export type SourceMessage =
  | { kind: "events"; events: SourceEvent[] }
  /** An empty FetchResponse: Salesforce has nothing more for us right now, and says where the tip is. */
  | { kind: "keepalive"; latestReplayId: Buffer };

/** One open Subscribe stream. Events arrive only as far as they were asked for with `request`. */
export interface Subscription {
  messages: AsyncIterable<SourceMessage>;
  request(count: number): void;
  close(): void;
}

/** Everything the relay needs from Salesforce's event bus; the Pub/Sub gRPC client is the real one. */
export interface ChangeEventSource {
  open(channel: string, start: StartPosition, initialRequest: number): Promise<Subscription>;
  /** Called after Salesforce rejected the access token, so the next open() gets a fresh one. */
  invalidateCredentials?(): void;
  close(): void;
}

export type SubscriptionFailure = "replay_id_invalid" | "unauthenticated" | "stream_failed" | "decode_failed";

/** A subscription ended with an error; `reason` decides what the relay does next. */
export class SubscriptionError extends SyncError {
  readonly reason: SubscriptionFailure;
  constructor(
    reason: SubscriptionFailure,
    message: string,
    options: { cause?: unknown; detail?: Record<string, unknown> } = {},
  ) {
    super(reason === "unauthenticated" ? "auth_failed" : "upstream_unavailable", message, {
      ...options,
      retryable: true,
    });
    this.name = "SubscriptionError";
    this.reason = reason;
  }
}

interface FetchRequest {
  topic_name: string;
  replay_preset?: "LATEST" | "EARLIEST" | "CUSTOM";
  replay_id?: Buffer;
  num_requested: number;
}

interface FetchResponse {
  events: { event: { id: string; schema_id: string; payload: Buffer } | null; replay_id: Buffer }[];
  latest_replay_id: Buffer;
  rpc_id: string;
  pending_num_requested: number;
}

interface PubSubClient extends grpc.Client {
  Subscribe(metadata: grpc.Metadata): grpc.ClientDuplexStream<FetchRequest, FetchResponse>;
  GetSchema(
    request: { schema_id: string },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, response?: { schema_json: string; schema_id: string }) => void,
  ): grpc.ClientUnaryCall;
}

type PubSubClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => PubSubClient;

let cachedConstructor: PubSubClientConstructor | undefined;

/** The generated client class for eventbus.v1.PubSub, from the relay's copy of the service definition. */
export function pubSubClientConstructor(): PubSubClientConstructor {
  if (cachedConstructor) return cachedConstructor;
  const definition = protoLoader.loadSync(fileURLToPath(new URL("./pubsub.proto", import.meta.url)), {
    keepCase: true,
    enums: String,
    longs: String,
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    eventbus: { v1: { PubSub: PubSubClientConstructor } };
  };
  cachedConstructor = loaded.eventbus.v1.PubSub;
  return cachedConstructor;
}

export interface PubSubSourceOptions {
  /** host:port, e.g. api.pubsub.salesforce.com:7443 */
  endpoint: string;
  /** TLS with the system's root certificates for Salesforce; plaintext only for a local fake server. */
  tls: boolean;
  tokens: TokenProvider;
  schemaTimeoutMs?: number;
}

/**
 * The Salesforce Pub/Sub API over @grpc/grpc-js: Subscribe (bidirectional stream, pull-based flow
 * control with num_requested) and GetSchema (Avro schema by id, cached). FetchResponses are decoded
 * strictly one after the other, so events reach the relay in stream order, which is what makes
 * "store the replay id of the last delivered event" safe.
 */
export function createPubSubSource(options: PubSubSourceOptions): ChangeEventSource {
  const Client = pubSubClientConstructor();
  const client = new Client(
    options.endpoint,
    options.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(),
    // A FetchResponse can carry many events of up to 1 MB each; gRPC's default 4 MB limit is too small.
    { "grpc.max_receive_message_length": 128 * 1024 * 1024 },
  );
  const schemas = new Map<string, Promise<{ type: AvroType; fields: SchemaField[] }>>();
  const schemaTimeoutMs = options.schemaTimeoutMs ?? 30_000;

  function metadataFor(credentials: PubSubCredentials): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set("accesstoken", credentials.accessToken);
    metadata.set("instanceurl", credentials.instanceUrl);
    metadata.set("tenantid", credentials.tenantId);
    return metadata;
  }

  function schemaFor(schemaId: string, credentials: PubSubCredentials) {
    let schema = schemas.get(schemaId);
    if (!schema) {
      schema = new Promise((resolve, reject) => {
        client.GetSchema(
          { schema_id: schemaId },
          metadataFor(credentials),
          { deadline: Date.now() + schemaTimeoutMs },
          (err, response) => {
            if (err || !response) return reject(classifyGrpcError(err, `GetSchema ${schemaId} failed`));
            try {
              const type = parseAvroSchema(response.schema_json);
              resolve({ type, fields: recordFields(type) });
            } catch (parseErr) {
              reject(
                new SubscriptionError("decode_failed", `schema ${schemaId} is not a usable Avro record schema`, {
                  cause: parseErr,
                }),
              );
            }
          },
        );
      });
      // A failed lookup must not poison the cache: the next attempt asks again.
      schema.catch(() => schemas.delete(schemaId));
      schemas.set(schemaId, schema);
    }
    return schema;
  }

  async function decodeEvent(
    channel: string,
    consumerEvent: FetchResponse["events"][number],
    credentials: PubSubCredentials,
  ): Promise<SourceEvent> {
    const replayDisplay = replayIdForDisplay(consumerEvent.replay_id);
    const producerEvent = consumerEvent.event;
    if (!producerEvent)
      throw new SubscriptionError("decode_failed", `event ${replayDisplay} on ${channel} has no body`);
    const { type, fields } = await schemaFor(producerEvent.schema_id, credentials);
    try {
      const payload = decodeAvro(type, producerEvent.payload);
      const header = payload["ChangeEventHeader"] as Record<string, unknown> | undefined;
      if (header) {
        for (const key of ["changedFields", "nulledFields", "diffFields"] as const) {
          const bitmaps = header[key];
          if (Array.isArray(bitmaps)) header[key] = decodeFieldBitmaps(fields, bitmaps as string[]);
        }
      }
      return {
        replayId: Buffer.from(consumerEvent.replay_id),
        event: { channel, schemaId: producerEvent.schema_id, replayId: replayDisplay, payload },
      };
    } catch (err) {
      throw new SubscriptionError("decode_failed", `event ${replayDisplay} on ${channel} could not be decoded`, {
        cause: err,
      });
    }
  }

  return {
    async open(channel, start, initialRequest) {
      let credentials: PubSubCredentials;
      try {
        credentials = await options.tokens.get();
      } catch (err) {
        throw err instanceof SyncError && !err.retryable
          ? err
          : new SubscriptionError(
              "unauthenticated",
              `could not obtain a Salesforce access token: ${err instanceof Error ? err.message : String(err)}`,
              { cause: err },
            );
      }
      const call = client.Subscribe(metadataFor(credentials));
      // Without a listener an early stream error would be an unhandled 'error' event; the iterator rethrows it.
      call.on("error", () => {});
      const first: FetchRequest = { topic_name: channel, num_requested: initialRequest };
      if (start.kind === "after") {
        first.replay_preset = "CUSTOM";
        first.replay_id = start.replayId;
      } else {
        first.replay_preset = "LATEST";
      }
      call.write(first);

      async function* messages(): AsyncGenerator<SourceMessage> {
        try {
          for await (const response of call as AsyncIterable<FetchResponse>) {
            if (response.events.length === 0) {
              yield { kind: "keepalive", latestReplayId: Buffer.from(response.latest_replay_id) };
              continue;
            }
            const events: SourceEvent[] = [];
            for (const consumerEvent of response.events)
              events.push(await decodeEvent(channel, consumerEvent, credentials));
            yield { kind: "events", events };
          }
        } catch (err) {
          call.cancel();
          throw err instanceof SubscriptionError ? err : classifyGrpcError(err, `subscription to ${channel} failed`);
        }
      }

      return {
        messages: messages(),
        request(count) {
          if (count > 0) call.write({ topic_name: channel, num_requested: count });
        },
        close() {
          call.cancel();
        },
      };
    },
    invalidateCredentials() {
      options.tokens.invalidate();
    },
    close() {
      client.close();
    },
  };
}

/**
 * Salesforce puts its own error code in the `error-code` trailer. An expired or unknown replay id is
 * INVALID_ARGUMENT with `sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted` (or
 * `...replayid.validation.failed`); an expired token is UNAUTHENTICATED.
 */
export function classifyGrpcError(err: unknown, context: string): SubscriptionError {
  const status = err as Partial<grpc.ServiceError> | null;
  const code = typeof status?.code === "number" ? status.code : undefined;
  const sfCode = status?.metadata instanceof grpc.Metadata ? String(status.metadata.get("error-code")[0] ?? "") : "";
  const details = typeof status?.details === "string" ? status.details : String(err);
  const detail = {
    grpcCode: code === undefined ? undefined : grpc.status[code],
    errorCode: sfCode || undefined,
    details,
  };
  if (sfCode.includes("replayid") || (code === grpc.status.INVALID_ARGUMENT && /replay/i.test(details))) {
    return new SubscriptionError("replay_id_invalid", `${context}: Salesforce no longer accepts the stored replay id`, {
      cause: err,
      detail,
    });
  }
  if (code === grpc.status.UNAUTHENTICATED || sfCode.includes("auth")) {
    return new SubscriptionError("unauthenticated", `${context}: Salesforce rejected the access token`, {
      cause: err,
      detail,
    });
  }
  return new SubscriptionError("stream_failed", `${context}: ${details}`, { cause: err, detail });
}
