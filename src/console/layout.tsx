/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";

/**
 * The console's page frame: one stylesheet inline (no asset route, no build step), a skip link, a
 * navigation landmark, and a notice area read out by screen readers. Colours meet WCAG AA contrast
 * on white (text #1a1a1a, links #0b5394, errors #a00000, ok #1e6b2f); focus outlines are kept.
 */
const STYLE = `
:root{color-scheme:light;--ink:#1a1a1a;--muted:#4a4a4a;--line:#c8c8c8;--bg:#fff;--soft:#f3f5f7;--link:#0b5394;--bad:#a00000;--good:#1e6b2f;--warn:#7a4b00}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
a{color:var(--link)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid #1a73e8;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px 8px;z-index:2}
header{background:#17324d;color:#fff;padding:8px 16px;display:flex;flex-wrap:wrap;gap:8px 24px;align-items:center}
header .brand{font-weight:700;color:#fff;text-decoration:none}
header nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px}
header nav a{color:#fff;text-decoration:none;padding:4px 0;display:inline-block}
header nav a[aria-current=page]{border-bottom:3px solid #ffd166;font-weight:600}
header form{margin-left:auto}
main{max-width:1200px;margin:0 auto;padding:16px}
h1{font-size:1.6rem;margin:.3em 0}h2{font-size:1.25rem;margin:1.2em 0 .4em}h3{font-size:1.05rem;margin:1em 0 .3em}
.notice{padding:10px 14px;border-radius:6px;margin:10px 0;border:1px solid}
.notice.ok{background:#e8f4ea;border-color:#8bc196;color:var(--good)}
.notice.error{background:#fbeaea;border-color:#e0a0a0;color:var(--bad)}
.notice.info{background:#eef3f9;border-color:#a9c1dc;color:#17324d}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 14px;background:var(--bg)}
.big{font-size:1.8rem;font-weight:700}
.muted{color:var(--muted)}
.bad{color:var(--bad)}.good{color:var(--good)}.warn{color:var(--warn)}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--soft);font-weight:600}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
pre{background:var(--soft);padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
button,.button{font:inherit;padding:6px 12px;border-radius:6px;border:1px solid #17324d;background:#17324d;color:#fff;cursor:pointer;min-height:36px}
button.secondary{background:#fff;color:#17324d}
button.danger{background:var(--bad);border-color:var(--bad)}
form.inline{display:inline}
.actions{display:flex;flex-wrap:wrap;gap:6px;align-items:center}
label{font-weight:600}
input[type=text],input[type=password],input[type=search],select,textarea{font:inherit;padding:6px 8px;border:1px solid #767676;border-radius:6px;max-width:100%}
textarea{width:100%;min-height:320px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9rem}
fieldset{border:1px solid var(--line);border-radius:8px;margin:8px 0}
.field{display:flex;flex-direction:column;gap:4px;margin:8px 0}
.bar{height:14px;background:#dde3ea;border-radius:7px;overflow:hidden;min-width:120px}
.bar>span{display:block;height:100%;background:#2e6da4}
.diff .add{background:#e6f4ea}.diff .del{background:#fbe9e9}
.diff td{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;padding:0 6px;border:0}
.diff td:first-child{width:2ch}
.side-by-side{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:8px}
.side-by-side>div{border:1px solid var(--line);border-radius:6px;padding:6px 8px}
svg text{font:12px system-ui,sans-serif;fill:#333}
@media (max-width:640px){main{padding:10px}.side-by-side{grid-template-columns:1fr}header form{margin-left:0}}
`;

export type Section = "overview" | "charts" | "jobs" | "issues" | "records" | "config";
const NAV: readonly [Section, string, string][] = [
  ["overview", "Overview", "/console"],
  ["charts", "Charts", "/console/charts"],
  ["jobs", "Jobs", "/console/jobs"],
  ["issues", "Issues", "/console/issues"],
  ["records", "Records", "/console/records"],
  ["config", "Configuration", "/console/config"],
];

export interface Flash {
  ok?: string | undefined;
  error?: string | undefined;
}

export function Page(props: {
  title: string;
  section?: Section | undefined;
  csrf?: string | undefined;
  flash?: Flash | undefined;
  /** Seconds: reload the page while something runs (a job), with no script. */
  refresh?: number | undefined;
  children?: Child;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        {props.refresh ? <meta http-equiv="refresh" content={String(props.refresh)} /> : null}
        <title>{`${props.title} · attio-sfdc console`}</title>
        {/* The stylesheet is a constant of this file: nothing in it comes from a request. */}
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header>
          <a class="brand" href="/console">
            attio-sfdc console
          </a>
          {props.csrf !== undefined ? (
            <>
              <nav aria-label="Console">
                <ul>
                  {NAV.map(([key, label, href]) => (
                    <li>
                      <a href={href} aria-current={props.section === key ? "page" : undefined}>
                        {label}
                      </a>
                    </li>
                  ))}
                </ul>
              </nav>
              <form method="post" action="/console/sign-out">
                <Csrf token={props.csrf} />
                <button type="submit" class="secondary">
                  Sign out
                </button>
              </form>
            </>
          ) : null}
        </header>
        <main id="main">
          <h1>{props.title}</h1>
          <div role="status" aria-live="polite">
            {props.flash?.ok ? <p class="notice ok">{props.flash.ok}</p> : null}
          </div>
          <div role="alert">{props.flash?.error ? <p class="notice error">{props.flash.error}</p> : null}</div>
          {props.children}
        </main>
      </body>
    </html>
  );
}

export function Csrf(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

/** A one-button form posting to a console action. */
export function ActionButton(props: {
  action: string;
  csrf: string;
  label: string;
  fields?: Record<string, string>;
  kind?: "primary" | "secondary" | "danger";
  /** Accessible name when the visible label alone is ambiguous in a list. */
  ariaLabel?: string;
}) {
  return (
    <form method="post" action={props.action} class="inline">
      <Csrf token={props.csrf} />
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button
        type="submit"
        class={props.kind === "primary" || !props.kind ? undefined : props.kind}
        aria-label={props.ariaLabel}
      >
        {props.label}
      </button>
    </form>
  );
}

/** A notice for a part of /api/v1 this deployment does not serve yet. */
export function Unavailable(props: { what: string; route: string }) {
  return (
    <p class="notice info">
      {props.what} is not available on this deployment: the API has no <code>{props.route}</code> route.
    </p>
  );
}

export function Bar(props: { value: number; max: number; label: string }) {
  const pct = props.max > 0 ? Math.min(100, Math.round((props.value / props.max) * 100)) : 0;
  return (
    <div
      class="bar"
      role="progressbar"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      aria-valuetext={`${pct}%`}
    >
      <span style={`width:${pct}%`} />
    </div>
  );
}

/** A value as text for a table cell: strings as they are, anything else as JSON. */
export function show(value: unknown): string {
  if (value === undefined || value === null) return "—";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}
