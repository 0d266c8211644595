/** @jsxImportSource hono/jsx */
import { apiError } from "./api-client.ts";
import type { Session } from "./context.ts";
import { ActionButton, Bar, Page, show } from "./layout.tsx";
import { BacklogChart, LagChart, type MetricsAnswer } from "./metric-charts.tsx";

interface Problem {
  code: string;
  message: string;
  affects?: string;
  action?: string;
  since?: string;
}
interface CatchUp {
  reconciledThrough?: string | null;
  consecutiveFailures?: number;
  at?: string;
}
interface MappingStatus {
  name: string;
  attio_object: string;
  salesforce_object: string;
  linked: number;
  open_conflicts?: number;
  open_warnings?: number;
  pending_deletes?: number;
  ambiguous_matches?: number;
  catch_up?: { salesforce?: CatchUp | null; attio?: CatchUp | null };
}
export interface Status {
  healthy: boolean;
  problems: Problem[];
  mode?: string | null;
  mode_since?: string | null;
  mode_changed_by?: string | null;
  held_changes?: number | null;
  version?: string;
  direction?: string;
  mappings: MappingStatus[] | null;
  open_failures: number | null;
  open_conflicts: number | null;
  pending_deletes: number | null;
  ambiguous_matches: number | null;
  open_warnings: number | null;
  parked: { reason: string; count: number; since: string }[] | null;
  rate_limits?: Record<string, { rate_per_second: number; tokens: number; blocked_until: string | null }>;
  salesforce_api?: { used: number; limit: number; reserve: number; paused: boolean; at?: string } | null;
  queue_backlog?: { estimate: number; sent: number; settled: number } | null;
}
type PerObject = { object: string | null; direction: "attio_to_sf" | "sf_to_attio"; n: number }[];
interface Activity {
  per_object: { hour: PerObject; day: PerObject };
}

const MODE_TEXT: Record<string, string> = {
  setup: "Setup: webhooks and change events are kept, dry runs run, nothing is written to either CRM until started.",
  running: "Running: changes are synced both ways.",
  paused: "Paused: nothing is written to either CRM; what arrives is kept and delivered on resume.",
};

/** What happens to parked changes, by why they are parked. */
const PARKED_TEXT: Record<string, string> = {
  setup: "held until the deployment is started, then each record is synced once.",
  paused: "held until it is resumed, then each record is synced once.",
  default: "sent again on their own once both APIs answer.",
};

export async function overviewPage(s: Session): Promise<Response> {
  const [status, activity, metrics] = await Promise.all([
    s.api<Status>("GET", "/status"),
    s.api<Activity>("GET", "/activity?hours=24&bucket=hour"),
    s.api<MetricsAnswer>("GET", "/metrics?hours=24"),
  ]);
  if (status.status !== 200) {
    return s.c.html(
      <Page title="Overview" section="overview" csrf={s.csrf} flash={{ error: apiError(status) }} />,
      status.status as 500,
    );
  }
  const st = status.body;
  const now = Date.now();
  const writes = (rows: PerObject | undefined, object: string, direction: string) =>
    rows?.find((row) => row.object === object && row.direction === direction)?.n ?? 0;
  return s.c.html(
    <Page title="Overview" section="overview" csrf={s.csrf} flash={s.flash}>
      <section aria-labelledby="health">
        <h2 id="health">Health</h2>
        {st.healthy ? (
          <p class="notice ok" data-testid="healthy">
            Healthy: no open problems.
          </p>
        ) : (
          <div class="notice error" data-testid="problems">
            <p>
              <strong>{st.problems.length} open problem(s)</strong>
            </p>
            <ul>
              {st.problems.map((p) => (
                <li>
                  <strong>{p.code}</strong>: {p.message}
                  {p.action ? <div class="muted">What to do: {p.action}</div> : null}
                </li>
              ))}
            </ul>
          </div>
        )}
        <div class="grid">
          <Count label="Open failures" value={st.open_failures} href="/console/issues" />
          <Count label="Open conflicts" value={st.open_conflicts} href="/console/issues" />
          <Count label="Held deletes" value={st.pending_deletes} href="/console/issues" />
          <Count label="Ambiguous matches" value={st.ambiguous_matches} href="/console/issues" />
          <Count label="Warnings (values not written)" value={st.open_warnings} href="/console/issues" />
        </div>
      </section>

      <section aria-labelledby="mode">
        <h2 id="mode">Mode</h2>
        {st.mode === undefined ? (
          <p class="notice info">
            Modes (setup, running, paused) are not available on this deployment: <code>/api/v1/status</code> reports no{" "}
            <code>mode</code>. The sync runs whenever the Worker is deployed.
          </p>
        ) : st.mode === null ? (
          <p class="notice error">The mode is unknown: D1 does not answer.</p>
        ) : (
          <div class="card">
            <p>
              <strong data-testid="mode">{st.mode}</strong> — {MODE_TEXT[st.mode] ?? ""}
            </p>
            <p class="muted">
              Since {show(st.mode_since)}
              {st.mode_changed_by ? ` (${st.mode_changed_by})` : ""}
              {st.held_changes ? `; ${st.held_changes} change(s) held, delivered when it runs` : ""}.
            </p>
            <div class="actions">
              {st.mode === "setup" ? (
                <ActionButton action="/console/mode/start" csrf={s.csrf} label="Start syncing" />
              ) : null}
              {st.mode === "running" ? (
                <ActionButton action="/console/mode/pause" csrf={s.csrf} label="Pause" kind="danger" />
              ) : null}
              {st.mode === "paused" ? (
                <ActionButton action="/console/mode/resume" csrf={s.csrf} label="Resume" />
              ) : null}
            </div>
          </div>
        )}
      </section>

      <section aria-labelledby="mappings">
        <h2 id="mappings">Mappings</h2>
        {st.mappings === null ? (
          <p class="notice error">D1 does not answer: the per-mapping counts are unknown.</p>
        ) : (
          <div class="table-wrap">
            <table>
              <caption class="muted">
                Writes are counted from the audit trail; "reconciled through" is the catch-up's watermark: every change
                before it is synced or queued.
              </caption>
              <thead>
                <tr>
                  <th scope="col">Mapping</th>
                  <th scope="col">Linked</th>
                  <th scope="col">Writes to Salesforce (1 h / 24 h)</th>
                  <th scope="col">Writes to Attio (1 h / 24 h)</th>
                  <th scope="col">Salesforce reconciled through</th>
                  <th scope="col">Attio reconciled through</th>
                  <th scope="col">Open items</th>
                </tr>
              </thead>
              <tbody>
                {st.mappings.map((m) => (
                  <tr>
                    <th scope="row">
                      {m.name}
                      <div class="muted">
                        {m.attio_object} ↔ {m.salesforce_object}
                      </div>
                    </th>
                    <td>{m.linked}</td>
                    <td>
                      {writes(activity.body?.per_object.hour, m.attio_object, "attio_to_sf")} /{" "}
                      {writes(activity.body?.per_object.day, m.attio_object, "attio_to_sf")}
                    </td>
                    <td>
                      {writes(activity.body?.per_object.hour, m.attio_object, "sf_to_attio")} /{" "}
                      {writes(activity.body?.per_object.day, m.attio_object, "sf_to_attio")}
                    </td>
                    <td>
                      <Watermark entry={m.catch_up?.salesforce} now={now} />
                    </td>
                    <td>
                      <Watermark entry={m.catch_up?.attio} now={now} />
                    </td>
                    <td>
                      {(m.open_conflicts ?? 0) +
                        (m.open_warnings ?? 0) +
                        (m.pending_deletes ?? 0) +
                        (m.ambiguous_matches ?? 0)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="lag-24h">
        <h2 id="lag-24h">Sync lag, last 24 hours</h2>
        <LagChart answer={metrics} mappings={st.mappings} from={now - 86_400_000} to={now} />
      </section>

      <section aria-labelledby="queue">
        <h2 id="queue">Queue</h2>
        {st.queue_backlog === undefined ? null : st.queue_backlog === null ? (
          <p class="notice error">D1 does not answer: the backlog estimate is unknown.</p>
        ) : (
          <p>
            About <strong data-testid="backlog">{st.queue_backlog.estimate}</strong> message(s) waiting in the queues{" "}
            <span class="muted">
              (an estimate: {st.queue_backlog.sent} sent minus {st.queue_backlog.settled} settled by the consumers since
              the deployment began; <code>npx wrangler queues info attio-sfdc-sync</code> shows Cloudflare's own count)
            </span>
          </p>
        )}
        <BacklogChart answer={metrics} from={now - 86_400_000} to={now} />
        <p class="muted">What the Worker holds itself:</p>
        {st.parked === null ? (
          <p class="notice error">D1 does not answer: parked changes are unknown.</p>
        ) : st.parked.length === 0 ? (
          <p>No change is parked waiting for an API.</p>
        ) : (
          <ul>
            {st.parked.map((p) => (
              <li>
                <strong>{p.count}</strong> change(s) parked ({p.reason}) since {p.since}:{" "}
                {PARKED_TEXT[p.reason] ?? PARKED_TEXT["default"]}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="budgets">
        <h2 id="budgets">API budgets</h2>
        <div class="grid">
          {Object.entries(st.rate_limits ?? {}).map(([name, limit]) => (
            <div class="card">
              <h3>{name}</h3>
              <p>
                {Math.max(0, Math.round(limit.tokens))} of {Math.round(limit.rate_per_second)} calls free this second
              </p>
              <Bar
                value={Math.max(0, limit.rate_per_second - limit.tokens)}
                max={limit.rate_per_second}
                label={`${name} use this second`}
              />
              {limit.blocked_until ? <p class="bad">Blocked by a 429 until {limit.blocked_until}</p> : null}
            </div>
          ))}
          {st.salesforce_api ? (
            <div class="card">
              <h3>Salesforce daily allocation</h3>
              <p>
                {st.salesforce_api.used} of {st.salesforce_api.limit} calls used today; reserve{" "}
                {Math.round(st.salesforce_api.reserve * 100)}%
              </p>
              <Bar value={st.salesforce_api.used} max={st.salesforce_api.limit} label="Salesforce daily calls used" />
              {st.salesforce_api.paused ? (
                <p class="bad">Background work is paused: the reserve is reached.</p>
              ) : (
                <p class="good">Within budget.</p>
              )}
            </div>
          ) : (
            <div class="card">
              <h3>Salesforce daily allocation</h3>
              <p class="muted">Not known yet: no Salesforce call has reported its usage.</p>
            </div>
          )}
        </div>
      </section>
      <p class="muted">
        Version {show(st.version)}, direction {show(st.direction)}.
      </p>
    </Page>,
  );
}

function Count(props: { label: string; value: number | null; href: string }) {
  return (
    <div class="card">
      <div class="muted">{props.label}</div>
      <div class={`big ${props.value ? "bad" : ""}`}>
        <a href={props.href}>{props.value === null ? "unknown" : props.value}</a>
      </div>
    </div>
  );
}

function Watermark(props: { entry: CatchUp | null | undefined; now: number }) {
  const through = props.entry?.reconciledThrough;
  if (!through) return <span class="muted">not yet</span>;
  return (
    <span>
      {through}
      <div class="muted">{behind(props.now - Date.parse(through))} behind</div>
    </span>
  );
}

/** A duration in words: "40 s", "12 min", "3 h 5 min". */
export function behind(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 90) return `${min} min`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}
