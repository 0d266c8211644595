import type { Problem } from "./health.ts";

/**
 * Alerts: one post when a problem of /api/v1/status opens and one when it clears, however many cron
 * runs see it in between (cron/alerts.ts posts them). Pure: the open alerts as stored and the
 * problems seen now in, what to post out.
 */

/** An alert as stored while its problem is open (store/alerts.ts). */
export interface OpenAlert {
  key: string;
  code: string;
  affects: string;
  message: string;
  action: string;
  openedAt: string;
}

/**
 * A problem's identity across runs: its code and what it affects, never its message (a count in it
 * changes from run to run). Two problems with one key (two dropped fields of one mapping) make one
 * alert: the first one's message stands for both.
 */
export function problemKey(problem: Pick<Problem, "code" | "affects">): string {
  return `${problem.code}|${problem.affects}`;
}

/**
 * What changed since the last run: problems open now with no open alert are `opened` (since the
 * problem's own `since` when it has one), open alerts whose problem is gone are `cleared`.
 *
 * @example diffProblems([], [problem], now) // { opened: [alert of problem], cleared: [] }
 */
export function diffProblems(
  previousOpen: readonly OpenAlert[],
  nowOpen: readonly Problem[],
  now: Date,
): { opened: OpenAlert[]; cleared: OpenAlert[] } {
  const before = new Set(previousOpen.map((alert) => alert.key));
  const seen = new Map<string, OpenAlert>();
  for (const problem of nowOpen) {
    const key = problemKey(problem);
    if (seen.has(key)) continue;
    seen.set(key, {
      key,
      code: problem.code,
      affects: problem.affects,
      message: problem.message,
      action: problem.action,
      openedAt: problem.since ?? now.toISOString(),
    });
  }
  return {
    opened: [...seen.values()].filter((alert) => !before.has(alert.key)),
    cleared: previousOpen.filter((alert) => !seen.has(alert.key)),
  };
}

/** The JSON body of one alert; `text` makes it a valid Slack incoming-webhook message as it is. */
export interface AlertBody {
  text: string;
  state: "opened" | "cleared";
  code: string;
  affects: string;
  message: string;
  action: string;
  /** When the problem opened. */
  since: string;
  /** When it cleared (state `cleared`). */
  cleared_at?: string;
  /** Other fields (e.g. the deployment) a receiver may route on. */
  source: "attio-sfdc";
}

export function alertBody(alert: OpenAlert, state: "opened" | "cleared", clearedAt?: string): AlertBody {
  const text =
    state === "opened"
      ? `:rotating_light: attio-sfdc problem \`${alert.code}\` (${alert.affects}): ${alert.message}. What to do: ${alert.action}`
      : `:white_check_mark: attio-sfdc problem \`${alert.code}\` (${alert.affects}) cleared (open since ${alert.openedAt})`;
  return {
    text,
    state,
    code: alert.code,
    affects: alert.affects,
    message: alert.message,
    action: alert.action,
    since: alert.openedAt,
    ...(clearedAt ? { cleared_at: clearedAt } : {}),
    source: "attio-sfdc",
  };
}

/** The signed string: the timestamp (Unix seconds), a dot, and the exact body sent. */
export function signedPayload(timestamp: number, body: string): string {
  return `${timestamp}.${body}`;
}
