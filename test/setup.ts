import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, afterEach, beforeAll } from "vitest";
import { server } from "./helpers/msw.ts";

// The real migrations/ folder, so tests run against the schema users deploy.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// Any request no handler answers is an error: nothing leaves the test unmocked.
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());
