/** @jsxImportSource hono/jsx */
import { apiError } from "./api-client.ts";
import type { Session } from "./context.ts";
import { Page } from "./layout.tsx";
import { BacklogChart, BudgetCharts, LagChart, type MetricsAnswer } from "./metric-charts.tsx";
import type { Status } from "./overview.tsx";
import { BarChart, type Series, TimeChart } from "./svg.tsx";

interface Activity {
  since: string;
  writes: { bucket: string; direction: "attio_to_sf" | "sf_to_attio"; n: number }[];
  failures: { bucket: string; n: number }[];
}

const HOURS = 24;

/** `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH` as milliseconds (UTC). */
function bucketTime(bucket: string): number {
  return Date.parse(bucket.length === 13 ? `${bucket}:00:00Z` : `${bucket}:00Z`);
}

/** Every bucket of the period, zero where nothing happened, so a quiet hour draws as zero. */
export function fill(rows: { bucket: string; n: number }[], from: number, to: number, stepMs: number) {
  const counts = new Map<number, number>();
  for (const row of rows) counts.set(bucketTime(row.bucket), (counts.get(bucketTime(row.bucket)) ?? 0) + row.n);
  const points: { t: number; y: number }[] = [];
  for (let t = Math.floor(from / stepMs) * stepMs; t <= to; t += stepMs) points.push({ t, y: counts.get(t) ?? 0 });
  return points;
}

export async function chartsPage(s: Session): Promise<Response> {
  const [minutes, hours, status, metrics] = await Promise.all([
    s.api<Activity>("GET", `/activity?hours=${HOURS}&bucket=minute`),
    s.api<Activity>("GET", `/activity?hours=${HOURS}&bucket=hour`),
    s.api<Status>("GET", "/status"),
    s.api<MetricsAnswer>("GET", `/metrics?hours=${HOURS}`),
  ]);
  if (minutes.status !== 200 || hours.status !== 200) {
    const failed = minutes.status !== 200 ? minutes : hours;
    return s.c.html(<Page title="Charts" section="charts" csrf={s.csrf} flash={{ error: apiError(failed) }} />, 502);
  }
  const to = Date.now();
  const from = to - HOURS * 3_600_000;
  const direction = (d: string) => minutes.body.writes.filter((w) => w.direction === d);
  const writeSeries: Series[] = [
    { name: "Attio → Salesforce", color: "#2e6da4", points: fill(direction("attio_to_sf"), from, to, 60_000) },
    {
      name: "Salesforce → Attio",
      color: "#b35900",
      dash: "6 3",
      points: fill(direction("sf_to_attio"), from, to, 60_000),
    },
  ];
  const failureSeries: Series[] = [
    { name: "Failures", color: "#a00000", points: fill(hours.body.failures, from, to, 3_600_000) },
  ];
  const st = status.status === 200 ? status.body : undefined;
  const lagBars = (st?.mappings ?? []).flatMap((m) =>
    (["salesforce", "attio"] as const).flatMap((side) => {
      const through = m.catch_up?.[side]?.reconciledThrough;
      return through
        ? [{ label: `${m.name} (${side})`, value: Math.max(0, Math.round((to - Date.parse(through)) / 60_000)) }]
        : [];
    }),
  );
  const budgetBars = [
    ...Object.entries(st?.rate_limits ?? {}).map(([name, limit]) => ({
      label: `${name} (per second)`,
      value: Math.max(0, Math.round(limit.rate_per_second - limit.tokens)),
      limit: Math.round(limit.rate_per_second),
    })),
  ];
  return s.c.html(
    <Page title="Charts" section="charts" csrf={s.csrf} flash={s.flash}>
      <p class="muted">The last {HOURS} hours, counted from the audit trail and the failures by /api/v1/activity.</p>
      <section aria-labelledby="c-writes">
        <h2 id="c-writes">Writes per minute, each way</h2>
        <TimeChart
          id="writes"
          title="Writes per minute, each way"
          from={from}
          to={to}
          series={writeSeries}
          unit="writes per minute"
        />
      </section>
      <section aria-labelledby="c-failures">
        <h2 id="c-failures">Failures per hour</h2>
        <TimeChart
          id="failures"
          title="Failures per hour"
          from={from}
          to={to}
          series={failureSeries}
          unit="failures per hour"
        />
      </section>
      <section aria-labelledby="c-lag">
        <h2 id="c-lag">Sync lag</h2>
        <p class="muted">
          How far each catch-up's watermark ("reconciled through") was behind, sampled by the cron every 5 minutes
          (/api/v1/metrics).
        </p>
        <LagChart answer={metrics} mappings={st?.mappings} from={from} to={to} />
        {lagBars.length ? (
          <BarChart id="lag-now" title="Minutes behind now, per mapping and side" bars={lagBars} unit="min" />
        ) : (
          <p>No catch-up has run yet.</p>
        )}
      </section>
      <section aria-labelledby="c-queue">
        <h2 id="c-queue">Queue backlog</h2>
        <p class="muted">
          An estimate: messages sent to the queues minus those the consumers settled (see the overview). Now:{" "}
          <strong data-testid="backlog-now">{st?.queue_backlog ? st.queue_backlog.estimate : "unknown"}</strong>.
        </p>
        <BacklogChart answer={metrics} from={from} to={to} />
      </section>
      <section aria-labelledby="c-budget">
        <h2 id="c-budget">API budget use</h2>
        <p class="muted">
          Over the day: Salesforce's calls against its daily allocation, and the calls each limiter let through per 5
          minutes. Now: calls in use against each limiter's per-second limit (red line).
        </p>
        <BudgetCharts answer={metrics} from={from} to={to} />
        <BarChart id="budget" title="Calls in use now against the per-second limits" bars={budgetBars} unit="calls" />
        {st?.salesforce_api ? (
          <BarChart
            id="daily"
            title="Salesforce calls today against the daily allocation less its reserve"
            bars={[
              {
                label: "Salesforce (today)",
                value: st.salesforce_api.used,
                limit: Math.round(st.salesforce_api.limit * (1 - st.salesforce_api.reserve)),
              },
            ]}
            unit="calls"
          />
        ) : null}
      </section>
    </Page>,
  );
}
