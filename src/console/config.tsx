/** @jsxImportSource hono/jsx */
import { apiError } from "./api-client.ts";
import type { Session } from "./context.ts";
import { diffLines } from "./diff.ts";
import { Csrf, type Flash, Page } from "./layout.tsx";

interface Version {
  version: number;
  created_at: string;
}
interface Problem {
  path: string;
  line?: number;
  message: string;
}
export interface Report {
  ok: boolean;
  problems: Problem[];
  schema?: { mapping?: string; severity?: string; code?: string; message?: string }[];
}

export async function configPage(
  s: Session,
  draft?: { toml: string; report?: Report | undefined; flash?: Flash },
): Promise<Response> {
  const [config, versions] = await Promise.all([
    s.api<{ version: number; toml: string }>("GET", "/config"),
    s.api<{ items: Version[] }>("GET", "/config/versions"),
  ]);
  if (config.status !== 200) {
    return s.c.html(
      <Page title="Configuration" section="config" csrf={s.csrf} flash={{ error: apiError(config) }} />,
      502,
    );
  }
  const list = versions.status === 200 ? versions.body.items : [];
  const from = Number(s.c.req.query("from") ?? Number.NaN);
  const to = Number(s.c.req.query("to") ?? Number.NaN);
  const diff = Number.isInteger(from) && Number.isInteger(to) ? await versionDiff(s, from, to) : undefined;
  const text = draft?.toml ?? config.body.toml;
  return s.c.html(
    <Page title="Configuration" section="config" csrf={s.csrf} flash={draft?.flash ?? s.flash}>
      <p>
        In force: <strong data-testid="config-version">version {config.body.version}</strong>
        {config.body.version === 0 ? " (nothing stored: the defaults)" : ""}.
      </p>
      {draft?.report ? <ReportView report={draft.report} /> : null}
      <section aria-labelledby="edit">
        <h2 id="edit">Edit</h2>
        <form method="post" action="/console/config" class="card">
          <Csrf token={s.csrf} />
          <div class="field">
            <label for="toml">config.toml</label>
            <textarea id="toml" name="toml" spellcheck={false} aria-describedby="toml-help">
              {text}
            </textarea>
            <span id="toml-help" class="muted">
              Validate checks the document and its mappings against both live schemas without storing it; Save validates
              again and stores a new version only if it is valid.
            </span>
          </div>
          <div class="actions">
            <button type="submit" name="intent" value="validate" class="secondary">
              Validate
            </button>
            <button type="submit" name="intent" value="save">
              Save as a new version
            </button>
          </div>
        </form>
      </section>
      <section aria-labelledby="versions">
        <h2 id="versions">Versions</h2>
        {list.length === 0 ? (
          <p>No version stored yet.</p>
        ) : (
          <>
            <form method="get" action="/console/config" class="actions">
              <label for="from">Compare</label>
              <select id="from" name="from">
                {list.map((v, i) => (
                  <option value={String(v.version)} selected={Number.isInteger(from) ? v.version === from : i === 1}>
                    {`version ${v.version} (${v.created_at})`}
                  </option>
                ))}
              </select>
              <label for="to">with</label>
              <select id="to" name="to">
                {list.map((v, i) => (
                  <option value={String(v.version)} selected={Number.isInteger(to) ? v.version === to : i === 0}>
                    {`version ${v.version} (${v.created_at})`}
                  </option>
                ))}
              </select>
              <button type="submit" class="secondary">
                Show diff
              </button>
            </form>
            <ul>
              {list.map((v) => (
                <li>
                  version {v.version} <span class="muted">stored {v.created_at}</span>
                </li>
              ))}
            </ul>
          </>
        )}
        {diff}
      </section>
    </Page>,
  );
}

async function versionDiff(s: Session, from: number, to: number) {
  const [a, b] = await Promise.all([
    s.api<{ toml: string }>("GET", `/config/versions/${from}`),
    s.api<{ toml: string }>("GET", `/config/versions/${to}`),
  ]);
  if (a.status !== 200 || b.status !== 200) return <p class="notice error">{apiError(a.status !== 200 ? a : b)}</p>;
  const lines = diffLines(a.body.toml, b.body.toml);
  if (!lines) return <p class="notice info">These versions are too long to compare here.</p>;
  const changed = lines.filter((l) => l.op !== "same").length;
  return (
    <div>
      <h3>
        Version {from} → version {to}: {changed === 0 ? "identical" : `${changed} line(s) differ`}
      </h3>
      <div class="table-wrap">
        <table class="diff" data-testid="diff">
          <tbody>
            {lines.map((l) => (
              <tr class={l.op === "same" ? undefined : l.op}>
                <td aria-label={l.op === "add" ? "added" : l.op === "del" ? "removed" : "unchanged"}>
                  {l.op === "add" ? "+" : l.op === "del" ? "−" : " "}
                </td>
                <td>{l.text}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function ReportView(props: { report: Report }) {
  const { report } = props;
  return (
    <section aria-labelledby="report" class={`notice ${report.ok ? "ok" : "error"}`} data-testid="report">
      <h2 id="report">{report.ok ? "Valid" : "Invalid: nothing stored"}</h2>
      {report.problems.length ? (
        <ul>
          {report.problems.map((p) => (
            <li>
              <code>{p.path}</code>
              {p.line ? ` (line ${p.line})` : ""}: {p.message}
            </li>
          ))}
        </ul>
      ) : null}
      {report.schema?.length ? (
        <details>
          <summary>{report.schema.length} finding(s) of the schema check</summary>
          <ul>
            {report.schema.map((issue) => (
              <li>
                {issue.severity} {issue.mapping}: {issue.message}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
}
