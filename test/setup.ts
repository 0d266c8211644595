import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, afterEach, beforeAll } from "vitest";
import { server } from "./helpers/msw.ts";

// The real migrations/ folder, so tests run against the schema users deploy.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
// The tests' deployment has been started: a new one would hold every change in `setup` until
// POST /api/v1/start (src/sync/mode.ts). The modes' own tests move it themselves.
await env.DB.prepare(
  "insert into deployment_mode (id, mode, changed_by) values ('deployment', 'running', 'test setup') on conflict do nothing",
).run();

// Any request no handler answers is an error: nothing leaves the test unmocked.
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());
