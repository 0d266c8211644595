import { readFileSync } from "node:fs";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations("./migrations");

/** The secrets the Worker requires, with the test values every fake expects. */
const TEST_SECRETS = {
  ATTIO_API_KEY: "test-attio-key",
  ATTIO_WEBHOOK_SECRET: "test-attio-webhook-secret",
  SALESFORCE_CLIENT_ID: "test-client-id",
  SALESFORCE_CLIENT_SECRET: "test-client-secret",
  RELAY_SECRET: "test-relay-secret-0123456789abcdef",
  ADMIN_TOKEN: "test-admin-token-0123456789abcdef",
};
// wrangler.toml lists them under secrets.required; the integration reads them from process.env
// (and warns when absent), so the test values are placed there too.
for (const [name, value] of Object.entries(TEST_SECRETS)) process.env[name] = value;

/**
 * wrangler.toml imports Scalar's browser bundle as text (a module rule of type "Text", for /docs);
 * Vite, which loads the Worker's modules in the tests, would run it as code. This gives the tests
 * the same string `wrangler deploy` uploads.
 */
const scalarBundleAsText: Plugin = {
  name: "scalar-standalone-as-text",
  enforce: "pre",
  load(id) {
    if (!id.replaceAll("\\", "/").endsWith("/@scalar/api-reference/dist/browser/standalone.js")) return null;
    return `export default ${JSON.stringify(readFileSync(id, "utf8"))};`;
  },
};

/**
 * Two projects:
 * - `workers`: everything that runs inside workerd (unit tests of the pure core and integration tests
 *   through the Worker's exported handlers), with real local D1, KV, Queues and Durable Objects.
 * - `node`: programs that run under Node beside the Worker (sandbox emulators, the CDC relay).
 */
export default defineConfig({
  test: {
    // `npm test` measures coverage of src/ over both projects and fails below the gate. istanbul,
    // because workerd has no V8 coverage hook the plugin can reach; the Node project's share is the
    // src/ code the relay imports (the e2e Worker runs in a separate wrangler process, unmeasured).
    coverage: {
      provider: "istanbul",
      include: ["src/**/*.ts"],
      reporter: ["text-summary", "json-summary"],
      reportsDirectory: "coverage",
      thresholds: { lines: 90, branches: 85 },
    },
    projects: [
      {
        plugins: [
          scalarBundleAsText,
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            remoteBindings: false,
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: migrations,
                ATTIO_API_URL: "https://api.attio.test",
                ...TEST_SECRETS,
                SALESFORCE_LOGIN_URL: "https://acme.my.salesforce.test",
                LOG_LEVEL: "silent",
                // Off as deployed; test/integration/fetch-inline-sync.test.ts turns it on.
                LIVE_SYNC_INLINE: "off",
              },
              // Deliver queued messages to the consumer at once instead of after 5 s.
              queueConsumers: {
                "attio-sfdc-sync": { maxBatchTimeout: 0.05 },
                "attio-sfdc-jobs": { maxBatchTimeout: 0.05 },
                "attio-sfdc-sync-dlq": { maxBatchTimeout: 0.05 },
              },
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
          setupFiles: ["./test/setup.ts"],
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/node/**/*.test.ts"],
          // End-to-end files start the whole stack (emulators + wrangler dev) and wait on it.
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
