/** @jsxImportSource hono/jsx */
import { apiError, routeMissing } from "./api-client.ts";
import type { Session } from "./context.ts";
import { ActionButton, Page, show, Unavailable } from "./layout.tsx";

interface IssueRecord {
  side: "attio" | "salesforce";
  object: string | null;
  record_id: string;
  mapping?: string;
}
interface IssueItem {
  kind: string;
  id: string;
  reason: string;
  summary: string;
  records: IssueRecord[];
  since: string;
  last_seen: string;
  detail: Record<string, unknown>;
}
interface Policy {
  kind: string;
  route?: string;
  why?: string;
}
interface Group {
  reason: string;
  kind: string;
  count: number;
  explanation: string;
  action: string;
  retry: Policy;
  dismiss: Policy;
  items: IssueItem[];
  next_cursor: string | null;
}

interface Hold {
  id: string;
  mapping: string;
  side: "attio" | "salesforce";
  status: string;
  count: number;
  threshold: number;
  window_minutes: number;
  records: number;
  detected_at: string;
}

export async function issuesPage(s: Session): Promise<Response> {
  const [issues, holds] = await Promise.all([
    s.api<{ total: number; groups: Group[] }>("GET", "/issues?limit=50"),
    s.api<{ items: Hold[] }>("GET", "/holds?status=pending&limit=50"),
  ]);
  if (routeMissing(issues)) {
    return s.c.html(
      <Page title="Issues" section="issues" csrf={s.csrf} flash={s.flash}>
        <Unavailable what="Issues by reason" route="GET /api/v1/issues" />
      </Page>,
    );
  }
  if (issues.status !== 200) {
    return s.c.html(<Page title="Issues" section="issues" csrf={s.csrf} flash={{ error: apiError(issues) }} />, 502);
  }
  const { total, groups } = issues.body;
  const pendingHolds = holds.status === 200 ? holds.body.items : [];
  return s.c.html(
    <Page title="Issues" section="issues" csrf={s.csrf} flash={s.flash}>
      <p data-testid="issues-total">
        {total === 0 && pendingHolds.length === 0
          ? "Nothing needs you: no open issue."
          : `${total} open item(s) in ${groups.length} group(s)${pendingHolds.length ? `, and ${pendingHolds.length} hold(s) of the mass-update breaker` : ""}.`}
      </p>
      {routeMissing(holds) ? (
        <Unavailable what="The mass-update breaker" route="GET /api/v1/holds" />
      ) : holds.status !== 200 ? (
        <p class="notice error">{apiError(holds)}</p>
      ) : pendingHolds.length ? (
        <section id="holds" aria-labelledby="h-holds" class="card" style="margin:12px 0">
          <h2 id="h-holds">
            Mass-update breaker <span class="muted">({pendingHolds.length} hold(s))</span>
          </h2>
          <p>
            A run, a job or a burst of edits would update more of an object's records within the window than the breaker
            allows: those updates are held, not written. Approve writes them (each record read and synced afresh);
            reject writes nothing and keeps each side as it is.
          </p>
          <ul style="list-style:none;padding:0">
            {pendingHolds.map((hold) => (
              <li class="card" style="margin:8px 0" data-hold={hold.id}>
                <p>
                  <strong>{hold.mapping}</strong>: {hold.records} record update(s) to{" "}
                  {hold.side === "salesforce" ? "Salesforce" : "Attio"} held — {hold.count} records updated within{" "}
                  {hold.window_minutes} min, over the threshold of {hold.threshold}.
                  <span class="muted"> Since {hold.detected_at}.</span>
                </p>
                <div class="actions">
                  <ActionButton
                    action={`/console/holds/${encodeURIComponent(hold.id)}`}
                    csrf={s.csrf}
                    label="Approve: write them"
                    fields={{ decision: "approve" }}
                    kind="danger"
                    ariaLabel={`Approve the ${hold.records} held updates of ${hold.mapping}`}
                  />
                  <ActionButton
                    action={`/console/holds/${encodeURIComponent(hold.id)}`}
                    csrf={s.csrf}
                    label="Reject: write nothing"
                    fields={{ decision: "reject" }}
                    kind="secondary"
                    ariaLabel={`Reject the ${hold.records} held updates of ${hold.mapping}`}
                  />
                </div>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {groups.length > 0 ? (
        <nav aria-label="Issue groups">
          <ul>
            {groups.map((g) => (
              <li>
                <a href={`#reason-${g.reason}`}>
                  {g.reason} ({g.count})
                </a>
              </li>
            ))}
          </ul>
        </nav>
      ) : null}
      {groups.map((g) => (
        <section id={`reason-${g.reason}`} aria-labelledby={`h-${g.reason}`} class="card" style="margin:12px 0">
          <h2 id={`h-${g.reason}`}>
            {g.reason} <span class="muted">({g.count})</span>
          </h2>
          <p>{g.explanation}</p>
          <p>
            <strong>What to do:</strong> {g.action}
          </p>
          <div class="actions">
            {g.retry.kind !== "refused" ? (
              <ActionButton
                action="/console/issues/retry"
                csrf={s.csrf}
                label={`Retry all ${g.count}`}
                fields={{ reason: g.reason }}
                ariaLabel={`Retry every ${g.reason} item`}
              />
            ) : null}
            {g.dismiss.kind !== "refused" ? (
              <ActionButton
                action="/console/issues/dismiss"
                csrf={s.csrf}
                label={`Dismiss all ${g.count}`}
                fields={{ reason: g.reason }}
                kind="secondary"
                ariaLabel={`Dismiss every ${g.reason} item`}
              />
            ) : null}
          </div>
          <ul style="list-style:none;padding:0">
            {g.items.map((item) => (
              <li class="card" style="margin:8px 0" data-item={item.id}>
                <Item s={s} group={g} item={item} />
              </li>
            ))}
          </ul>
          {g.next_cursor ? (
            <p class="muted">
              Showing the first {g.items.length}; act on these and reload, or use{" "}
              <code>
                GET /api/v1/issues?reason=
                {g.reason}
              </code>{" "}
              for the rest.
            </p>
          ) : null}
        </section>
      ))}
    </Page>,
  );
}

function RecordLinks(props: { records: IssueRecord[] }) {
  return (
    <span>
      {props.records.map((r) =>
        r.object && !/^[0-9a-f-]{36}$/.test(r.object) ? (
          <a
            style="margin-right:10px"
            href={`/console/records/${r.side}/${encodeURIComponent(r.object)}/${encodeURIComponent(r.record_id)}`}
          >
            {r.side} {r.object} <code>{r.record_id}</code>
          </a>
        ) : (
          <a style="margin-right:10px" href={`/console/records?q=${encodeURIComponent(r.record_id)}`}>
            {r.side} {r.mapping ?? ""} <code>{r.record_id}</code>
          </a>
        ),
      )}
    </span>
  );
}

function Item(props: { s: Session; group: Group; item: IssueItem }) {
  const { s, group, item } = props;
  const itemFields = { kind: item.kind, id: item.id };
  const generic = (
    <div class="actions">
      {group.retry.kind !== "refused" ? (
        <ActionButton
          action="/console/issues/retry"
          csrf={s.csrf}
          label="Retry"
          fields={itemFields}
          ariaLabel={`Retry ${item.id}`}
        />
      ) : null}
      {group.dismiss.kind !== "refused" ? (
        <ActionButton
          action="/console/issues/dismiss"
          csrf={s.csrf}
          label="Dismiss"
          fields={itemFields}
          kind="secondary"
          ariaLabel={`Dismiss ${item.id}`}
        />
      ) : null}
    </div>
  );
  const head = (
    <div>
      <div>{item.summary}</div>
      <div class="muted">
        since {item.since} · <RecordLinks records={item.records} />
      </div>
    </div>
  );
  switch (item.kind) {
    case "conflict": {
      const d = item.detail;
      const field = show(d["field"]);
      return (
        <div>
          {head}
          <section class="side-by-side" aria-label={`Conflict on ${field}`}>
            <div>
              <div class="muted">Attio</div>
              <strong>{show(d["attio_value"])}</strong>
              <div>
                <ActionButton
                  action={`/console/conflicts/${encodeURIComponent(item.id)}`}
                  csrf={s.csrf}
                  label="Keep Attio's value"
                  fields={{ side: "attio" }}
                  ariaLabel={`${field}: keep Attio's value ${show(d["attio_value"])}`}
                />
              </div>
            </div>
            <div>
              <div class="muted">Base (last synced)</div>
              <strong>{show(d["base_value"])}</strong>
            </div>
            <div>
              <div class="muted">Salesforce</div>
              <strong>{show(d["salesforce_value"])}</strong>
              <div>
                <ActionButton
                  action={`/console/conflicts/${encodeURIComponent(item.id)}`}
                  csrf={s.csrf}
                  label="Keep Salesforce's value"
                  fields={{ side: "salesforce" }}
                  ariaLabel={`${field}: keep Salesforce's value ${show(d["salesforce_value"])}`}
                />
              </div>
            </div>
          </section>
          {generic}
        </div>
      );
    }
    case "held_delete": {
      const batch = typeof item.detail["batch_id"] === "string" ? item.detail["batch_id"] : undefined;
      return (
        <div>
          {head}
          <div class="actions">
            <ActionButton
              action={`/console/deletes/${encodeURIComponent(item.id)}`}
              csrf={s.csrf}
              label="Approve delete"
              fields={{ decision: "approve" }}
              kind="danger"
              ariaLabel={`Approve delete ${item.id}`}
            />
            <ActionButton
              action={`/console/deletes/${encodeURIComponent(item.id)}`}
              csrf={s.csrf}
              label="Reject (keep the record)"
              fields={{ decision: "reject" }}
              kind="secondary"
              ariaLabel={`Reject delete ${item.id}`}
            />
            {batch ? (
              <>
                <ActionButton
                  action={`/console/deletes/batches/${encodeURIComponent(batch)}`}
                  csrf={s.csrf}
                  label="Approve whole batch"
                  fields={{ decision: "approve" }}
                  kind="danger"
                />
                <ActionButton
                  action={`/console/deletes/batches/${encodeURIComponent(batch)}`}
                  csrf={s.csrf}
                  label="Reject whole batch"
                  fields={{ decision: "reject" }}
                  kind="secondary"
                />
              </>
            ) : null}
          </div>
        </div>
      );
    }
    case "ambiguous_match": {
      const candidates = Array.isArray(item.detail["candidates"]) ? (item.detail["candidates"] as unknown[]) : [];
      return (
        <div>
          {head}
          <p>Link it to:</p>
          <div class="actions">
            {candidates.map((candidate) => (
              <ActionButton
                action={`/console/matches/${encodeURIComponent(item.id)}`}
                csrf={s.csrf}
                label={`Link to ${String(candidate)}`}
                fields={{ candidate_id: String(candidate) }}
                kind="secondary"
              />
            ))}
          </div>
          {generic}
        </div>
      );
    }
    default:
      return (
        <div>
          {head}
          {item.detail["error_message"] || item.detail["code"] ? (
            <details>
              <summary>Details</summary>
              <pre>{JSON.stringify(item.detail, null, 2)}</pre>
            </details>
          ) : null}
          {generic}
        </div>
      );
  }
}
