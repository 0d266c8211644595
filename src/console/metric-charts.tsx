/** @jsxImportSource hono/jsx */
import type { ApiAnswer } from "./api-client.ts";
import { apiError, routeMissing } from "./api-client.ts";
import { type Series, TimeChart } from "./svg.tsx";

/**
 * The 24-hour charts of what the cron samples (GET /api/v1/metrics): each catch-up's lag, the
 * queue backlog estimate, Salesforce's daily API use, the limiters' calls. Shared by the overview
 * and the charts page; the pure part (`metricSeries`) turns the API's series into chart points.
 */

export interface MetricsAnswer {
  since: string;
  series: { metric: string; subject: string; points: { at: string; value: number }[] }[];
}

interface MappingNames {
  name: string;
  attio_object: string;
  salesforce_object: string;
}

/** Colours at 3:1 or more on white, and dashes, so series differ by more than colour. */
const STYLES: { color: string; dash?: string }[] = [
  { color: "#2e6da4" },
  { color: "#b35900", dash: "6 3" },
  { color: "#2d7d2d", dash: "2 3" },
  { color: "#6a3d9a", dash: "10 3 2 3" },
  { color: "#a00000", dash: "4 4" },
  { color: "#555555", dash: "1 2" },
];

/**
 * The API's series of one metric as chart series: named by `name(subject)`, each value divided by
 * `per` (seconds to minutes: 60), in the order the API gave them.
 */
export function metricSeries(
  answer: MetricsAnswer | undefined,
  metric: string,
  name: (subject: string) => string,
  per = 1,
): Series[] {
  return (answer?.series ?? [])
    .filter((s) => s.metric === metric)
    .map((s, i) => ({
      name: name(s.subject),
      ...(STYLES[i % STYLES.length] ?? { color: "#2e6da4" }),
      points: s.points.map((p) => ({ t: Date.parse(p.at), y: Math.round((p.value / per) * 10) / 10 })),
    }));
}

/** A lag's subject (`salesforce:Contact`) as the mapping that reads it: "people (Salesforce side)". */
export function lagName(mappings: readonly MappingNames[] | null | undefined) {
  return (subject: string): string => {
    for (const m of mappings ?? []) {
      if (subject === `salesforce:${m.salesforce_object}`) return `${m.name} (Salesforce side)`;
      if (subject === `attio:${m.attio_object}`) return `${m.name} (Attio side)`;
    }
    return subject;
  };
}

/** Why a chart has nothing to draw, or nothing when it has. */
function Empty(props: { answer: ApiAnswer<MetricsAnswer>; series: Series[]; what: string }) {
  if (routeMissing(props.answer)) {
    return <p class="notice info">Not available on this deployment: the API has no GET /api/v1/metrics route.</p>;
  }
  if (props.answer.status !== 200) return <p class="notice error">{apiError(props.answer)}</p>;
  if (props.series.length === 0) {
    return <p class="muted">No {props.what} sampled yet: the cron samples it every 5 minutes.</p>;
  }
  return null;
}

export function LagChart(props: {
  answer: ApiAnswer<MetricsAnswer>;
  mappings: readonly MappingNames[] | null | undefined;
  from: number;
  to: number;
}) {
  const series = metricSeries(okBody(props.answer), "lag_seconds", lagName(props.mappings), 60);
  return (
    <SampledChart
      {...props}
      testid="lag-chart"
      id="lag"
      what="lag"
      series={series}
      title="Minutes each catch-up's watermark was behind, per mapping and side"
      unit="minutes behind"
    />
  );
}

export function BacklogChart(props: { answer: ApiAnswer<MetricsAnswer>; from: number; to: number }) {
  const series = metricSeries(okBody(props.answer), "queue_backlog", () => "Messages waiting (estimate)");
  return (
    <SampledChart
      {...props}
      testid="backlog-chart"
      id="backlog"
      what="backlog"
      series={series}
      title="Queue backlog estimate"
      unit="messages"
    />
  );
}

/** One sampled metric's chart, or why there is none yet. */
function SampledChart(props: {
  answer: ApiAnswer<MetricsAnswer>;
  series: Series[];
  testid: string;
  id: string;
  what: string;
  title: string;
  unit: string;
  from: number;
  to: number;
}) {
  return (
    <div data-testid={props.testid}>
      <Empty answer={props.answer} series={props.series} what={props.what} />
      {props.series.length ? (
        <TimeChart
          id={props.id}
          title={props.title}
          from={props.from}
          to={props.to}
          series={props.series}
          unit={props.unit}
          summary="latest"
        />
      ) : null}
    </div>
  );
}

export function BudgetCharts(props: { answer: ApiAnswer<MetricsAnswer>; from: number; to: number }) {
  const body = okBody(props.answer);
  const daily = [
    ...metricSeries(body, "salesforce_api_used", () => "Calls used today"),
    ...metricSeries(body, "salesforce_api_limit", () => "Daily allocation").map((s) => ({
      ...s,
      color: "#a00000",
      dash: "4 4",
    })),
  ];
  const calls = metricSeries(body, "limiter_calls", (subject) => subject);
  return (
    <div data-testid="budget-charts">
      <Empty answer={props.answer} series={daily} what="Salesforce API use" />
      {daily.length ? (
        <TimeChart
          id="sf-daily"
          title="Salesforce API calls used today against the daily allocation"
          from={props.from}
          to={props.to}
          series={daily}
          unit="calls"
          summary="latest"
        />
      ) : null}
      {calls.length ? (
        <TimeChart
          id="limiter-calls"
          title="Calls through each limiter, per 5 minutes"
          from={props.from}
          to={props.to}
          series={calls}
          unit="calls per 5 minutes"
        />
      ) : null}
    </div>
  );
}

function okBody(answer: ApiAnswer<MetricsAnswer>): MetricsAnswer | undefined {
  return answer.status === 200 ? answer.body : undefined;
}
