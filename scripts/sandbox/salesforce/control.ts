import { z } from "zod";
import { SeedRequestSchema, seedDataset } from "../shared/dataset.ts";
import type { Deliverer } from "../shared/delivery.ts";
import type { Faults } from "../shared/faults.ts";
import type { EmulatorReply, EmulatorRequest } from "../shared/http.ts";
import { parseJson } from "../shared/http.ts";
import type { ChangeDataCapture } from "./cdc.ts";
import { serialize } from "./routes.ts";
import { seedSalesforce } from "./seed.ts";
import type { Change, SalesforceStore, WriteContext } from "./store.ts";

/** What a change made in Lightning Experience reports as its origin. */
export const UI_ORIGIN = "com/salesforce/api/soap/62.0;client=SfdcInternalAPI/";

/** The part of the emulator (`SalesforceEmulator`) that the control routes read and drive. */
export interface SalesforceControlled {
  readonly seed: number;
  readonly orgId: string;
  readonly clientId: string;
  readonly store: SalesforceStore;
  readonly cdc: ChangeDataCapture;
  readonly deliverer: Deliverer;
  readonly faults: Faults;
  /** Reported as they are by `GET /__control/stats`. */
  readonly stats: object;
  dailyApiLimit: number;
  apiUsage: number;
  tokenTtlMs: number;
  reset(seed: number, options: { keepMetadata: boolean }): void;
  publish(changes: Change[], commitUser: string, changeOrigin: string): void;
  expireTokens(): void;
  idle(): Promise<void>;
}

const EditSchema = z.object({
  object: z.string(),
  id: z.string().optional(),
  fields: z.record(z.string(), z.unknown()),
  /** Index into the org's human users; the edit is theirs. */
  user: z.number().int().min(0).default(0),
});
const MergeSchema = z.object({
  object: z.enum(["Account", "Contact"]),
  master_id: z.string(),
  loser_ids: z.array(z.string()).min(1).max(2),
  /** Values the user picked from the losers for the master (optional). */
  fields: z.record(z.string(), z.unknown()).default({}),
  user: z.number().int().min(0).default(0),
});
const DeleteSchema = z.object({ id: z.string(), user: z.number().int().min(0).default(0) });
const ConfigSchema = z.object({
  daily_api_limit: z.number().int().min(0).optional(),
  api_usage: z.number().int().min(0).optional(),
  token_ttl_ms: z.number().int().min(0).optional(),
  relay: z
    .object({ url: z.url(), secret: z.string().min(1) })
    .nullable()
    .optional(),
  retry_base_ms: z.number().int().min(0).max(600_000).optional(),
  max_attempts: z.number().int().min(1).max(20).optional(),
});

/** `/__control/*`: hooks for tests and demos. Edits here are attributed to a person using the UI. */
export async function handleSalesforceControl(
  emulator: SalesforceControlled,
  request: EmulatorRequest,
): Promise<EmulatorReply> {
  const route = `${request.method} ${request.path.replace(/\/+$/, "")}`;
  const body = parseJson(request.rawBody) ?? {};
  switch (route) {
    case "POST /__control/reset": {
      const input = z
        .object({ seed: z.number().int().optional(), reset_metadata: z.boolean().default(false) })
        .parse(body);
      emulator.reset(input.seed ?? emulator.seed, { keepMetadata: !input.reset_metadata });
      return ok({ reset: true, seed: emulator.seed });
    }
    case "POST /__control/seed": {
      const input = SeedRequestSchema.parse(body);
      const dataset = seedDataset(input, emulator.seed, "salesforce");
      const ctx = human(emulator, 0);
      const changes = seedSalesforce(emulator.store, dataset, ctx);
      if (input.notify) emulator.publish(changes, ctx.userId, ctx.changeOrigin);
      return ok({ created: changes.length, counts: emulator.store.counts() });
    }
    case "POST /__control/edit": {
      const input = EditSchema.parse(body);
      const ctx = human(emulator, input.user);
      const prepared = input.id
        ? emulator.store.prepareUpdate(input.object, input.id, input.fields, ctx)
        : emulator.store.prepareCreate(input.object, input.fields, ctx);
      const change = prepared.commit();
      emulator.publish([change], ctx.userId, ctx.changeOrigin);
      const record = emulator.store.get(input.object, prepared.id);
      return ok({ record: serialize(record, { store: emulator.store, version: "62.0" }, null), change });
    }
    case "POST /__control/delete": {
      const input = DeleteSchema.parse(body);
      const ctx = human(emulator, input.user);
      const change = emulator.store.prepareDelete(input.id, ctx).commit();
      emulator.publish([change], ctx.userId, ctx.changeOrigin);
      return ok({ change });
    }
    case "POST /__control/merge": {
      const input = MergeSchema.parse(body);
      const ctx = human(emulator, input.user);
      const changes = emulator.store.merge(input.object, input.master_id, input.loser_ids, input.fields, ctx);
      emulator.publish(changes, ctx.userId, ctx.changeOrigin);
      const master = emulator.store.get(input.object, input.master_id);
      return ok({ master: serialize(master, { store: emulator.store, version: "62.0" }, null), changes });
    }
    case "GET /__control/state": {
      const records = Object.fromEntries(
        emulator.store.schema.objects.map((def) => [
          def.name,
          emulator.store
            .all(def.name, true)
            .map((record) => serialize(record, { store: emulator.store, version: "62.0" }, null)),
        ]),
      );
      return ok({
        org_id: emulator.orgId,
        client_id: emulator.clientId,
        integration_user_id: emulator.store.integrationUserId,
        relay: emulator.cdc.target ? { url: emulator.cdc.target.url } : null,
        counts: emulator.store.counts(),
        records,
      });
    }
    case "GET /__control/stats":
      return ok({
        ...emulator.stats,
        api_usage: emulator.apiUsage,
        daily_api_limit: emulator.dailyApiLimit,
        counts: emulator.store.counts(),
        deliveries: emulator.deliverer.summary(),
        faults: emulator.faults.counts,
      });
    case "GET /__control/events": {
      const after = Number(request.query.get("after") ?? "0");
      return ok({ events: emulator.cdc.since(Number.isFinite(after) ? after : 0).slice(0, 5000) });
    }
    case "GET /__control/deliveries":
      return ok({
        deliveries: request.query.get("all") === "1" ? emulator.deliverer.log : emulator.deliverer.log.slice(-500),
      });
    case "GET /__control/faults":
      return ok(emulator.faults.config);
    case "PUT /__control/faults":
      return ok(emulator.faults.configure(body));
    case "PUT /__control/config": {
      const input = ConfigSchema.parse(body);
      if (input.daily_api_limit !== undefined) emulator.dailyApiLimit = input.daily_api_limit;
      if (input.api_usage !== undefined) emulator.apiUsage = input.api_usage;
      if (input.token_ttl_ms !== undefined) emulator.tokenTtlMs = input.token_ttl_ms;
      if (input.relay !== undefined) emulator.cdc.target = input.relay;
      if (input.retry_base_ms !== undefined) emulator.deliverer.configure({ retryBaseMs: input.retry_base_ms });
      if (input.max_attempts !== undefined) emulator.deliverer.configure({ maxAttempts: input.max_attempts });
      return ok({ configured: true });
    }
    case "POST /__control/expire-tokens":
      emulator.expireTokens();
      return ok({ expired: true });
    case "POST /__control/idle":
      await emulator.idle();
      return ok({ idle: true });
    default:
      return { status: 404, body: { error: `no control route ${route}` } };
  }
}

function human(emulator: SalesforceControlled, index: number): WriteContext {
  const userId = emulator.store.humanUserIds[index];
  if (!userId) throw new Error(`no human user #${index}`);
  return { userId, changeOrigin: UI_ORIGIN };
}

function ok(body: unknown): EmulatorReply {
  return { status: 200, body };
}
