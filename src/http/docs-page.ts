// The Scalar API reference's standalone browser bundle, as text: wrangler.toml's module rule
// (type "Text") makes `wrangler deploy` upload the file from node_modules as is, so the Worker serves
// it itself (no CDN) with no build step and no generated file in the repository.
import { Hono } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "./types.ts";

const ASSET_PATH = "/docs/assets/scalar.js";

/**
 * Only this origin: the reference's script, the OpenAPI document and the "test request" calls to
 * /api/v1 all come from here, and nothing else may load. Styles are the exception: Scalar writes its
 * stylesheet and its theme into <style> elements at run time, which `style-src 'self'` blocks (tried:
 * the page renders unstyled); inline styles cannot run code. `new Function` stays forbidden: Scalar
 * probes for it in a try and does without (test/node/docs/docs-browser.test.ts).
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * Scalar's configuration: the public document, no web fonts (they come from Scalar's CDN), no
 * telemetry, no AI agent and no developer toolbar (they call Scalar's servers), and the document
 * downloadable as JSON.
 */
const SCALAR_CONFIGURATION = {
  url: "/openapi.json",
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  // Its "Share" and "Deploy" upload the document to Scalar's servers; shown on localhost otherwise.
  showDeveloperTools: "never",
  documentDownloadType: "json",
  hideClientButton: false,
  metaData: { title: "attio-sfdc management API" },
};

/**
 * Scalar's bundle (3.5 MB of text), loaded on the first request for /docs or its script, not when
 * the Worker starts: nothing else needs it, and every other request's isolate is spared it.
 */
let bundle: Promise<string> | undefined;
function scalarScript(): Promise<string> {
  bundle ??= import("@scalar/api-reference/browser/standalone.js").then((module) => module.default);
  return bundle;
}

/** A short content hash of the bundle: the page asks for `scalar.js?v=<hash>`, so a new version is a new URL. */
let assetVersion: Promise<string> | undefined;
function scriptVersion(): Promise<string> {
  assetVersion ??= scalarScript()
    .then((script) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(script)))
    .then((digest) =>
      Array.from(new Uint8Array(digest).slice(0, 8), (byte) => byte.toString(16).padStart(2, "0")).join(""),
    );
  return assetVersion;
}

/**
 * `GET /docs`: the interactive reference of the management API (Scalar), over the public
 * `GET /openapi.json`. Neither holds data: every call the page makes to /api/v1 still needs the admin
 * token, which the reader types into the page (it stays in the browser).
 */
export function docsPage(document: () => object) {
  return new Hono<AppEnv>()
    .get("/openapi.json", (c) => {
      c.header("cache-control", "no-cache");
      c.header("access-control-allow-origin", "*");
      c.header("content-disposition", 'inline; filename="attio-sfdc-openapi.json"');
      return c.json(document());
    })
    .get(ASSET_PATH, async (c) => {
      c.header("content-type", "text/javascript; charset=utf-8");
      // The page names the bundle by its hash (?v=), so a cached copy is never stale.
      c.header("cache-control", "public, max-age=31536000, immutable");
      c.header("x-content-type-options", "nosniff");
      return c.body(await scalarScript());
    })
    .get("/docs", async (c) => {
      c.header("content-security-policy", DOCS_CSP);
      c.header("x-content-type-options", "nosniff");
      c.header("referrer-policy", "no-referrer");
      c.header("cache-control", "no-cache");
      const script = `${ASSET_PATH}?v=${await scriptVersion()}`;
      return c.html(html`<!doctype html>
        <html lang="en">
          <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <title>attio-sfdc management API</title>
          </head>
          <body>
            <noscript>
              <p>The interactive reference needs JavaScript. The OpenAPI document:
              <a href="/openapi.json" download="attio-sfdc-openapi.json">/openapi.json</a>.</p>
            </noscript>
            <p id="openapi-download" style="margin:0;padding:.5rem 1rem;font:14px system-ui,sans-serif">
              OpenAPI 3.1 document for tools (Postman, code generators):
              <a href="/openapi.json" download="attio-sfdc-openapi.json">/openapi.json</a>.
              Every /api/v1 call needs <code>Authorization: Bearer &lt;ADMIN_TOKEN&gt;</code>.
            </p>
            <script id="api-reference" type="application/json" data-configuration="${JSON.stringify(SCALAR_CONFIGURATION)}"></script>
            <script src="${script}"></script>
          </body>
        </html>`);
    });
}
