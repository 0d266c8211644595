import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApiV1 } from "../../src/http/api/index.ts";
import { DOCS_CSP } from "../../src/http/docs-page.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

const WORKER = "https://worker.test";

/** The `src` of every <script> element of the page, in order. */
function scriptSources(page: string): string[] {
  return [...page.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((match) => match[1] ?? "");
}

describe("GET /docs: the interactive API reference (Scalar), served by the Worker itself", () => {
  it("is HTML that loads only the Worker's own copy of Scalar, under a self-only CSP", async () => {
    const response = await exports.default.fetch(`${WORKER}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(response.headers.get("content-security-policy")).toBe(DOCS_CSP);
    const csp = Object.fromEntries(
      DOCS_CSP.split("; ").map((directive) => {
        const [name = "", ...values] = directive.split(" ");
        return [name, values];
      }),
    );
    // Code and connections: this origin only, never a CDN.
    expect(csp["script-src"]).toEqual(["'self'"]);
    expect(csp["connect-src"]).toEqual(["'self'"]);
    expect(csp["default-src"]).toEqual(["'self'"]);
    expect(csp["frame-ancestors"]).toEqual(["'none'"]);

    const page = await response.text();
    const sources = scriptSources(page);
    expect(sources).toHaveLength(1);
    expect(sources[0]).toMatch(/^\/docs\/assets\/scalar\.js\?v=[0-9a-f]{16}$/);
    // No inline script to run (the CSP would block it): the configuration is an inert JSON element.
    expect(page).toMatch(/<script id="api-reference" type="application\/json" data-configuration="[^"]+"><\/script>/);
    expect(page).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    expect(page).toContain('<a href="/openapi.json" download="attio-sfdc-openapi.json">');
    // The page's configuration points Scalar at the public document and turns off what calls Scalar's servers.
    const attribute = /data-configuration="([^"]+)"/.exec(page)?.[1] ?? "";
    const configuration = JSON.parse(attribute.replaceAll("&quot;", '"')) as Record<string, unknown>;
    expect(configuration).toMatchObject({
      url: "/openapi.json",
      withDefaultFonts: false,
      telemetry: false,
      agent: { disabled: true },
      showDeveloperTools: "never",
    });
  });

  it("serves the Scalar bundle as JavaScript with a long cache, at the URL the page names", async () => {
    const page = await (await exports.default.fetch(`${WORKER}/docs`)).text();
    const [source = ""] = scriptSources(page);
    const response = await exports.default.fetch(`${WORKER}${source}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const script = await response.text();
    expect(script.length).toBeGreaterThan(1_000_000);
    expect(script).toContain("@scalar/api-reference@");
    expect(script).toContain("createApiReference");
    // The version in the URL is the bundle's content hash: the same page twice names the same file.
    const again = await (await exports.default.fetch(`${WORKER}/docs`)).text();
    expect(scriptSources(again)).toEqual([source]);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(script)));
    const hash = Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
    expect(source).toBe(`/docs/assets/scalar.js?v=${hash}`);
  });
});

describe("GET /openapi.json: the public OpenAPI document", () => {
  it("is JSON listing every /api/v1 operation, with no token, and the same as the authenticated one", async () => {
    const response = await exports.default.fetch(`${WORKER}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    const doc = (await response.json()) as {
      openapi: string;
      servers: { url: string }[];
      paths: Record<string, Record<string, { summary?: string }>>;
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers).toEqual([{ url: "/api/v1" }]);
    // Every operation the management router serves (but the document itself) is in it.
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
    );
    const served = createApiV1()
      .routes.filter((route) => route.method !== "ALL" && route.path !== "/openapi.json")
      .map((route) => `${route.method} ${route.path}`);
    expect(served.length).toBeGreaterThan(20);
    expect(documented.sort()).toEqual(served.sort());
    expect(doc.paths["/conflicts/{id}"]?.["post"]?.summary).toMatch(/^Resolve a conflict/);

    const authenticated = await exports.default.fetch(`${WORKER}/api/v1/openapi.json`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(authenticated.status).toBe(200);
    expect(await authenticated.json()).toEqual(doc);
    // The authenticated one still refuses a caller without the token.
    expect((await exports.default.fetch(`${WORKER}/api/v1/openapi.json`)).status).toBe(401);
  });

  it("holds no data: no record, secret or deployment value appears in it", async () => {
    const text = await (await exports.default.fetch(`${WORKER}/openapi.json`)).text();
    expect(text).not.toContain(ADMIN_TOKEN);
    expect(text).not.toContain("acme.my.salesforce.test");
    expect(text).not.toContain("api.attio.test");
  });
});
