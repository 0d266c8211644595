import type { EnvConfig } from "../config/env.ts";
import { hmacSha256Hex } from "../lib/hmac.ts";
import {
  claimPost,
  dueAlerts,
  forgetAlert,
  forgetUnsentCleared,
  openAlerts,
  recordCleared,
  recordOpened,
  releaseClaim,
} from "../store/alerts.ts";
import { alertBody, diffProblems, signedPayload } from "../sync/alerts.ts";
import type { SyncDeps } from "../sync/deps.ts";
import { problemsOf } from "../sync/health.ts";
import type { HealthReadings } from "../sync/health-facts.ts";

/** Headers of an alert post (docs/OPERATIONS.md "Alerts" shows how to verify them). */
export const TIMESTAMP_HEADER = "X-Attio-Sfdc-Timestamp";
export const SIGNATURE_HEADER = "X-Attio-Sfdc-Signature";

/** Longest wait for the alert endpoint: a hung one must not hold the cron. */
const POST_TIMEOUT_MS = 10_000;

export type AlertsReport =
  | { kind: "off" }
  | { kind: "skipped"; reason: string }
  | { kind: "done"; opened: number; cleared: number; posted: number; failed: number };

/**
 * The cron's alerts, when ALERT_WEBHOOK_URL is set: the problems of /api/v1/status are read as the
 * route reads them, compared with the open alerts stored in D1 (sync/alerts.ts diffProblems), and
 * each opening and clearing is posted once, signed. A post that fails stays due and is tried again
 * by the next run; one that succeeded is never posted again.
 */
export async function runAlerts(
  deps: SyncDeps,
  config: EnvConfig,
  readings: HealthReadings,
  now: Date,
): Promise<AlertsReport> {
  const url = config.ALERT_WEBHOOK_URL;
  const secret = config.ALERT_WEBHOOK_SECRET;
  if (!url || !secret) return { kind: "off" };
  // Without D1 there is nowhere to remember what was posted: posting would repeat each run.
  if (!readings.d1.ok) return { kind: "skipped", reason: `D1 does not answer: ${readings.d1.error ?? ""}` };
  const { opened, cleared } = diffProblems(await openAlerts(deps.db), problemsOf(readings.facts), now);
  await recordOpened(deps.db, opened);
  await recordCleared(
    deps.db,
    cleared.map((alert) => alert.key),
    now.toISOString(),
  );
  await forgetUnsentCleared(deps.db);
  let posted = 0;
  let failed = 0;
  for (const row of await dueAlerts(deps.db)) {
    const state = row.clearedAt ? "cleared" : "opened";
    if (!(await claimPost(deps.db, row.key, state, now.toISOString()))) continue;
    const body = JSON.stringify(alertBody(row, state, row.clearedAt ?? undefined));
    const error = await post(url, secret, body, now);
    if (error) {
      failed += 1;
      await releaseClaim(deps.db, row.key, state);
      // The URL may hold a token (Slack's does): only its host is logged.
      deps.log.warn("alert not posted; the next run tries again", { code: row.code, host: new URL(url).host, error });
      continue;
    }
    posted += 1;
    if (state === "cleared") await forgetAlert(deps.db, row.key);
  }
  return { kind: "done", opened: opened.length, cleared: cleared.length, posted, failed };
}

/** Posts one signed alert; the error as text, or undefined once the endpoint answered 2xx. */
async function post(url: string, secret: string, body: string, now: Date): Promise<string | undefined> {
  const timestamp = Math.floor(now.getTime() / 1000);
  const signature = await hmacSha256Hex(secret, signedPayload(timestamp, body));
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: `sha256=${signature}`,
      },
      body,
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.ok ? undefined : `HTTP ${response.status}`;
  } catch (thrown) {
    return (thrown as Error).message;
  }
}
