import { createHmac } from "node:crypto";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { sqliteFiles } from "../../../scripts/chaos/d1-window.ts";
import { SANDBOX_RELAY_SECRET, type Stack } from "../../../scripts/sandbox/stack.ts";

/** POSTs JSON to an emulator's control API and returns the JSON answer. */
export async function control<T = Record<string, unknown>>(baseUrl: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${baseUrl}/__control/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as T;
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

export async function state<T = Record<string, unknown>>(baseUrl: string): Promise<T> {
  const response = await fetch(`${baseUrl}/__control/state`);
  return (await response.json()) as T;
}

/** Polls `check` every 100 ms until it returns a value, for at most `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ""}`);
}

export type SfRecord = Record<string, unknown> & { Id: string };
export interface AttioRecordJson {
  id: { record_id: string };
  values: Record<string, Record<string, unknown>[]>;
}

export async function salesforceRecords(stack: Stack, object: string): Promise<SfRecord[]> {
  const dump = await state<{ records: Record<string, SfRecord[]> }>(stack.salesforce.url);
  return (dump.records[object] ?? []).filter((r) => r["IsDeleted"] !== true);
}

export async function attioRecords(stack: Stack, object: string): Promise<AttioRecordJson[]> {
  const dump = await state<{ records: Record<string, AttioRecordJson[]> }>(stack.attio.url);
  return dump.records[object] ?? [];
}

/** The management API of the Worker. */
export async function api<T>(stack: Stack, path: string): Promise<T> {
  const response = await fetch(`${stack.workerUrl}/api/v1${path}`, {
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  return (await response.json()) as T;
}

// ---------------------------------------------------------------------------------------------
// Holding deliveries back, so that edits on both sides land before the Worker hears of either.
// ---------------------------------------------------------------------------------------------

interface Delivery {
  id: string;
  body: string;
  state: string;
}

/**
 * Stops both emulators from notifying the Worker: Attio drops its webhook deliveries (kept in its
 * delivery log) and Salesforce publishes change events without relaying them. `release` restores
 * both and delivers what was held, signed as the emulators sign, so the Worker receives genuine
 * deliveries, only later. Edits made in between look "simultaneous" to the Worker.
 */
export async function holdDeliveries(stack: Stack): Promise<{ release(): Promise<void>; discard(): Promise<void> }> {
  const before = await fetchJson<{ deliveries: Delivery[] }>(`${stack.attio.url}/__control/deliveries`);
  const seen = new Set(before.deliveries.map((d) => d.id));
  const events = await fetchJson<{ events: { event: { replayId: number } }[] }>(
    `${stack.salesforce.url}/__control/events?after=0`,
  );
  const lastReplayId = events.events.at(-1)?.event.replayId ?? 0;
  await put(stack.attio.url, "faults", { dropRate: 1 });
  await put(stack.salesforce.url, "config", { relay: null });
  const restore = async () => {
    // The system follow-up of an Attio edit comes a second later: it is held back too.
    await fetch(`${stack.attio.url}/__control/idle`, { method: "POST" });
    await put(stack.attio.url, "faults", {});
    await put(stack.salesforce.url, "config", {
      relay: { url: `${stack.workerUrl}/webhooks/salesforce`, secret: SANDBOX_RELAY_SECRET },
    });
  };
  return {
    /** Restores deliveries without delivering what was held: the Worker never hears of those edits. */
    discard: restore,
    async release() {
      await restore();
      const held = (
        await fetchJson<{ deliveries: Delivery[] }>(`${stack.attio.url}/__control/deliveries`)
      ).deliveries.filter((d) => !seen.has(d.id) && d.state === "dropped");
      const { webhooks } = await state<{ webhooks: { secret: string }[] }>(stack.attio.url);
      const secret = webhooks[0]?.secret ?? "";
      for (const delivery of held) {
        const signature = createHmac("sha256", secret).update(delivery.body, "utf8").digest("hex");
        const response = await fetch(`${stack.workerUrl}/webhooks/attio`, {
          method: "POST",
          headers: { "content-type": "application/json", "attio-signature": signature, "idempotency-key": delivery.id },
          body: delivery.body,
        });
        if (!response.ok) throw new Error(`held Attio delivery refused: ${response.status}`);
      }
      const sfEvents = (
        await fetchJson<{ events: unknown[] }>(`${stack.salesforce.url}/__control/events?after=${lastReplayId}`)
      ).events;
      if (sfEvents.length > 0) await relayEvents(stack, sfEvents);
    },
  };
}

/** POSTs change events to the Worker as the CDC relay does (signed with the relay secret). */
export async function relayEvents(stack: Stack, events: unknown[]): Promise<void> {
  const body = JSON.stringify({ events });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac("sha256", SANDBOX_RELAY_SECRET).update(`${timestamp}.${body}`, "utf8").digest("hex");
  const response = await fetch(`${stack.workerUrl}/webhooks/salesforce`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-relay-timestamp": timestamp,
      "x-relay-signature": `v1=${signature}`,
    },
    body,
  });
  if (!response.ok) throw new Error(`relayed events refused: ${response.status} ${await response.text()}`);
}

export async function put(baseUrl: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${baseUrl}/__control/${path}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`);
}

async function fetchJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return (await response.json()) as T;
}

/**
 * Lets the echoes of the Worker's own writes (change events, webhooks, Attio's system follow-ups)
 * reach it and be processed, so that no stale event is read between the steps of a test.
 */
export async function settle(stack: Stack): Promise<void> {
  await idle(stack);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await idle(stack);
}

/** Waits until both emulators have no delivery in flight. */
export async function idle(stack: Stack): Promise<void> {
  await Promise.all([
    fetch(`${stack.attio.url}/__control/idle`, { method: "POST" }),
    fetch(`${stack.salesforce.url}/__control/idle`, { method: "POST" }),
  ]);
}

// ---------------------------------------------------------------------------------------------
// The Worker's local D1 database, read (and, for config, written) from the test process.
// ---------------------------------------------------------------------------------------------

/** The Worker's D1 database under wrangler dev (a SQLite file in the stack's state directory). */
export async function workerDb(stack: Stack): Promise<DatabaseSync> {
  const cached = dbs.get(stack);
  if (cached) return cached;
  for (const file of await sqliteFiles(join(stack.stateDir, "v3", "d1"))) {
    const db = new DatabaseSync(file);
    // The Worker writes to this file too: a statement waits for its lock (briefly held, never
    // across a network call) instead of failing with "database is locked" as one CI run did.
    db.exec("PRAGMA busy_timeout = 5000");
    try {
      db.prepare("select 1 from id_mappings limit 1").get();
      dbs.set(stack, db);
      return db;
    } catch {
      // another miniflare store, or not migrated yet
    }
    db.close();
  }
  throw new Error(`workerDb: no migrated D1 database under ${stack.stateDir}`);
}

const dbs = new Map<Stack, DatabaseSync>();

export function closeWorkerDb(stack: Stack): void {
  dbs.get(stack)?.close();
  dbs.delete(stack);
}

export function rows<T = Record<string, unknown>>(db: DatabaseSync, sql: string, ...params: string[]): T[] {
  return db.prepare(sql).all(...params) as T[];
}

/** The pair of an Attio record, if linked. */
export function pairOf(db: DatabaseSync, attioRecordId: string): { id: string; sf_record_id: string } | undefined {
  return rows<{ id: string; sf_record_id: string }>(
    db,
    "select id, sf_record_id from id_mappings where attio_record_id = ?",
    attioRecordId,
  )[0];
}
