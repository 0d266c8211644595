import { readFileSync } from "node:fs";
import grpc from "@grpc/grpc-js";
import {
  type AvroType,
  encodeAvro,
  parseAvroSchema,
  recordFields,
  type SchemaField,
} from "../../../../scripts/relay/avro.ts";
import { encodeFieldBitmaps } from "../../../../scripts/relay/field-bitmap.ts";
import { pubSubClientConstructor } from "../../../../scripts/relay/pubsub-source.ts";
import { replayIdFromNumber } from "../../../../scripts/relay/replay-id.ts";

export const SCHEMA_ID = "Qw3rTy-AccountCE-v1";
const schemaJson = readFileSync(
  new URL("../../../../fixtures/relay/account-change-event.avsc.json", import.meta.url),
  "utf8",
);

interface StoredEvent {
  replayId: number;
  payload: Buffer;
}

interface Stream {
  topic: string;
  call: grpc.ServerDuplexStream<FetchRequest, unknown>;
  position: number;
  credits: number;
  /** Events sent on this stream (for flow-control assertions). */
  sent: number;
  requests: number[];
}

interface FetchRequest {
  topic_name: string;
  replay_preset: "LATEST" | "EARLIEST" | "CUSTOM";
  replay_id: Buffer;
  num_requested: number;
}

/**
 * A local stand-in for Salesforce's Pub/Sub API, speaking real gRPC with real Avro payloads: it
 * implements Subscribe (replay presets, num_requested credits, the replay-id error Salesforce sends
 * for an id outside retention, UNAUTHENTICATED for an unknown token) and GetSchema. Listens on
 * 127.0.0.1 only.
 */
export class FakePubSub {
  readonly type: AvroType = parseAvroSchema(schemaJson);
  readonly fields: SchemaField[] = recordFields(this.type);
  readonly events = new Map<string, StoredEvent[]>();
  readonly streams: Stream[] = [];
  /** Replay ids at or below this are "purged": resuming after one is refused like an expired id. */
  retainedAfter = 0;
  validTokens = new Set<string>();
  readonly seenTokens: string[] = [];
  /** Most events sent in one FetchResponse, so batches of several events per response are exercised. */
  eventsPerResponse = 3;
  #nextReplayId = 1000;
  #server = new grpc.Server();
  port = 0;

  async start(): Promise<string> {
    const Client = pubSubClientConstructor() as unknown as { service: grpc.ServiceDefinition };
    this.#server.addService(Client.service, {
      Subscribe: (call: grpc.ServerDuplexStream<FetchRequest, unknown>) => this.#subscribe(call),
      GetSchema: (
        call: grpc.ServerUnaryCall<{ schema_id: string }, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        if (!this.#authorised(call.metadata))
          return callback({ code: grpc.status.UNAUTHENTICATED, details: "bad token" });
        if (call.request.schema_id !== SCHEMA_ID)
          return callback({ code: grpc.status.NOT_FOUND, details: "no such schema" });
        callback(null, { schema_json: schemaJson, schema_id: SCHEMA_ID, rpc_id: "rpc-schema" });
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.#server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    return `127.0.0.1:${this.port}`;
  }

  stop(): void {
    this.#server.forceShutdown();
  }

  /** Publishes a change event given in decoded form (field names); the header's name lists become bitmaps. */
  publish(topic: string, payload: Record<string, unknown>): number {
    const header = payload["ChangeEventHeader"] as Record<string, unknown>;
    const wireHeader = { ...header };
    for (const key of ["changedFields", "nulledFields", "diffFields"]) {
      wireHeader[key] = encodeFieldBitmaps(this.fields, (header[key] as string[] | undefined) ?? []);
    }
    const replayId = this.#nextReplayId++;
    const list = this.events.get(topic) ?? [];
    list.push({ replayId, payload: encodeAvro(this.type, { ...payload, ChangeEventHeader: wireHeader }) });
    this.events.set(topic, list);
    for (const stream of this.streams) if (stream.topic === topic) this.#pump(stream);
    return replayId;
  }

  /** Sends the empty FetchResponse Salesforce sends when it has nothing to deliver. */
  keepalive(): void {
    for (const stream of this.streams) {
      const list = this.events.get(stream.topic) ?? [];
      const latest = list.at(-1)?.replayId ?? this.#nextReplayId - 1;
      stream.call.write({
        events: [],
        latest_replay_id: replayIdFromNumber(latest),
        rpc_id: "rpc-keepalive",
        pending_num_requested: stream.credits,
      });
    }
  }

  /** Ends every open stream the way Salesforce does when a token expires mid-stream. */
  expireTokens(): void {
    this.validTokens.clear();
    for (const stream of [...this.streams]) {
      const metadata = new grpc.Metadata();
      metadata.set("error-code", "sfdc.platform.eventbus.grpc.service.auth.error");
      stream.call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: "token expired", metadata });
      this.#forget(stream);
    }
  }

  #authorised(metadata: grpc.Metadata): boolean {
    const token = String(metadata.get("accesstoken")[0] ?? "");
    this.seenTokens.push(token);
    return (
      this.validTokens.has(token) && metadata.get("instanceurl").length === 1 && metadata.get("tenantid").length === 1
    );
  }

  #subscribe(call: grpc.ServerDuplexStream<FetchRequest, unknown>): void {
    let stream: Stream | undefined;
    const authorised = this.#authorised(call.metadata);
    call.on("data", (request: FetchRequest) => {
      if (!stream) {
        if (!authorised) {
          const metadata = new grpc.Metadata();
          metadata.set("error-code", "sfdc.platform.eventbus.grpc.service.auth.error");
          call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: "auth error", metadata });
          return;
        }
        const list = this.events.get(request.topic_name) ?? [];
        let position = list.length;
        if (request.replay_preset === "EARLIEST") position = list.findIndex((e) => e.replayId > this.retainedAfter);
        if (request.replay_preset === "CUSTOM") {
          const after = Number(Buffer.from(request.replay_id).readBigUInt64BE());
          const index = list.findIndex((e) => e.replayId === after);
          if (index < 0 || after <= this.retainedAfter) {
            const metadata = new grpc.Metadata();
            metadata.set("error-code", "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted");
            call.emit("error", {
              code: grpc.status.INVALID_ARGUMENT,
              details: `Replay ID validation failed. rpcId: x`,
              metadata,
            });
            return;
          }
          position = index + 1;
        }
        stream = { topic: request.topic_name, call, position, credits: 0, sent: 0, requests: [] };
        this.streams.push(stream);
        call.on("cancelled", () => this.#forget(stream));
        call.on("end", () => this.#forget(stream));
      }
      stream.requests.push(request.num_requested);
      stream.credits += request.num_requested;
      this.#pump(stream);
    });
    call.on("error", () => this.#forget(stream));
  }

  #forget(stream: Stream | undefined): void {
    const index = stream ? this.streams.indexOf(stream) : -1;
    if (index >= 0) this.streams.splice(index, 1);
  }

  #pump(stream: Stream): void {
    const list = this.events.get(stream.topic) ?? [];
    while (stream.credits > 0 && stream.position < list.length) {
      const chunk = list.slice(stream.position, stream.position + Math.min(stream.credits, this.eventsPerResponse));
      stream.position += chunk.length;
      stream.credits -= chunk.length;
      stream.sent += chunk.length;
      stream.call.write({
        events: chunk.map((e) => ({
          event: { id: `evt-${e.replayId}`, schema_id: SCHEMA_ID, payload: e.payload, headers: [] },
          replay_id: replayIdFromNumber(e.replayId),
        })),
        latest_replay_id: replayIdFromNumber(list.at(-1)?.replayId ?? 0),
        rpc_id: "rpc-fetch",
        pending_num_requested: stream.credits,
      });
    }
  }
}
