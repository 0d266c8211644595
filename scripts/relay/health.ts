import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** What one channel reports about itself; updated in place by its pipeline. */
export interface ChannelHealth {
  channel: string;
  connected: boolean;
  /** Since when the subscription has been down (ms epoch); undefined while connected. */
  disconnectedSince: number | undefined;
  lastEventAt: number | undefined;
  lastDeliveredAt: number | undefined;
  lastDeliveredReplayId: number | string | undefined;
  /** Events received from Salesforce and not yet acknowledged by the Worker. */
  backlog: number;
  /** Events asked of Salesforce and not yet received. */
  outstanding: number;
  catchupPending: string[];
  /** Failed POSTs in a row, and since when; reset by a 2xx. */
  deliveryFailures: number;
  failingSince: number | undefined;
  lastError: string | undefined;
  /** Events parked in the dead-letter file since the relay started, and when the last one was. */
  deadLettered: number;
  lastDeadLetterAt: number | undefined;
}

export function newChannelHealth(channel: string, now: number): ChannelHealth {
  return {
    channel,
    connected: false,
    disconnectedSince: now,
    lastEventAt: undefined,
    lastDeliveredAt: undefined,
    lastDeliveredReplayId: undefined,
    backlog: 0,
    outstanding: 0,
    catchupPending: [],
    deliveryFailures: 0,
    failingSince: undefined,
    lastError: undefined,
    deadLettered: 0,
    lastDeadLetterAt: undefined,
  };
}

export interface HealthReport {
  status: "ok" | "stalled";
  httpStatus: 200 | 503;
  body: Record<string, unknown>;
}

/**
 * "stalled" when, for longer than `stallAfterMs`, a channel has been unable to deliver to the Worker
 * or has had no subscription: the two conditions an operator must look at. A quiet org with nothing to
 * relay is healthy.
 */
export function healthReport(channels: readonly ChannelHealth[], now: number, stallAfterMs: number): HealthReport {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  let stalled = false;
  const reports = channels.map((channel) => {
    const deliveryStalled = channel.failingSince !== undefined && now - channel.failingSince >= stallAfterMs;
    const subscriptionStalled =
      channel.disconnectedSince !== undefined && now - channel.disconnectedSince >= stallAfterMs;
    if (deliveryStalled || subscriptionStalled) stalled = true;
    return {
      channel: channel.channel,
      status: deliveryStalled || subscriptionStalled ? "stalled" : "ok",
      connected: channel.connected,
      last_event_at: iso(channel.lastEventAt),
      last_delivered_at: iso(channel.lastDeliveredAt),
      last_delivered_replay_id: channel.lastDeliveredReplayId ?? null,
      backlog: channel.backlog,
      outstanding: channel.outstanding,
      catchup_pending: channel.catchupPending,
      delivery_failures: channel.deliveryFailures,
      dead_lettered: channel.deadLettered,
      last_dead_letter_at: iso(channel.lastDeadLetterAt),
      last_error: channel.lastError ?? null,
    };
  });
  const lastEvent = Math.max(...channels.map((c) => c.lastEventAt ?? 0));
  const lastDelivered = Math.max(...channels.map((c) => c.lastDeliveredAt ?? 0));
  return {
    status: stalled ? "stalled" : "ok",
    httpStatus: stalled ? 503 : 200,
    body: {
      status: stalled ? "stalled" : "ok",
      last_event_at: lastEvent > 0 ? iso(lastEvent) : null,
      last_delivered_at: lastDelivered > 0 ? iso(lastDelivered) : null,
      backlog: channels.reduce((sum, c) => sum + c.backlog, 0),
      /** Events given up since the relay started (see the dead-letter file): each is an error to look at. */
      dead_lettered: channels.reduce((sum, c) => sum + c.deadLettered, 0),
      channels: reports,
    },
  };
}

/** GET /healthz (and /) answers the report as JSON; anything else is 404. */
export async function startHealthServer(options: {
  host: string;
  port: number;
  report: () => HealthReport;
}): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" || (path !== "/healthz" && path !== "/")) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
      return;
    }
    const report = options.report();
    res.writeHead(report.httpStatus, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(report.body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
