import { Hono } from "hono";
import { html, raw } from "hono/html";
import type { AppEnv } from "./types.ts";

interface Operation {
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown; description?: string }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string }>;
}

/** The part of an OpenAPI document the page reads. */
export interface OpenApiDocument {
  paths?: Record<string, Record<string, Operation>> | undefined;
}

/**
 * `GET /docs`: a readable reference of the management API, rendered from the same OpenAPI
 * document as `/api/v1/openapi.json` (which needs the admin token; this page holds no data).
 */
export function docsPage(document: () => OpenApiDocument) {
  return new Hono<AppEnv>().get("/docs", (c) => {
    const paths = Object.entries(document().paths ?? {});
    const sections = paths.flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => {
        const params = (op.parameters ?? []).map(
          (p) =>
            html`<li><code>${p.name}</code> (${p.in}${p.required ? ", required" : ""}) ${p.description ?? ""}</li>`,
        );
        const body = op.requestBody?.content?.["application/json"]?.schema;
        const responses = Object.entries(op.responses ?? {}).map(
          ([status, r]) => html`<li><b>${status}</b> ${r.description ?? ""}</li>`,
        );
        return html`<section>
          <h2><span class="m">${method.toUpperCase()}</span> <code>/api/v1${path}</code></h2>
          <p>${op.summary ?? ""}</p>
          ${op.description ? html`<p>${op.description}</p>` : ""}
          ${params.length ? html`<h3>Parameters</h3><ul>${params}</ul>` : ""}
          ${body ? html`<h3>Body</h3><pre>${JSON.stringify(body, null, 2)}</pre>` : ""}
          <h3>Responses</h3><ul>${responses}</ul>
        </section>`;
      }),
    );
    return c.html(html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <title>attio-sfdc management API</title>
          <style>
            ${raw("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}section{border-top:1px solid #ddd;padding:.5rem 0}.m{background:#234;color:#fff;padding:0 .4rem;border-radius:3px;font-size:.8em}pre{background:#f5f5f5;padding:.5rem;overflow:auto;font-size:.8em}")}
          </style>
        </head>
        <body>
          <h1>attio-sfdc management API</h1>
          <p>Every route needs <code>Authorization: Bearer &lt;ADMIN_TOKEN&gt;</code>. Errors are
          <code>{"error": {"code", "message", "details"}}</code>. The machine-readable document is
          <code>GET /api/v1/openapi.json</code>.</p>
          ${sections}
        </body>
      </html>`);
  });
}
