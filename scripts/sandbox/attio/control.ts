import { z } from "zod";
import { SeedRequestSchema, seedDataset } from "../shared/dataset.ts";
import type { Deliverer } from "../shared/delivery.ts";
import type { Faults } from "../shared/faults.ts";
import type { EmulatorReply, EmulatorRequest } from "../shared/http.ts";
import { parseJson } from "../shared/http.ts";
import type { RateLimiter } from "./rate-limit.ts";
import { seedAttio } from "./seed.ts";
import type { Actor, AttioEvent, AttioStore } from "./store.ts";
import type { AttioWebhooks } from "./webhooks.ts";

/** The part of the emulator (`AttioEmulator`) that the control routes read and drive. */
export interface AttioControlled {
  readonly seed: number;
  readonly apiKey: string;
  readonly store: AttioStore;
  readonly webhooks: AttioWebhooks;
  readonly deliverer: Deliverer;
  readonly faults: Faults;
  readonly limiter: RateLimiter;
  readonly mergeLimiter: RateLimiter;
  /** Reported as they are by `GET /__control/stats`. */
  readonly stats: object;
  mergePendingMs: number;
  reset(seed: number, keepWebhooks: boolean): void;
  dispatch(events: AttioEvent[]): void;
  idle(): Promise<void>;
}

const ResetSchema = z.object({ seed: z.number().int().optional(), keep_webhooks: z.boolean().default(true) });
const EditSchema = z.object({
  object: z.string(),
  record_id: z.string().optional(),
  values: z.record(z.string(), z.unknown()),
  /** PATCH semantics (append multiselect) unless "overwrite". */
  mode: z.enum(["append", "overwrite"]).default("append"),
  member_email: z.string().optional(),
  /** Write as Attio's `system` actor, which may also fill enriched attributes (employee_range, ...). */
  as_system: z.boolean().default(false),
});
const DeleteSchema = z.object({ object: z.string(), record_id: z.string(), member_email: z.string().optional() });
const MergeSchema = z.object({
  object: z.string(),
  primary_record_id: z.string(),
  duplicate_record_id: z.string(),
  member_email: z.string().optional(),
});
const ConfigSchema = z.object({
  rate_limits: z
    .object({
      read: z.number().int().min(1),
      write: z.number().int().min(1),
      merge: z.number().int().min(1).optional(),
    })
    .optional(),
  /** > 0: merges answer 202 and the merged record reads as `merge_in_progress` for this many ms. */
  merge_pending_ms: z.number().int().min(0).max(600_000).optional(),
  system_follow_up_ms: z.number().int().min(0).max(60_000).optional(),
  retry_base_ms: z.number().int().min(0).max(600_000).optional(),
  max_attempts: z.number().int().min(1).max(20).optional(),
});

/**
 * `/__control/*`: test and demo hooks that the real Attio does not have. Edits made here are
 * attributed to a workspace member, as if a person had made them in the Attio app.
 */
export async function handleAttioControl(emulator: AttioControlled, request: EmulatorRequest): Promise<EmulatorReply> {
  const route = `${request.method} ${request.path.replace(/\/+$/, "")}`;
  const body = parseJson(request.rawBody) ?? {};
  switch (route) {
    case "POST /__control/reset": {
      const input = ResetSchema.parse(body);
      emulator.reset(input.seed ?? emulator.seed, input.keep_webhooks);
      return ok({ reset: true, seed: emulator.seed });
    }
    case "POST /__control/seed": {
      const input = SeedRequestSchema.parse(body);
      const dataset = seedDataset(input, emulator.seed, "attio");
      const summary = seedAttio(emulator.store, dataset);
      if (input.notify) emulator.dispatch(summary.events);
      return ok({ companies: summary.companies, people: summary.people, deals: summary.deals });
    }
    case "POST /__control/edit": {
      const input = EditSchema.parse(body);
      const actor: Actor = input.as_system ? { type: "system", id: null } : humanActor(emulator, input.member_email);
      const result = input.record_id
        ? emulator.store.update(input.object, input.record_id, input.values, actor, input.mode, input.as_system)
        : emulator.store.create(input.object, input.values, actor, input.as_system);
      emulator.dispatch(result.events);
      const object = emulator.store.object(input.object);
      emulator.webhooks.followUpHumanEdit(result.events, (event) =>
        emulator.store.list(object).some((record) => record.id === event.id.record_id),
      );
      return ok({ data: emulator.store.serialize(object, result.record), events: result.events });
    }
    case "POST /__control/delete": {
      const input = DeleteSchema.parse(body);
      const events = emulator.store.delete(input.object, input.record_id, humanActor(emulator, input.member_email));
      emulator.dispatch(events);
      return ok({ events });
    }
    case "POST /__control/merge": {
      const input = MergeSchema.parse(body);
      const actor = humanActor(emulator, input.member_email);
      const events = emulator.store.merge(input.object, input.primary_record_id, input.duplicate_record_id, actor);
      emulator.dispatch(events);
      return ok({ events });
    }
    case "GET /__control/state": {
      const store = emulator.store;
      const records = Object.fromEntries(
        store.objects.map((object) => [
          object.slug,
          store.list(object).map((record) => store.serialize(object, record)),
        ]),
      );
      return ok({
        workspace: store.workspace,
        api_key: emulator.apiKey,
        token_actor: store.apiActor,
        members: store.members,
        counts: store.count(),
        webhooks: emulator.webhooks.secrets(),
        records,
      });
    }
    case "GET /__control/stats":
      return ok({
        ...emulator.stats,
        counts: emulator.store.count(),
        deliveries: emulator.deliverer.summary(),
        faults: emulator.faults.counts,
      });
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
      if (input.rate_limits) {
        const { read, write, merge } = input.rate_limits;
        emulator.limiter.limits = { read, write };
        if (merge !== undefined) emulator.mergeLimiter.limits = { read: merge, write: merge };
      }
      if (input.merge_pending_ms !== undefined) emulator.mergePendingMs = input.merge_pending_ms;
      if (input.system_follow_up_ms !== undefined)
        emulator.webhooks.configure({ systemFollowUpMs: input.system_follow_up_ms });
      if (input.retry_base_ms !== undefined) emulator.deliverer.configure({ retryBaseMs: input.retry_base_ms });
      if (input.max_attempts !== undefined) emulator.deliverer.configure({ maxAttempts: input.max_attempts });
      return ok({ configured: true });
    }
    case "POST /__control/idle":
      await emulator.idle();
      return ok({ idle: true });
    default:
      return { status: 404, body: { error: `no control route ${route}` } };
  }
}

function humanActor(emulator: AttioControlled, email: string | undefined): Actor {
  const members = emulator.store.members;
  const member = email ? members.find((candidate) => candidate.email === email) : members[0];
  if (!member) throw new Error(`no workspace member ${email ?? ""}`);
  return { type: "workspace-member", id: member.id };
}

function ok(body: unknown): EmulatorReply {
  return { status: 200, body };
}
